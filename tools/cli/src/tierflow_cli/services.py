"""The processes that make up tierflow, as the stack and the tests start them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tierflow_notification.bootstrap import MIGRATIONS_DIR as NOTIFICATION_MIGRATIONS
from tierflow_profile.bootstrap import MIGRATIONS_DIR as PROFILE_MIGRATIONS
from tierflow_routing.bootstrap import MIGRATIONS_DIR as ROUTING_MIGRATIONS
from tierflow_scoring.bootstrap import MIGRATIONS_DIR as SCORING_MIGRATIONS


@dataclass(frozen=True)
class ServiceSpec:
    """One process: its name, how to start it, and the env prefix of its settings."""

    name: str
    module: str
    args: tuple[str, ...]
    env_prefix: str

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]


WORKERS = (
    ServiceSpec("profile", "tierflow_profile", ("run",), "TIERFLOW_PROFILE_"),
    ServiceSpec("scoring", "tierflow_scoring", ("run",), "TIERFLOW_SCORING_"),
    ServiceSpec("routing", "tierflow_routing", ("run",), "TIERFLOW_ROUTING_"),
    ServiceSpec("notification", "tierflow_notification", ("run",), "TIERFLOW_NOTIFICATION_"),
)
API = ServiceSpec("routing-api", "tierflow_routing", ("api",), "TIERFLOW_ROUTING_")

MIGRATIONS: dict[str, tuple[Path, str]] = {
    # service: (migrations directory, default schema)
    "profile": (PROFILE_MIGRATIONS, "profile"),
    "scoring": (SCORING_MIGRATIONS, "scoring"),
    "routing": (ROUTING_MIGRATIONS, "routing"),
    "notification": (NOTIFICATION_MIGRATIONS, "notification"),
}
