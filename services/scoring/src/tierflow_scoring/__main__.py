"""`python -m tierflow_scoring [run|migrate]`."""

from tierflow_common.entrypoint import service_main
from tierflow_scoring.bootstrap import MIGRATIONS_DIR, build
from tierflow_scoring.settings import ScoringSettings

if __name__ == "__main__":
    raise SystemExit(
        service_main("scoring", settings_factory=ScoringSettings, build=build, migrations_dir=MIGRATIONS_DIR)
    )
