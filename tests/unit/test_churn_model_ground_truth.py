"""Ground truth for the learned churn score (issue 19): the simulator's behavioural model decides who leaves
within 90 days; the score fitted on one simulated population must beat the hand-set score on customers it
has never seen, on both AUC and Brier score, and the shipped default must be exactly that fit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import numpy as np
import pytest

from tierflow_cli.churn_files import model_file_text, read_observations, write_observations
from tierflow_cli.churn_reference import REFERENCE_CUSTOMERS, REFERENCE_SEED, reference_model, reference_observations
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.churn_fitting import Calibration, ChurnFit, Observation, calibration
from tierflow_scoring.domain.model_file import SHIPPED_MODEL_FILE, load_model_file, parse_model_file

REFERENCE_NOW = datetime(2026, 12, 1, tzinfo=UTC)
UNSEEN_SEED = 20
UNSEEN_CUSTOMERS = 100_000


@cache
def reference() -> tuple[ChurnModel, ChurnFit, list[Observation], dict[str, object]]:
    return reference_model(customers=REFERENCE_CUSTOMERS, seed=REFERENCE_SEED, now=REFERENCE_NOW)


@cache
def unseen() -> tuple[Observation, ...]:
    """Another population, another seed, another day: customers no fit has seen."""
    return tuple(reference_observations(UNSEEN_CUSTOMERS, seed=UNSEEN_SEED, now=datetime(2027, 3, 1, tzinfo=UTC)))


def reports_on_unseen(model: ChurnModel) -> tuple[Calibration, Calibration]:
    observations = unseen()
    assert model.logistic is not None
    churned = np.array([o.churned for o in observations], dtype=float)
    learned = np.array([model.logistic.probability(o.features) for o in observations])
    hand_set = np.array([o.score for o in observations])
    return calibration(learned, churned), calibration(hand_set, churned)


def test_the_fit_beats_the_hand_set_score_on_its_held_out_fifth() -> None:
    _, fit, _, _ = reference()
    assert 0.02 < fit.fitted.churn_rate < 0.05 and fit.fitted.observations > 9_000
    assert fit.beats_incumbent
    assert fit.fitted.brier < 0.5 * fit.incumbent.brier  # the hand-set score is no probability


def test_the_learned_score_beats_the_hand_set_score_on_an_unseen_population() -> None:
    model, _, _, _ = reference()
    learned, hand_set = reports_on_unseen(model)
    assert learned.observations > 75_000 and learned.churn_rate * learned.observations > 2_000
    assert learned.auc > hand_set.auc
    assert learned.brier < hand_set.brier


def test_the_learned_score_is_calibrated_where_it_has_customers() -> None:
    model, _, _, _ = reference()
    learned, _ = reports_on_unseen(model)
    for band in learned.reliability:
        if band.count >= 400:
            assert band.observed_rate == pytest.approx(band.mean_predicted, abs=0.03)


def test_the_shipped_default_is_the_reference_fit() -> None:
    model, fit, _, fitted_on = reference()
    shipped = load_model_file(SHIPPED_MODEL_FILE)
    assert shipped.model.version == model.version and shipped.model.r == model.r
    assert shipped.model.logistic is not None and model.logistic is not None
    assert shipped.model.logistic.intercept == pytest.approx(model.logistic.intercept, abs=1e-9)
    assert shipped.model.logistic.coefficients == pytest.approx(model.logistic.coefficients, abs=1e-9)
    regenerated = parse_model_file(model_file_text(model, fit, fitted_on), source="regenerated")
    assert regenerated.source == shipped.source and regenerated.customers == shipped.customers
    assert regenerated.calibration is not None and shipped.calibration is not None
    for score in ("fitted", "incumbent"):
        for figure in ("observations", "churn_rate", "brier", "auc", "log_loss"):
            assert regenerated.calibration[score][figure] == pytest.approx(shipped.calibration[score][figure])


def test_observations_survive_their_file(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    _, _, observations, _ = reference()
    target = tmp_path / "observations.jsonl"
    assert write_observations(target, observations[:500]) == 500
    assert read_observations(target) == observations[:500]
