"""DrSite: recovery patterns, backups whose schedule keeps the RPO, and figures the stack reports."""

from __future__ import annotations

import pytest

from components import versions
from components.planning.dr_plan import DrInputs, achievable, cron_for_interval
from offline.charts.render import chart_of
from offline.record import Secret
from offline.run import evaluate, stack_config

SCHEDULE = "kubernetes:velero.io/v1:Schedule"
LOCATION = "kubernetes:velero.io/v1:BackupStorageLocation"
RELEASE = "kubernetes:helm.sh/v3:Release"


def _inputs(mode: str, **overrides) -> DrInputs:
    base = dict(mode=mode, backup_interval_minutes=30, backup_duration_minutes=10, replication_lag_minutes=5,
                detection_minutes=5, dns_ttl_seconds=60, weights_gib=80, copy_gib_per_minute=5.5)
    return DrInputs(**{**base, **overrides})


def test_worst_case_rpo_adds_interval_duration_and_lag():
    assert achievable(_inputs("warm-standby")).rpo_minutes == 45
    assert achievable(_inputs("warm-standby", backup_interval_minutes=1440)).rpo_minutes == 1455


def test_rto_grows_with_what_the_secondary_must_rebuild():
    warm = achievable(_inputs("warm-standby", weights_gib=0)).rto_minutes
    pilot = achievable(_inputs("pilot-light")).rto_minutes
    restore = achievable(_inputs("backup-restore")).rto_minutes
    assert warm == 8 and warm < pilot < restore
    assert restore >= 60, "restoring a GPU site from backups takes more than an hour"
    # Weights are part of the pilot light's path: twice the data, longer recovery.
    assert achievable(_inputs("pilot-light", weights_gib=160)).rto_minutes > pilot


@pytest.mark.parametrize(("minutes", "cron"), [(15, "*/15 * * * *"), (30, "*/30 * * * *"), (60, "0 * * * *"),
                                                (360, "0 */6 * * *"), (1440, "0 */24 * * *")])
def test_cron_for_interval(minutes, cron):
    assert cron_for_interval(minutes) == cron


def _interval_minutes(cron: str) -> int:
    minute, hour = cron.split()[:2]
    if minute.startswith("*/"):
        return int(minute[2:])
    return 60 * (int(hour[2:]) if hour.startswith("*/") else 1)


def test_frequent_schedule_keeps_the_rpo_and_covers_serving_and_monitoring(prod):
    rpo = stack_config("prod")["dr"]["rpoMinutes"]
    schedules = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in prod.graph.of_type(SCHEDULE)}
    assert set(schedules) == {"platform-frequent", "platform-daily"}
    frequent = schedules["platform-frequent"]
    assert _interval_minutes(frequent["schedule"]) <= rpo
    assert frequent["useOwnerReferencesInBackup"] is False
    # The quota counters too: a rebuilt site resumes the month-to-date counts (less the RPO).
    assert frequent["template"]["includedNamespaces"] == ["llm-serving", "monitoring", "gateway-redis"]
    assert frequent["template"]["ttl"] == "2160h0m0s"
    assert frequent["template"]["snapshotMoveData"] is True
    assert schedules["platform-daily"]["template"]["ttl"] == "52560h0m0s"


def test_every_schedule_interval_is_within_the_rpo_in_every_mode(dr_modes):
    for mode, evaluation in dr_modes.items():
        rpo = stack_config("prod")["dr"]["rpoMinutes"]
        frequent = [r for r in evaluation.graph.of_type(SCHEDULE) if r.inputs["metadata"]["name"] == "platform-frequent"]
        assert len(frequent) == 1, mode
        assert _interval_minutes(frequent[0].inputs["spec"]["schedule"]) <= rpo, mode


def test_only_the_primary_writes_and_the_location_is_protected_not_retained(prod, standby):
    primary = prod.graph.named("dr-velero-primary-location")
    secondary = standby.graph.named("dr-velero-standby-location")
    # Retaining it would keep nothing: the destroy deletes its namespace. Protect makes the destroy refuse.
    assert primary.options["protect"] and secondary.options["protect"]
    assert not primary.options["retainOnDelete"] and not secondary.options["retainOnDelete"]
    assert primary.inputs["spec"]["accessMode"] == "ReadWrite"
    assert secondary.inputs["spec"]["accessMode"] == "ReadOnly"
    assert primary.inputs["spec"]["objectStorage"] == secondary.inputs["spec"]["objectStorage"], "one bucket and prefix"
    spec = primary.inputs["spec"]
    assert spec["config"]["s3Url"].startswith("https://") and "insecureSkipTLSVerify" not in spec["config"]
    assert spec["credential"] == {"name": "velero-s3", "key": "cloud"}
    assert isinstance(prod.graph.named("dr-velero-primary-credentials").inputs["stringData"], Secret)
    assert not list(standby.graph.of_type(SCHEDULE)), "the standby only reads the primary's backups"


def test_both_sites_encrypt_the_repositories_with_the_key_from_config(prod, standby):
    for evaluation, name in ((prod, "dr-velero-primary-repository"), (standby, "dr-velero-standby-repository")):
        secret = evaluation.graph.named(name)
        assert isinstance(secret.inputs["stringData"], Secret)
        assert secret.inputs["stringData"].value["repository-password"] == \
            evaluation.world.stand_in_secret("backupRepositoryPassword")


def test_velero_runs_on_both_sites_pinned_with_a_data_mover_that_needs_no_host_path(prod, standby):
    releases = [r for evaluation in (prod, standby) for r in evaluation.graph.of_type(RELEASE)
                if chart_of(r).name == "velero"]
    assert {r.name for r in releases} == {"dr-velero-primary-release", "dr-velero-standby-release"}
    for release in releases:
        values = release.inputs["values"]
        assert release.inputs["version"] == versions.VELERO.version
        # CSI snapshot data movement runs in the node agent's data mover pods, which mount PVCs, not host paths.
        assert values["deployNodeAgent"] is True and values["nodeAgent"]["disableHostPath"] is True
        assert values["podSecurityContext"]["runAsNonRoot"] is True
        assert values["image"]["imagePullSecrets"] == ["registry-pull"]
        assert values["upgradeCRDs"] is True, "Helm never upgrades the CRDs of the chart's crds/ folder"
    registries = {r.name: r.inputs["values"]["image"]["repository"].split("/")[0] for r in releases}
    assert registries == {"dr-velero-primary-release": "harbor-a.hospital.example",
                          "dr-velero-standby-release": "harbor-b.hospital.example"}, "each site pulls from its own"
    for evaluation in (prod, standby):
        namespace = next(r for r in evaluation.graph.of_type("kubernetes:core/v1:Namespace")
                         if r.inputs["metadata"]["name"] == "velero")
        metadata = namespace.inputs["metadata"]
        # The data mover pods run as root: baseline admits them, restricted would not.
        assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
        assert "root" in metadata["annotations"]["onprem-llm.io/pod-security-exception"]


def test_model_weights_are_excluded_from_backups(prod):
    pvc = prod.graph.named("llama-2-7b-chat-weights")
    assert pvc.inputs["metadata"]["labels"]["velero.io/exclude-from-backup"] == "true"


def test_warm_standby_serves_every_model_at_reduced_replicas_behind_its_own_gateway(standby):
    workload = standby.graph.named("llama-2-7b-chat-server")
    assert workload.type == "kubernetes:apps/v1:Deployment", "shared weights (site.weightsStorageClass): one Job stages"
    assert workload.provider_urn == standby.graph.named("standby-workload").urn
    scaler = standby.graph.named("llama-2-7b-chat-scaler").inputs["spec"]
    assert (scaler["minReplicaCount"], scaler["maxReplicaCount"]) == (1, 1)
    assert standby.outputs["gatewayBaseUrl"] == "https://llm.hospital.example/v1"


def test_stack_reports_achieved_figures_next_to_targets(prod):
    outputs = prod.outputs
    assert outputs["drMode"] == "warm-standby"
    assert outputs["drAchievedRpoMinutes"] == 45 <= outputs["drRpoTargetMinutes"]
    assert outputs["drAchievedRtoMinutes"] == 8 <= outputs["drRtoTargetMinutes"]
    assert outputs["backupLocation"] == "default"


@pytest.fixture(scope="module")
def dr_modes(prod):
    modes = {"warm-standby": prod}
    for mode in ("backup-restore", "pilot-light"):
        raw = stack_config("prod")
        raw["dr"] = {**raw["dr"], "mode": mode, "rtoMinutes": 120}
        modes[mode] = evaluate("prod", raw)
    return modes


def test_the_primary_backs_up_the_same_way_in_every_mode(dr_modes):
    for mode, evaluation in dr_modes.items():
        assert [r.name for r in evaluation.graph.of_type("onprem:platform:Velero")] == ["dr-velero-primary"], mode
        assert not [r for r in evaluation.graph if r.name.startswith(("dr-pool", "dr-cluster"))], mode
        assert evaluation.outputs["drMode"] == mode
    assert dr_modes["backup-restore"].outputs["drAchievedRtoMinutes"] > 60


def test_file_system_backup_runs_the_node_agent_in_an_excepted_namespace(raw_config):
    raw = raw_config("prod")
    raw["dr"]["fileSystemBackup"] = True
    raw["compliance"]["privilegedNamespaces"]["velero"] = "node agent reads pod volumes through hostPath"
    evaluation = evaluate("prod", raw)
    values = evaluation.graph.named("dr-velero-primary-release").inputs["values"]
    assert values["deployNodeAgent"] is True and values["configuration"]["defaultVolumesToFsBackup"] is True
    namespace = evaluation.graph.named("dr-velero-primary-ns").inputs["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert "hostPath" in namespace["annotations"]["onprem-llm.io/pod-security-exception"]
