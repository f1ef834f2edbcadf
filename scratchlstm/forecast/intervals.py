"""Prediction intervals: split conformal on the walk-forward residuals, with no look at the future.

The score of a forecast ``f`` of a price ``y`` is its absolute log error

    s = |log(y / f)|

(relative, so that a band follows the level of a trending or multiplicatively seasonal series). At a
test point with origin ``t`` the calibration scores are the ones whose target was known at t:

- the calibration block: the forecaster's errors on the first fit's validation windows, all before
  the first test origin (their targets are at or before the first cutoff);
- the earlier walk-forward test points ``j`` with ``t_j + h <= t``.

With n such scores and a level ``1 - alpha`` the half-width is the ``k``-th smallest score,

    k = ceil((n + 1)(1 - alpha)),   q = s_(k),   interval [f exp(-q), f exp(q)]

and when ``k > n`` (too few scores) there is no finite interval: the bounds are NaN and the point is
left out of the coverage. If the scores of the calibration points and the new point are
exchangeable, ``P(y in interval) >= 1 - alpha`` (Vovk, Gammerman & Shafer, *Algorithmic Learning in
a Random World*, 2005; Lei, G'Sell, Rinaldo, Tibshirani & Wasserman, "Distribution-free predictive
inference for regression", JASA 2018). statsforecast and mlforecast build their ``ConformalIntervals``
from the same absolute errors of rolling-origin forecasts.

The assumption is the weak part, and the reported coverage on the test span is the check: errors
of a series whose volatility changes are not exchangeable, so a calm calibration span gives bands
that are too narrow in a turbulent test span. For the model, the validation block chose the kept
epoch and the keep-or-revert decision, so its errors there are a little optimistic; the walk-forward
residuals, which nothing was chosen on, take over as they accumulate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .config import ForecastConfig
from .evaluate import wilson_interval
from .protocol import Fit, forecast_prices, validation_origins


def conformal_half_width(scores: np.ndarray, level: float) -> float:
    """``q``: the ``ceil((n + 1) level / 100)``-th smallest of ``scores``, or inf when that exceeds n."""
    scores = np.sort(np.asarray(scores, dtype=float))
    k = math.ceil((len(scores) + 1) * level / 100 - 1e-9)  # the tolerance keeps (n + 1) 0.8 = 80 from becoming 81
    return float(scores[k - 1]) if 1 <= k <= len(scores) else math.inf


def errors_needed(level: float) -> int:
    """The fewest known errors that give a ``level``% interval a finite half-width (``conformal_half_width``):
    the smallest n with ``ceil((n + 1) level / 100) <= n``, 99 for a 99% interval."""
    return math.ceil(level / (100 - level) - 1e-9)


def log_scores(forecast: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """``|log(y / f)|`` at every point; inf for a forecast that is not a positive price (a price-level
    model or the drift can forecast one), which no finite relative band covers."""
    f, y = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, np.abs(np.log(y / np.where(f > 0, f, 1.0))), np.inf)


def sequential_half_widths(test_scores: np.ndarray, calibration_scores: np.ndarray, horizon: int, level: float) -> np.ndarray:
    """``q_k`` for each test point k (origins one step apart): from the calibration scores and the
    scores of the test points ``j <= k - h``, whose targets are known at origin ``t_k``."""
    test_scores = np.asarray(test_scores, dtype=float)
    out = np.empty(len(test_scores))
    for k in range(len(test_scores)):
        known = np.concatenate([calibration_scores, test_scores[: max(k - horizon + 1, 0)]])
        out[k] = conformal_half_width(known, level)
    return out


def calibration_origins(first_origin: int, config: ForecastConfig, season: int) -> np.ndarray:
    """The origins of the calibration block: the validation origins of the fit at ``first_origin``
    (the first test origin; their targets ``t + h`` are all at or before it), less those earlier than
    ``m ceil(h / m) - h``, where seasonal naive has no value a season back to forecast from.
    ``config``'s automatic settings must be chosen."""
    origins = validation_origins(first_origin, config)  # (n_cal,)
    back = season * math.ceil(config.horizon / season)
    return origins[origins >= back - config.horizon]


def calibration_forecasts(fit: Fit, prices: np.ndarray, origins: np.ndarray, config: ForecastConfig) -> np.ndarray:
    """``(n_cal,)``: ``fit``'s forecasts of ``p[t + h]`` at the calibration ``origins``, made as it
    forecasts the test points (``protocol.forecast_prices``, its seasonal index refitted at each origin)."""
    if len(origins) == 0:
        return np.empty(0)
    return forecast_prices(fit.model, fit.scaler, prices, origins, config, fit.seasonal.season)


@dataclass
class ForecasterIntervals:
    """One forecaster's intervals on the test span, and the half-widths for the next forecast."""

    lower: dict[int, np.ndarray]  # level -> (N,), NaN where too few scores were known
    upper: dict[int, np.ndarray]
    next_half_width: dict[int, float]  # level -> q from every score: for the forecast after the last row
    calibration_scores: np.ndarray = field(default_factory=lambda: np.empty(0))  # (n_cal,) its scores on the calibration block

    @classmethod
    def build(cls, forecast: np.ndarray, actual: np.ndarray, calibration_scores: np.ndarray, levels: tuple[int, ...],
              horizon: int) -> "ForecasterIntervals":
        """The intervals around ``forecast`` (N,) at every level, from its scores on the calibration
        block and on the earlier test points."""
        test = log_scores(forecast, actual)
        lower, upper, nxt = {}, {}, {}
        for level in levels:
            q = sequential_half_widths(test, calibration_scores, horizon, level)
            q[np.isinf(q) | ~(forecast > 0)] = np.nan  # too few scores known yet, or no positive forecast to put a band around
            lower[level], upper[level] = forecast * np.exp(-q), forecast * np.exp(q)
            nxt[level] = conformal_half_width(np.concatenate([calibration_scores, test]), level)
        return cls(lower, upper, nxt, calibration_scores)


@dataclass
class Intervals:
    """Split-conformal intervals of every forecaster at every level (see the module docstring)."""

    levels: tuple[int, ...]
    horizon: int
    calibration_points: int  # scores in the calibration block (before the first test origin)
    forecasters: dict[str, ForecasterIntervals] = field(default_factory=dict)

    @classmethod
    def build(cls, forecasts: dict[str, np.ndarray], actual: np.ndarray, calibration: dict[str, tuple[np.ndarray, np.ndarray]],
              levels: tuple[int, ...], horizon: int) -> "Intervals":
        """Intervals for every forecaster in ``forecasts``.

        ``calibration[name] = (forecasts, actual)`` on the calibration block (empty arrays when there
        is none); a forecaster missing there is calibrated on its walk-forward scores alone.
        """
        empty = (np.empty(0), np.empty(0))
        n_cal = max((len(c[0]) for c in calibration.values()), default=0)
        result = cls(levels=tuple(levels), horizon=horizon, calibration_points=n_cal)
        for name, f in forecasts.items():
            cal_f, cal_y = calibration.get(name, empty)
            result.forecasters[name] = ForecasterIntervals.build(f, actual, log_scores(cal_f, cal_y), levels, horizon)
        return result

    def with_forecaster(self, name: str, forecast: np.ndarray, actual: np.ndarray, calibration_scores: np.ndarray) -> "Intervals":
        """A copy in which the intervals of ``name`` are rebuilt around a new ``forecast`` of the same
        test points, from its ``calibration_scores``; the other forecasters' are kept."""
        one = ForecasterIntervals.build(forecast, actual, calibration_scores, self.levels, self.horizon)
        return Intervals(self.levels, self.horizon, self.calibration_points, {**self.forecasters, name: one})

    def summary(self, actual: np.ndarray) -> dict[str, dict[str, dict[str, float]]]:
        """Per forecaster and level: empirical coverage on the test span (with its Wilson 95% interval),
        the points that had an interval, and the mean width in price units and in % of the forecast."""
        out = {}
        for name, fi in self.forecasters.items():
            out[name] = {}
            for level in self.levels:
                lo, hi = fi.lower[level], fi.upper[level]
                has = np.isfinite(lo) & np.isfinite(hi)
                n = int(has.sum())
                covered = int(np.sum((actual[has] >= lo[has]) & (actual[has] <= hi[has])))
                forecast = np.sqrt(lo[has] * hi[has])  # f: the bounds are f exp(-q) and f exp(q)
                out[name][str(level)] = {
                    "coverage": covered / n if n else math.nan,
                    "coverage_interval_95": list(wilson_interval(covered, n)),
                    "points": n,
                    "mean_width": float(np.mean(hi[has] - lo[has])) if n else math.nan,
                    "mean_width_pct": float(100 * np.mean((hi[has] - lo[has]) / forecast)) if n else math.nan,
                    "next_log_half_width": fi.next_half_width[level],
                }
        return out
