"""The smoothed level of a seasonally adjusted series: where a seasonal forecast starts from.

On the log of the adjusted series, ``x[s] = log a[s]``, simple exponential smoothing keeps a level

    l[0] = x[0],   l[s] = l[s-1] + alpha (x[s] - l[s-1])

and its one-step errors ``e[s] = x[s] - l[s-1]`` are what the model sees and predicts: the forecast of
``x[t+1]`` is ``l[t] + e_hat[t+1]``. ``alpha`` is chosen from ``ALPHAS`` (0.05, 0.10, ..., 1) by the
least sum of squared one-step errors on the values given (those up to a cutoff or an origin, so it
leaks nothing). With ``alpha = 1`` the level is the last value and the errors are the log-returns:
the forecast starts from the last value, as on a series without a season.

*Why.* The adjusted series of a seasonal series is a level plus an irregular part (the weather, a
strike, a holiday that moved): its last value is that level with the last step's noise on top, and
exponential smoothing's level is the better place to start. An untrained model (output 0) then
forecasts ``exp(l[t])``: the smoothed level, moved by the seasonal index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHAS = np.round(np.arange(1, 21) * 0.05, 2)  # (20,): 0.05, 0.10, ..., 1.0; 1 keeps the last value


@dataclass(frozen=True)
class SmoothedLevel:
    """Simple exponential smoothing of a log series with smoothing constant ``alpha``."""

    alpha: float = 1.0

    @classmethod
    def fit(cls, x: np.ndarray) -> "SmoothedLevel":
        """The ``alpha`` of ``ALPHAS`` with the least sum of squared one-step errors on ``x`` (the first
        one on a tie, so a flat series keeps 0.05)."""
        x = np.asarray(x, dtype=float)
        if len(x) < 3:
            return cls(1.0)
        level = np.full(len(ALPHAS), x[0])  # (A,): every candidate's level, run side by side
        sse = np.zeros(len(ALPHAS))
        for value in x[1:]:
            error = value - level
            sse += error * error
            level = level + ALPHAS * error
        return cls(float(ALPHAS[int(np.argmin(sse))]))

    def levels(self, x: np.ndarray) -> np.ndarray:
        """``l (n,)``: the level after each value of ``x (n,)``; ``x`` itself when ``alpha = 1``."""
        x = np.asarray(x, dtype=float)
        if self.alpha == 1.0 or len(x) == 0:
            return x
        out = np.empty(len(x))
        level = out[0] = x[0]
        for s in range(1, len(x)):
            level = out[s] = level + self.alpha * (x[s] - level)
        return out

    def errors(self, x: np.ndarray) -> np.ndarray:
        """``e (n,)``: ``e[s] = x[s] - l[s-1]``, ``e[0]`` undefined (NaN); the differences of ``x`` when ``alpha = 1``."""
        x = np.asarray(x, dtype=float)
        e = np.full(len(x), np.nan)
        e[1:] = x[1:] - self.levels(x)[:-1]
        return e

    def start(self, prices: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """Where a forecast from each origin ``t`` starts: ``exp(l[t])`` on ``log prices``; ``p[t]`` itself when ``alpha = 1``."""
        if self.alpha == 1.0:
            return np.asarray(prices, dtype=float)[origins]
        return np.exp(self.levels(np.log(prices))[origins])

    def to_dict(self) -> dict:
        return {"alpha": self.alpha}
