#!/usr/bin/env bash
# `make lint-deploy`: static checks of every deployment artifact. Run deploy/scripts/install-tools.sh
# first (the Makefile does). With arguments, only those checks run: helm compose prometheus dashboards.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tierflow/tools"
export PATH="$TOOLS/bin:$ROOT/.venv/bin:$PATH"
export DOCKER_CONFIG="$TOOLS/docker"
cd "$ROOT"

CHART=deploy/k8s/tierflow
KUBE_MIN=1.27.0  # keep in step with kubeVersion in $CHART/Chart.yaml
# The production-like values, plus the policy files an SRE would pass with --set-file, so the
# policy ConfigMap and its mounts are rendered and validated too.
PRODUCTION=(-f deploy/k8s/values-production.yaml
    --set-file policies.scoring=services/scoring/src/tierflow_scoring/policies/default.yaml
    --set-file policies.routing=services/routing/src/tierflow_routing/policies/default.yaml)

step() { echo "== $*"; }
need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool (run deploy/scripts/install-tools.sh)" >&2; exit 1; }
    done
}
# The chart links the alert rules and dashboards from deploy/; helm says so on every render.
quiet_symlinks() { grep -v 'found symbolic link' >&2 || true; }

lint_helm() {
    need helm kubernetes-validate
    # files/ links to the rules and dashboards; a link saved as a plain file (a copy that lost its
    # symlinks) would render a broken PrometheusRule that kubernetes-validate cannot see (a CRD).
    step "the chart ships deploy/prometheus/rules and deploy/grafana/dashboards unchanged"
    cmp deploy/prometheus/rules/tierflow-alerts.yml "$CHART/files/tierflow-alerts.yml"
    for dashboard in deploy/grafana/dashboards/*.json; do
        cmp "$dashboard" "$CHART/files/dashboards/$(basename "$dashboard")"
    done
    step "helm lint --strict (default values, production values)"
    helm lint --strict "$CHART" 2> >(quiet_symlinks)
    helm lint --strict "$CHART" "${PRODUCTION[@]}" 2> >(quiet_symlinks)
    # Against kubernetes-validate's newest Kubernetes and the oldest the chart supports (Chart.yaml kubeVersion).
    for version in latest "$KUBE_MIN"; do
        local k=()
        [ "$version" = latest ] || k=(--kubernetes-version "$version")
        step "helm template | kubernetes-validate --strict ${k[*]} (default values, production values)"
        helm template tierflow "$CHART" 2> >(quiet_symlinks) | kubernetes-validate "${k[@]}" --strict --quiet -
        # --no-warn: ServiceMonitor and PrometheusRule (CRDs) have no schema in kubernetes-validate;
        # tests/deploy/test_helm_chart.py checks them instead.
        helm template tierflow "$CHART" "${PRODUCTION[@]}" 2> >(quiet_symlinks) \
            | kubernetes-validate "${k[@]}" --strict --no-warn --quiet -
    done
}

lint_compose() {
    need docker
    step "docker compose config (default, --profile simulator)"
    docker compose -f docker-compose.yml config --quiet
    docker compose -f docker-compose.yml --profile simulator config --quiet
}

lint_prometheus() {
    need promtool
    step "promtool check config, check rules, test rules"
    promtool check config --syntax-only deploy/prometheus/prometheus.yml
    promtool check rules deploy/prometheus/rules/*.yml
    promtool test rules deploy/prometheus/tests/*.test.yml
}

lint_dashboards() {
    step "dashboards match deploy/grafana/tierflow_dashboards"
    python deploy/grafana/build_dashboards.py --check
}

checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(helm compose prometheus dashboards)
for check in "${checks[@]}"; do
    case "$check" in
        helm | compose | prometheus | dashboards) "lint_$check" ;;
        *) echo "unknown check: $check (helm, compose, prometheus, dashboards)" >&2; exit 2 ;;
    esac
done
echo "== deploy checks passed: ${checks[*]}"
