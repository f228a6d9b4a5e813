from hipaa.no_default_namespace import RULE


def test_good_01_serving_objects(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []


def test_bad_01_default_namespace(resource, settings):
    workload = resource("llama-2-7b-chat-server")
    workload.props["metadata"]["namespace"] = "default"
    assert RULE.check(workload, settings(RULE))
