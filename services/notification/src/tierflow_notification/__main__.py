"""`python -m tierflow_notification [run|migrate]`."""

from tierflow_common.entrypoint import service_main
from tierflow_notification.bootstrap import MIGRATIONS_DIR
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build

if __name__ == "__main__":
    raise SystemExit(
        service_main("notification", settings_factory=NotificationSettings, build=build, migrations_dir=MIGRATIONS_DIR)
    )
