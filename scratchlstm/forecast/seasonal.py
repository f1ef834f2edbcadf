"""The seasonal index of a price series: what a seasonal series is divided by before the model sees it.

``log p[s] = log a[s] + S[s mod m]``: ``S (m,)`` is the seasonal part of the log series (classical
decomposition: ``log p`` minus its centred moving average over one season, averaged by season
position over the last ``SEASON_CYCLES`` seasons and centred to sum 0), ``a`` the seasonally
adjusted series. It is fitted on the values up to a cutoff only, so it leaks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEASON_CYCLES = 6  # the seasonal index is estimated from the last six seasons: a season whose shape drifts is followed


@dataclass
class SeasonalIndex:
    """``log p[s] = log a[s] + S[s mod m]``: the seasonal part ``S (m,)`` of the log series, fitted up
    to a cutoff; ``m = 1`` (or too short a history) leaves the series as it is."""

    season: int
    index: np.ndarray  # (m,), sums to 0

    @classmethod
    def fit(cls, prices: np.ndarray, cutoff: int, season: int, cycles: int | None = SEASON_CYCLES) -> "SeasonalIndex":
        """Classical decomposition of ``log p[0..cutoff]``: detrend by the centred moving average of
        one season (a 2 x m average for even m), average each season position over the last
        ``cycles`` seasons (all when None), centre to sum 0. Needs three full seasons (two
        detrended values per position); fewer leave ``S = 0``."""
        x = np.log(np.asarray(prices[: cutoff + 1], dtype=float))
        m = int(season)
        if m < 2 or len(x) < 3 * m:
            return cls(1, np.zeros(1))
        weights = np.full(m + 1, 1.0 / m) if m % 2 == 0 else np.full(m, 1.0 / m)
        if m % 2 == 0:
            weights[0] = weights[-1] = 0.5 / m  # the 2 x m average: centred on a step, not between two
        half = len(weights) // 2
        trend = np.convolve(x, weights, mode="valid")  # (n - 2 half,): trend at steps half .. n-1-half
        detrended = x[half : len(x) - half] - trend
        phase = np.arange(half, len(x) - half) % m
        if cycles is not None:  # the recent seasons only: a season whose shape drifts is followed
            detrended, phase = detrended[-cycles * m :], phase[-cycles * m :]
        index = np.array([detrended[phase == j].mean() for j in range(m)])  # (m,)
        return cls(m, index - index.mean())

    def factor(self, steps: np.ndarray) -> np.ndarray:
        """``exp(S[s mod m])`` at each step s."""
        return np.exp(self.index[np.asarray(steps) % self.season])

    def remove(self, prices: np.ndarray) -> np.ndarray:
        """The adjusted series ``a[s] = p[s] / exp(S[s mod m])``."""
        return prices / self.factor(np.arange(len(prices)))

    def to_dict(self) -> dict:
        return {"season": self.season, "index": [float(v) for v in self.index]}
