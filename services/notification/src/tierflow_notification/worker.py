"""The notification process: the worker bootstrap builds, with the task API served on its ops port."""

from __future__ import annotations

from tierflow_common.runtime import ServiceRuntime
from tierflow_notification.api.app import create_app
from tierflow_notification.bootstrap import build_worker
from tierflow_notification.settings import NotificationSettings


def build(settings: NotificationSettings) -> ServiceRuntime:
    """Consumer loop, step runner and the advisor task API (beside /healthz, /readyz and /metrics)."""
    worker = build_worker(settings)
    worker.runtime.api = create_app(worker.task_api)
    return worker.runtime
