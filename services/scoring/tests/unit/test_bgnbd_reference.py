"""BG/NBD against the reference: the CDNOW data and the `lifetimes` implementation (test-only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.datasets import load_cdnow_summary

from tierflow_scoring.domain.churn import age_at_level, p_alive
from tierflow_scoring.domain.fitting import fit_bgnbd

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def fitted(cdnow: pd.DataFrame):  # type: ignore[no-untyped-def]
    return fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], version="cdnow", time_unit="weeks")


def test_the_fit_reproduces_the_published_cdnow_parameters_within_half_a_percent(fitted) -> None:  # type: ignore[no-untyped-def]
    assert fitted.converged and fitted.customers == 2357
    for name, published in PUBLISHED.items():
        assert getattr(fitted.model, name) == pytest.approx(published, rel=0.005), name


def test_p_alive_equals_lifetimes_for_every_cdnow_customer(cdnow: pd.DataFrame, fitted) -> None:  # type: ignore[no-untyped-def]
    reference = BetaGeoFitter()
    model = fitted.model
    reference.params_ = pd.Series({"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b})
    expected = reference.conditional_probability_alive(
        cdnow["frequency"].values, cdnow["recency"].values, cdnow["T"].values
    )
    ours = np.array(
        [p_alive(model, int(x), t, T) for x, t, T in zip(cdnow["frequency"], cdnow["recency"], cdnow["T"], strict=True)]
    )
    assert np.max(np.abs(ours - expected)) <= 1e-9


def test_the_crossing_time_has_a_closed_form(fitted) -> None:  # type: ignore[no-untyped-def]
    model = fitted.model
    for x, t_x in ((1, 2.0), (3, 10.0), (12, 30.0)):
        for level in (0.7, 0.4, 0.1):
            T = age_at_level(model, x, t_x, level)
            assert T is not None and t_x <= T
            assert p_alive(model, x, t_x, T) == pytest.approx(level, abs=1e-12)
            assert p_alive(model, x, t_x, T * 0.99) > level
    assert age_at_level(model, 0, 0.0, 0.5) is None  # x = 0: alive with probability 1, forever
