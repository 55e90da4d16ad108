"""Write tierflow's Grafana dashboards as JSON under deploy/grafana/dashboards/ (or check they are current).

.venv/bin/python deploy/grafana/build_dashboards.py          # regenerate after editing tierflow_dashboards/
.venv/bin/python deploy/grafana/build_dashboards.py --check  # exit 1 if the JSON differs from the code
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard
from tierflow_dashboards.advisors import advisors_dashboard
from tierflow_dashboards.api import api_dashboard
from tierflow_dashboards.business import business_dashboard
from tierflow_dashboards.pipeline import pipeline_dashboard

OUTPUT = Path(__file__).resolve().parent / "dashboards"
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "pipeline.json": pipeline_dashboard,
    "business.json": business_dashboard,
    "api.json": api_dashboard,
    "advisors.json": advisors_dashboard,
}


def render(build: Callable[[], Dashboard]) -> str:
    """The dashboard as stable JSON (sorted keys), so a regenerated file only differs where the code does."""
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if a JSON file is missing or out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path, text = OUTPUT / name, render(build)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run deploy/grafana/build_dashboards.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
