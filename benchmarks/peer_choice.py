"""The classical peer a forecaster could have chosen before the test span, and the peers' combination.

The best peer on the test span is picked after the fact (an oracle: it favours the peers). A
forecaster who must commit to one of AutoETS, AutoARIMA and AutoTheta picks it on the data it has:
here, on the calibration block, the origins ``t`` of the first fit's validation windows, whose
targets ``t + h`` are all at or before the first test origin (``intervals.calibration_origins``: the
same points that decide the LSTM's keep-or-revert and calibrate its intervals). Each peer forecasts
those points as it forecasts the test points (``classical_forecasts``: estimated at the first of
them and every ``refit_every`` origins, run forward in between, on ``p[0..t]`` only), and the one
with the lowest

    MAE_peer = mean_t |f_peer[t] - p[t + h]|

is chosen (ties: the first in ``PEERS`` order). Nothing after the first test origin enters.

The combination is the mean of the three peers' forecasts at every origin,

    f_comb[t] = (f_ETS[t] + f_ARIMA[t] + f_Theta[t]) / 3,

as M4's "Comb" benchmark averages its three exponential-smoothing methods; it needs no choice at all.
"""

from __future__ import annotations

import math

import numpy as np

from scratchlstm.forecast.baselines import PEERS, classical_forecasts
from scratchlstm.forecast.intervals import calibration_origins
from scratchlstm.forecast.windows import walk_forward_origins


def peer_errors_before_test(prices: np.ndarray, first_test_origin: int, config, season: int) -> dict[str, np.ndarray]:
    """Each peer's errors ``f[t] - p[t + h]`` ``(n_cal,)`` on the calibration block of a series whose
    first test origin is ``first_test_origin``; ``config`` with its automatic settings chosen (a
    result's ``config``). Only ``prices[: first_test_origin + 1]`` is read. Empty when there is no
    calibration block; a peer that fails there is left out."""
    origins = calibration_origins(first_test_origin, config, season)  # (n_cal,), targets <= first_test_origin
    if len(origins) == 0:
        return {}
    known = np.asarray(prices, dtype=float)[: first_test_origin + 1]
    peers = classical_forecasts(known, origins, config.horizon, season, config.refit_every)
    return {name: f - known[origins + config.horizon] for name, f in peers.forecasts.items()}


def peer_picked_before_test(errors: dict[str, np.ndarray]) -> str | None:
    """The peer with the lowest mean absolute error in ``errors`` (ties: the first in ``PEERS``
    order); None when no peer has an error to judge by."""
    mae = {name: float(np.mean(np.abs(errors[name]))) for name in PEERS if name in errors and len(errors[name])}
    mae = {name: value for name, value in mae.items() if not math.isnan(value)}
    return min(mae, key=mae.get) if mae else None


def peer_combination(forecasts: dict[str, np.ndarray]) -> np.ndarray | None:
    """``(N,)``: the mean of the three peers' forecasts at every origin; None unless all three ran."""
    if not all(name in forecasts for name in PEERS):
        return None
    return np.mean([forecasts[name] for name in PEERS], axis=0)


def first_test_origin(result) -> int:
    """The first walk-forward test origin of a ``ForecastResult`` (the row whose price forecasts its
    first test target)."""
    origins = walk_forward_origins(len(result.prices), result.config)
    if not np.allclose(result.prices[origins + result.config.horizon], result.actual):
        raise AssertionError(f"{result.data.source}: the test origins do not give the result's test targets")
    return int(origins[0])
