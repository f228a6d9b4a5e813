from hipaa.image_provenance import RULE


def _image(resource, value):
    resource.props["spec"]["template"]["spec"]["containers"][0]["image"] = value
    return resource


def test_good_01_digest_pinned_from_harbor(resource, settings):
    assert RULE.check(resource("llama-2-7b-chat-server"), settings(RULE)) == []


def test_bad_01_foreign_registry(resource, settings):
    workload = _image(resource("llama-2-7b-chat-server"), "vllm/vllm-openai:v0.12.0@sha256:" + "a" * 64)
    assert "registry 'docker.io'" in RULE.check(workload, settings(RULE))[0]


def test_bad_02_latest_tag(resource, settings):
    workload = _image(resource("llama-2-7b-chat-server"), "harbor-a.hospital.example/vllm/vllm-openai:latest")
    messages = RULE.check(workload, settings(RULE))
    assert any("never latest" in m for m in messages) and any("digest" in m for m in messages)


def test_bad_03_tag_without_digest_when_required(resource, settings):
    workload = _image(resource("llama-2-7b-chat-server"), "harbor-a.hospital.example/vllm/vllm-openai:v0.12.0")
    assert RULE.check(workload, settings(RULE)) == [
        "containers[0](vllm).image 'harbor-a.hospital.example/vllm/vllm-openai:v0.12.0' must be pinned by @sha256 digest"]
    assert RULE.check(workload, {**settings(RULE), "requireDigest": False}) == []
