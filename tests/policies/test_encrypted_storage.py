from hipaa.encrypted_storage import RULE


def test_good_01_weights_claims_templates_and_cluster(resource, settings):
    for name, stack in (("llama-2-7b-chat-weights", "prod"), ("llama-2-7b-chat-server", "dev"),
                        ("primary-cluster", "prod"), ("standby-cluster", "prod-standby"),
                        ("llama-2-7b-chat-weights", "prod-standby")):
        assert RULE.check(resource(name, stack), settings(RULE, stack)) == [], name


def test_bad_01_claim_on_unlisted_class(resource, settings):
    claim = resource("llama-2-7b-chat-weights")
    claim.props["spec"]["storageClassName"] = "vsan-default"
    assert "encryption allow-list" in RULE.check(claim, settings(RULE))[0]


def test_bad_02_claim_without_class(resource, settings):
    claim = resource("llama-2-7b-chat-weights")
    del claim.props["spec"]["storageClassName"]
    assert RULE.check(claim, settings(RULE))


def test_bad_03_gpu_node_volume_on_plain_class(resource, settings):
    cluster = resource("primary-cluster")
    pool = cluster.props["spec"]["topology"]["workers"]["machineDeployments"][0]
    volumes = next(o for o in pool["variables"]["overrides"] if o["name"] == "nodePoolVolumes")["value"]
    volumes[0]["storageClass"] = "plain"
    assert "nodePool gpu volume containerd" in RULE.check(cluster, settings(RULE))[0]
