from hipaa.vsphere_permissions_owned import RULE


def test_good_01_the_operator_grant_on_the_stacks_own_pool(resource, settings):
    for stack in ("prod", "prod-standby", "dev"):
        grant = resource("access-operator-permissions", stack)
        assert grant.props["entityType"] == "ResourcePool"
        assert RULE.check(grant, settings(RULE, stack)) == [], stack


def test_bad_01_a_grant_on_the_shared_compute_cluster(resource, settings):
    grant = resource("access-operator-permissions")
    grant.props.update(entityType="ClusterComputeResource", entityId="domain-c12345")
    (message,) = RULE.check(grant, settings(RULE))
    assert "ClusterComputeResource (domain-c12345)" in message and "resource pool or folder" in message


def test_bad_02_a_grant_on_the_datacenter(resource, settings):
    grant = resource("access-operator-permissions")
    grant.props["entityType"] = "Datacenter"
    assert len(RULE.check(grant, settings(RULE))) == 1
