"""The classical peers run on the model's schedule are statsforecast's own rolling-origin
evaluation: ``StatsForecast.cross_validation`` with the same windows and ``refit`` schedule."""

import numpy as np
import pandas as pd
import pytest

from scratchlstm.forecast.baselines import PEERS, classical_forecasts

pytest.importorskip("statsforecast")


def seasonal_series(n=72, seed=0):
    """Monthly: a trend, a multiplicative yearly season and noise."""
    rng = np.random.default_rng(seed)
    s = np.arange(n)
    return 100 * np.exp(0.01 * s + 0.15 * np.sin(2 * np.pi * s / 12) + 0.03 * rng.standard_normal(n))


@pytest.mark.parametrize("horizon, refit_every", [(1, 3), (2, None), (1, 1)])
def test_peers_equal_statsforecast_cross_validation(horizon, refit_every):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    y = seasonal_series()
    n, points = len(y), 6
    origins = np.arange(n - horizon - points, n - horizon)  # the last 6 origins whose target exists
    ours = classical_forecasts(y, origins, horizon, 12, refit_every)
    assert set(ours.forecasts) == set(PEERS), ours.notes

    frame = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": y})
    sf = StatsForecast(models=[AutoETS(season_length=12), AutoARIMA(season_length=12), AutoTheta(season_length=12)], freq="MS")
    cv = sf.cross_validation(df=frame, h=horizon, n_windows=points, step_size=1,
                             refit=True if refit_every == 1 else refit_every or False)
    cv = cv[cv.groupby("cutoff").cumcount() == horizon - 1]  # the h-th step ahead of each cutoff
    assert len(cv) == points
    for name in PEERS:
        np.testing.assert_allclose(ours.forecasts[name], cv[name].to_numpy(), rtol=1e-10, err_msg=name)


def test_a_failing_peer_is_left_out_with_a_note(monkeypatch):
    import statsforecast.models as sf

    def broken(self, y, *args, **kwargs):
        raise RuntimeError("no convergence")

    monkeypatch.setattr(sf.AutoARIMA, "fit", broken)
    result = classical_forecasts(seasonal_series(), np.arange(60, 70), 1, 12, None)
    assert set(result.forecasts) == {"AutoETS", "AutoTheta"}
    assert any("AutoARIMA failed" in note and "no convergence" in note for note in result.notes)
