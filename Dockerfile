# syntax=docker/dockerfile:1
# One image for every tierflow process; the command picks the role:
#   python -m tierflow_profile run | tierflow_scoring run | tierflow_routing run | tierflow_notification run
#   python -m tierflow_routing api          the routing API (port 8000)
#   python -m tierflow_<service> migrate    schema migrations (the Helm hook and compose's `migrate`)
#   tierflow topics | tierflow simulate     create the topics, feed simulated events
# Configuration is environment variables only (docs/operations.md#configuration).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/tierflow
WORKDIR /src
# constraints.txt pins every dependency, so the image runs what the test suite ran.
COPY constraints.txt ./
COPY libs/common libs/common
COPY services services
COPY tools/simulator tools/simulator
COPY tools/cli tools/cli
RUN /opt/tierflow/bin/pip install -c constraints.txt \
        ./libs/common ./services/profile ./services/scoring ./services/routing ./services/notification \
        ./tools/simulator ./tools/cli

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 tierflow \
    && useradd --system --uid 10001 --gid tierflow --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tierflow
COPY --from=build /opt/tierflow /opt/tierflow
# Containers are reached from outside, so every ops server and the API bind all interfaces on fixed
# ports (the code's defaults, 127.0.0.1 and a random port, suit a developer's machine, not a pod).
# Bytecode was compiled at install time; writing more would fail on a read-only root filesystem.
ENV PATH=/opt/tierflow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TIERFLOW_PROFILE_OPS_HOST=0.0.0.0 TIERFLOW_PROFILE_OPS_PORT=9100 \
    TIERFLOW_SCORING_OPS_HOST=0.0.0.0 TIERFLOW_SCORING_OPS_PORT=9100 \
    TIERFLOW_ROUTING_OPS_HOST=0.0.0.0 TIERFLOW_ROUTING_OPS_PORT=9100 \
    TIERFLOW_NOTIFICATION_OPS_HOST=0.0.0.0 TIERFLOW_NOTIFICATION_OPS_PORT=9100 \
    TIERFLOW_ROUTING_API_HOST=0.0.0.0 TIERFLOW_ROUTING_API_PORT=8000 \
    TIERFLOW_HEALTHCHECK_URL=http://127.0.0.1:9100/healthz
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000 9100
# Workers answer on the ops port; the API container sets TIERFLOW_HEALTHCHECK_URL to port 8000.
# The slim image has no curl: Python's own HTTP client does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['TIERFLOW_HEALTHCHECK_URL'], timeout=4)"]
CMD ["python", "-m", "tierflow_profile", "run"]
