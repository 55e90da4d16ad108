"""What the Helm chart promises, checked on its rendered objects (default and production values):
probes, non-root read-only pods, secrets only by reference, PDBs, HPAs, the migration hook, and
monitoring objects consistent with the compose Prometheus and the rules file."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = (
    "-f", "deploy/k8s/values-production.yaml",
    "--set-file", "policies.scoring=services/scoring/src/tierflow_scoring/policies/default.yaml",
    "--set-file", "policies.routing=services/routing/src/tierflow_routing/policies/default.yaml",
)  # fmt: skip
PROCESSES = ("profile", "scoring", "routing", "notification", "routing-api")
SENSITIVE = ("DATABASE_URL", "REDIS_URL", "PASSWORD", "SECRET", "PUBLIC_KEY")


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by their component label (or name)."""
    found = {}
    for obj in objects:
        if obj["kind"] == kind:
            labels = obj["metadata"].get("labels", {})
            found[labels.get("app.kubernetes.io/component", obj["metadata"]["name"])] = obj
    return found


@pytest.fixture(scope="module", params=["default", "production"])
def rendered(request: pytest.FixtureRequest, deploy) -> list[dict[str, Any]]:
    return deploy.render_chart(*(PRODUCTION if request.param == "production" else ()))


def test_a_deployment_per_process_with_probes_resources_and_a_locked_down_pod(rendered) -> None:
    deployments = of_kind(rendered, "Deployment")
    assert sorted(deployments) == sorted(PROCESSES)
    for component, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", component
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", component
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"], component
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp and {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_each_process_runs_a_real_entrypoint_and_binds_all_interfaces(rendered) -> None:
    for component, deployment in of_kind(rendered, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        python, flag, module, command = container["args"]
        assert (python, flag) == ("python", "-m") and importlib.util.find_spec(module), component
        assert command == ("api" if component == "routing-api" else "run")
        env = {e["name"]: e.get("value") for e in container["env"]}
        host_vars = [name for name in env if name.endswith(("_OPS_HOST", "_API_HOST"))]
        assert host_vars and all(env[name] == "0.0.0.0" for name in host_vars), component


def test_no_secret_values_only_references(rendered) -> None:
    assert not of_kind(rendered, "Secret"), "the chart must not create Secrets"
    containers = [
        container
        for obj in rendered
        if obj["kind"] in {"Deployment", "Job"}
        for container in obj["spec"]["template"]["spec"]["containers"]
    ]
    for container in containers:
        for env in container["env"]:
            if any(word in env["name"] for word in SENSITIVE):
                assert "secretKeyRef" in env.get("valueFrom", {}), (
                    f"{container['name']}: {env['name']} is not a reference"
                )


def test_a_disruption_budget_per_process(rendered) -> None:
    budgets = of_kind(rendered, "PodDisruptionBudget")
    deployments = of_kind(rendered, "Deployment")
    assert sorted(budgets) == sorted(PROCESSES)
    for component, budget in budgets.items():
        assert budget["spec"]["selector"]["matchLabels"] == deployments[component]["spec"]["selector"]["matchLabels"]
        # Pods that are not ready (all workers while Kafka is down) must not block node drains.
        assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow", component


def test_migrations_run_before_install_and_upgrade(rendered) -> None:
    (job,) = of_kind(rendered, "Job").values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert (
        'for service in profile scoring routing notification; do\n  python -m "tierflow_${service}" migrate' in script
    )
    # Hooks run before the chart's ConfigMaps exist: the job must not mount them.
    assert [v["name"] for v in job["spec"]["template"]["spec"]["volumes"]] in (["tmp"], ["tmp", "kafka-ca"])


def test_the_hook_creates_topics_with_min_insync_replicas_and_a_long_dead_letter_retention(deploy) -> None:
    (job,) = of_kind(deploy.render_chart(), "Job").values()
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert (
        "tierflow topics --partitions 6 --replication-factor 3 --min-insync-replicas 2 --dead-letter-retention-days 90"
        in script
    )
    (job,) = of_kind(
        deploy.render_chart("--set", "kafka.replicationFactor=1", "--set", "kafka.minInsyncReplicas=1"), "Job"
    ).values()
    assert (
        "--replication-factor 1 --min-insync-replicas 1" in job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    )


def test_min_insync_replicas_may_not_exceed_the_replication_factor(deploy) -> None:
    result = deploy.run(
        deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow", "--set", "kafka.replicationFactor=1",
    )  # fmt: skip
    assert result.returncode != 0
    assert "kafka.minInsyncReplicas (2) exceeds kafka.replicationFactor (1)" in result.stderr


def test_production_autoscaling_api_on_cpu_workers_on_consumer_lag(deploy) -> None:
    objects = deploy.render_chart(*PRODUCTION)
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    deployments = of_kind(objects, "Deployment")
    assert sorted(autoscalers) == sorted(PROCESSES)
    assert autoscalers["routing-api"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    for component in ("profile", "scoring", "routing", "notification"):
        (metric,) = autoscalers[component]["spec"]["metrics"]
        assert metric["type"] == "External"
        assert metric["external"]["metric"] == {
            "name": "tierflow_consumer_lag",
            "selector": {"matchLabels": {"service": component}},
        }
    # The HPA owns the replica count.
    assert all("replicas" not in d["spec"] for d in deployments.values())


def test_a_worker_may_not_scale_beyond_the_partitions(deploy) -> None:
    result = deploy.run(
        deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow",
        "--set", "workers.scoring.autoscaling.enabled=true", "--set", "workers.scoring.autoscaling.maxReplicas=8",
    )  # fmt: skip
    assert result.returncode != 0
    assert "workers.scoring.autoscaling.maxReplicas (8) exceeds kafka.partitions (6)" in result.stderr


def test_policies_and_playbooks_are_mounted_where_they_are_read(deploy) -> None:
    objects = deploy.render_chart(*PRODUCTION, "--set-string", "playbooks.reactivation=steps: []")
    config_maps = of_kind(objects, "ConfigMap")
    assert set(config_maps["policies"]["data"]) == {"scoring.yaml", "routing.yaml"}
    assert config_maps["playbooks"]["data"] == {"reactivation.yaml": "steps: []\n"}
    for component, deployment in of_kind(objects, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        mounts = {m["name"] for m in container["volumeMounts"]}
        env = {e["name"] for e in container["env"]}
        assert ("playbooks" in mounts) == (component == "notification"), component
        assert ("TIERFLOW_SCORING_DEFAULT_POLICY_FILE" in env) == (component == "scoring"), component
        assert ("TIERFLOW_ROUTING_DEFAULT_POLICY_FILE" in env) == (component in {"routing", "routing-api"}), component


def test_the_ingress_exposes_only_the_api_paths(deploy) -> None:
    (ingress,) = of_kind(deploy.render_chart(*PRODUCTION), "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    assert [path["path"] for path in rule["http"]["paths"]] == ["/v1"]
    assert ingress["spec"]["tls"][0]["secretName"] == "tierflow-api-tls"


def test_service_monitor_gives_the_same_job_names_as_compose(deploy) -> None:
    objects = deploy.render_chart(*PRODUCTION)
    (monitor,) = of_kind(objects, "ServiceMonitor").values()
    job_label = monitor["spec"]["jobLabel"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    endpoint_ports = {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]}
    jobs = set()
    for service in of_kind(objects, "Service").values():
        labels = service["metadata"]["labels"]
        assert selector.items() <= labels.items()
        assert {port["name"] for port in service["spec"]["ports"]} & endpoint_ports, service["metadata"]["name"]
        jobs.add(labels[job_label])
    compose = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert jobs == {job["job_name"] for job in compose["scrape_configs"]} - {"prometheus"}


def test_service_monitor_keeps_the_metrics_own_service_label(deploy) -> None:
    # The operator sets a `service` target label (the Kubernetes Service name); left alone it would
    # rename the metrics' `service` label to exported_service, and `sum by (service)` in the rules,
    # the dashboards and the HPA selector `service: profile` would stop matching.
    (monitor,) = of_kind(deploy.render_chart(*PRODUCTION), "ServiceMonitor").values()
    for endpoint in monitor["spec"]["endpoints"]:
        assert {"action": "labeldrop", "regex": "service"} in endpoint.get("relabelings", []), endpoint["port"]


def test_prometheus_rule_ships_the_rules_file_and_promtool_accepts_it(deploy, tmp_path: Path) -> None:
    (rule,) = of_kind(deploy.render_chart(*PRODUCTION), "PrometheusRule").values()
    assert rule["spec"] == yaml.safe_load((REPO / "deploy/prometheus/rules/tierflow-alerts.yml").read_text())
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rule["spec"]))
    result = deploy.run(deploy.require("promtool"), "check", "rules", str(tmp_path / "rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_config_maps_carry_the_generated_dashboards(deploy) -> None:
    objects = deploy.render_chart(*PRODUCTION)
    for name in ("pipeline", "business", "api", "advisors"):
        config_map = of_kind(objects, "ConfigMap")[f"dashboard-{name}"]
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        expected = (REPO / f"deploy/grafana/dashboards/{name}.json").read_text()
        assert config_map["data"][f"tierflow-{name}.json"] == expected


def test_a_secret_in_plain_env_is_refused(deploy) -> None:
    result = deploy.run(
        deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow",
        "--set", "api.env.TIERFLOW_ROUTING_JWT_SECRET=not-in-values-please",
    )  # fmt: skip
    assert result.returncode != 0
    assert "TIERFLOW_ROUTING_JWT_SECRET must come from a Secret reference" in result.stderr


def test_the_schema_refuses_a_misspelt_key_and_a_wrong_type(deploy) -> None:
    template = (deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow")
    typo = deploy.run(*template, "--set", "workers.scoring.autoscalling.enabled=true")
    assert typo.returncode != 0 and "autoscalling" in typo.stderr
    wrong = deploy.run(*template, "--set", "kafka.partitions=twelve")
    assert wrong.returncode != 0 and "kafka.partitions" in wrong.stderr


@pytest.mark.parametrize(
    "name", ["tierflow_routing_jwt_secret", "Tierflow_Routing_Jwt_Secret", "TIERFLOW_ROUTING_JWT_PRIVATE_KEY"]
)
def test_a_secret_in_plain_env_is_refused_whatever_its_case(deploy, name: str) -> None:
    # The services read the environment case-insensitively: a lower-case name is the same setting. The
    # schema allows only upper-case names, and the template refuses secrets even when it is skipped.
    template = (deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow")
    for where in ("api.env", "workers.notification.env"):
        result = deploy.run(*template, "--skip-schema-validation", "--set", f"{where}.{name}=plain")
        assert result.returncode != 0, where
        assert f"{name} must come from a Secret reference" in result.stderr, where


def jwt_secret_refs(objects: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """component -> (Secret name, key) its JWT secret comes from."""
    refs = {}
    for component, deployment in of_kind(objects, "Deployment").items():
        for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            if env["name"].endswith("_JWT_SECRET"):
                ref = env["valueFrom"]["secretKeyRef"]
                refs[component] = (ref["name"], ref["key"])
    return refs


def test_the_routing_api_and_the_task_api_do_not_share_a_signing_secret(deploy) -> None:
    refs = jwt_secret_refs(deploy.render_chart())
    assert set(refs) == {"routing-api", "notification"}
    assert refs["routing-api"] == ("tierflow-jwt", "secret")
    assert refs["notification"] == ("tierflow-task-api-jwt", "secret")
    shared = deploy.run(
        deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow",
        "--set", "taskApi.jwt.secretSecret.name=tierflow-jwt",
    )  # fmt: skip
    assert shared.returncode != 0 and "give the task API its own" in shared.stderr


def test_both_apis_get_their_maximum_token_lifetime(rendered) -> None:
    for component, prefix in (("routing-api", "TIERFLOW_ROUTING_"), ("notification", "TIERFLOW_NOTIFICATION_")):
        container = of_kind(rendered, "Deployment")[component]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert int(env[f"{prefix}JWT_MAX_LIFETIME_S"]) >= 60, component


def ingress_rules(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {component: policy["spec"]["ingress"] for component, policy in of_kind(objects, "NetworkPolicy").items()}


def test_network_policies_open_the_ops_ports_only_to_monitoring_and_the_api_port_to_all(deploy) -> None:
    rules = ingress_rules(deploy.render_chart())
    assert set(rules) == set(PROCESSES)
    monitoring = {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    for component in ("profile", "scoring", "routing"):
        [only] = rules[component]
        assert only["ports"] == [{"port": "ops", "protocol": "TCP"}], component
        assert [peer["namespaceSelector"] for peer in only["from"]] == [monitoring], component
    [api] = rules["routing-api"]
    assert api == {"ports": [{"port": "http", "protocol": "TCP"}]}  # from anywhere, as without policies
    scrape, task_api = rules["notification"]
    assert scrape["from"][0]["namespaceSelector"] == monitoring
    assert task_api == {"ports": [{"port": "ops", "protocol": "TCP"}]}  # the task API: from anywhere by default


def test_network_policies_are_configurable(deploy) -> None:
    rules = ingress_rules(deploy.render_chart(*PRODUCTION))
    _, task_api = rules["notification"]
    assert task_api["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "advisor-workbench"}}}
    ]
    assert rules["profile"][0]["from"][0]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    other = ingress_rules(
        deploy.render_chart("--set", "networkPolicy.monitoring.namespaceSelector.matchLabels.team=observability")
    )
    assert other["scoring"][0]["from"][0]["namespaceSelector"]["matchLabels"]["team"] == "observability"
    assert not ingress_rules(deploy.render_chart("--set", "networkPolicy.enabled=false"))
