"""`tierflow experiments report`: the table and the chart it writes from a report. Pure (no infrastructure)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

from rich.console import Console

from tierflow_cli.experiment_commands import report_table, write_chart
from tierflow_routing.application.experiments import ArmDefinition, ExperimentReport, ExperimentSummary
from tierflow_routing.domain.experiment_stats import ArmSample, compare_arms

SUMMARY = ExperimentSummary(
    "robo-for-c-1", "experiment", "", "running", None, None,
    (ArmDefinition("control", 1, 0.5), ArmDefinition("robo", 1, 0.5)),
)  # fmt: skip


def report(days: int, control: tuple[int, int], robo: tuple[int, int]) -> ExperimentReport:
    samples = (ArmSample("control", *control), ArmSample("robo", *robo))
    if robo[0] < 2:  # not enough customers yet: no comparison (the application says so in `note`)
        return ExperimentReport(SUMMARY, days, "returned", None, "control", samples, None, "not enough")
    comparison = compare_arms(samples, control="control", adjust=False)
    return ExperimentReport(SUMMARY, days, "returned", None, "control", samples, comparison, None)


def test_the_table_shows_rates_and_the_difference_in_points() -> None:
    out = io.StringIO()
    Console(file=out, width=200).print(report_table(report(30, (1000, 250), (1000, 330))))
    text = out.getvalue()
    assert "25.0%" in text and "33.0%" in text
    assert "+8.0 pts" in text  # 33% - 25%
    assert "returned within 30 days (control: control)" in text


def test_the_chart_is_a_png_with_a_point_per_window(tmp_path: Path) -> None:
    target = tmp_path / "chart.png"
    write_chart([report(7, (1000, 100), (1000, 150)), report(30, (1000, 250), (1000, 330)),
                 report(90, (1000, 400), (0, 0))], target)  # fmt: skip
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (840, 504)  # 7 x 4.2 inches at 120 dpi
