from hipaa.chart_secret_access import RULE


def test_good_01_rendered_releases(stack_resources, settings):
    for stack in ("dev", "prod"):
        releases = [r for r in stack_resources(stack) if r.type.endswith(":Release")]
        assert releases and all(RULE.check(r, settings(RULE, stack)) == [] for r in releases)


def test_bad_01_grafana_cluster_wide_with_a_sidecar(resource, settings):
    release = resource("observability-kube-prometheus-stack")
    release.props["values"]["grafana"]["rbac"]["namespaced"] = False
    (problem,) = RULE.check(release, settings(RULE))
    assert "rbac.namespaced is not true" in problem


def test_bad_02_grafana_sidecar_reading_secrets(resource, settings):
    release = resource("observability-kube-prometheus-stack")
    del release.props["values"]["grafana"]["sidecar"]["datasources"]["resource"]
    assert "reads Secrets" in RULE.check(release, settings(RULE))[0]


def test_bad_03_kube_state_metrics_collects_secrets(resource, settings):
    release = resource("observability-kube-prometheus-stack", "prod-standby")
    del release.props["values"]["kube-state-metrics"]["collectors"]
    assert "collectors include secrets" in RULE.check(release, settings(RULE))[0]


def test_bad_04_keda_unrestricted(resource, settings):
    release = resource("primary-keda")
    release.props["values"]["permissions"]["operator"]["restrict"]["secret"] = False
    assert len(RULE.check(release, settings(RULE))) == 1


def test_bad_05_listed_charts_need_their_exception(resource, settings):
    config = settings(RULE)
    assert set(config["exceptions"]) == {"velero"} and all(config["exceptions"].values())
    velero = resource("dr-velero-primary-release")
    assert RULE.check(velero, {**config, "exceptions": {}}) != []


def test_bad_06_envoy_gateway_watching_every_namespace(resource, settings):
    release = resource("gateway-envoy-gateway")
    del release.props["values"]["config"]["envoyGateway"]["provider"]["kubernetes"]["watch"]
    assert "watch is unset" in RULE.check(release, settings(RULE))[0]


def test_bad_07_the_ai_gateway_charts_own_controller_role(resource, settings):
    release = resource("gateway-ai-gateway")
    del release.props["values"]["controller"]["serviceAccount"]
    assert "serviceAccount.create is not false" in RULE.check(release, settings(RULE))[0]
