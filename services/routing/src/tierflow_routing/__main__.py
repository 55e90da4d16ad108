"""`python -m tierflow_routing [run|migrate|api]`."""

from tierflow_common.entrypoint import service_main
from tierflow_routing.api.server import serve_api
from tierflow_routing.bootstrap import MIGRATIONS_DIR, build
from tierflow_routing.settings import RoutingSettings

if __name__ == "__main__":
    raise SystemExit(
        service_main(
            "routing",
            settings_factory=RoutingSettings,
            build=build,
            migrations_dir=MIGRATIONS_DIR,
            commands={"api": serve_api},
        )
    )
