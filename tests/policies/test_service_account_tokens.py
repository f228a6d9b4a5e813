from hipaa.service_account_tokens import NEEDS_TOKEN, RULE


def test_good_01_workload_and_its_service_account(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []
    assert RULE.check(resource("llama-2-7b-chat-sa"), settings(RULE)) == []


def test_bad_01_token_mounted(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    del workload.props["spec"]["template"]["spec"]["automountServiceAccountToken"]
    assert "automountServiceAccountToken" in RULE.check(workload, settings(RULE))[0]


def test_bad_02_default_service_account(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    workload.props["spec"]["template"]["spec"]["serviceAccountName"] = "default"
    assert "never default" in RULE.check(workload, settings(RULE))[0]


def test_bad_03_service_account_mounts_by_default_unless_annotated(resource, settings):
    account = resource("llama-2-7b-chat-sa")
    del account.props["automountServiceAccountToken"]
    assert RULE.check(account, settings(RULE))
    account.props["metadata"]["annotations"] = {NEEDS_TOKEN: "watches Endpoints"}
    assert RULE.check(account, settings(RULE)) == []
