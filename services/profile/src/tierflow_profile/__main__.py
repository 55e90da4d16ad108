"""`python -m tierflow_profile [run|migrate]`."""

from tierflow_common.entrypoint import service_main
from tierflow_profile.bootstrap import MIGRATIONS_DIR, build
from tierflow_profile.settings import ProfileSettings

if __name__ == "__main__":
    raise SystemExit(
        service_main("profile", settings_factory=ProfileSettings, build=build, migrations_dir=MIGRATIONS_DIR)
    )
