"""Windows and origins: which steps a model sees, which it predicts, and where the test points are.

Notation: prices ``p[0..N-1]``; an *origin* ``t`` is the last step the forecaster has seen. The
window at origin t holds the inputs of steps t-W+1 .. t and its target is h steps ahead:

    target "returns":  inputs r[t-W+1..t], targets r[t+1..t+h],  r[s] = log p[s] - log p[s-1]
                       (from a smoothed level l, ``level.py``: r[s] = log p[s] - l[s-1], and targets
                       r[t+1], then the log-returns of steps t+2..t+h, so that they sum to log p[t+h] - l[t])
    target "price":    inputs p[t-W+1..t], targets p[t+1..t+h]

A fit at cutoff c may use only windows whose last target step is at or before c (t + h <= c).
Every function here takes a configuration whose automatic settings are already chosen
(``automatic.resolved``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .config import ForecastConfig
from .level import SmoothedLevel


@dataclass
class Scaler:
    """``z = (v - center) / scale``, fitted on training values only."""

    center: float
    scale: float

    @classmethod
    def fit(cls, values: np.ndarray, center: bool) -> "Scaler":
        spread = float(np.std(values))
        return cls(float(np.mean(values)) if center else 0.0, spread if spread > 0 else 1.0)

    def transform(self, v: np.ndarray) -> np.ndarray:
        return (v - self.center) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.scale + self.center

    def to_dict(self) -> dict[str, float]:
        return {"center": self.center, "scale": self.scale}


def model_inputs(prices: np.ndarray, target: str, level: SmoothedLevel = SmoothedLevel()) -> np.ndarray:
    """The series the model sees, aligned with ``prices``: log-returns (index 0 undefined), or the one-step
    errors of ``level`` on ``log p`` (its ``alpha`` below 1), or prices."""
    if target == "returns":
        return level.errors(np.log(prices))
    return prices.astype(float)


def first_origin(config: ForecastConfig) -> int:
    """Smallest origin with a complete window (returns need p[t-W] for r[t-W+1])."""
    return config.window if config.target == "returns" else config.window - 1


def input_windows(series: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """``X (M, W, 1)``: the ``window`` values ending at each origin."""
    return series[origins[:, None] + np.arange(-window + 1, 1)[None, :]][:, :, None]


def windows(series: np.ndarray, origins: np.ndarray, window: int, horizon: int,
            later: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``X (M, W, 1)`` inputs ending at each origin and ``Y (M, h)`` the next ``h`` values; steps 2..h
    from ``later`` when given (the log-returns that follow a smoothed level's one-step error)."""
    steps = origins[:, None] + np.arange(1, horizon + 1)[None, :]  # (M, h)
    Y = series[steps]
    if later is not None and horizon > 1:
        Y[:, 1:] = later[steps[:, 1:]]
    return input_windows(series, origins, window), Y


def minimum_rows(config: ForecastConfig, test_points: int = 1) -> int:
    """Rows needed for one training window of each kind plus ``test_points`` test points."""
    return first_origin(config) + config.horizon + 2 * max(2, config.batch_size // 8) + test_points + 1


def walk_forward_origins(n: int, config: ForecastConfig) -> np.ndarray:
    """Origins of the walk-forward test points: the last ones whose target exists."""
    last = n - 1 - config.horizon
    usable = last - first_origin(config) + 1
    count = int(round(config.test_size * usable)) if config.test_size < 1 else int(config.test_size)
    if count < 1:  # a fraction too small for this series: the general message below would suggest a smaller test span
        raise DataError(f"--test-size {config.test_size:g} is 0 of the {usable} usable points; give a larger fraction or a count")
    needed = minimum_rows(config, count)
    if n < needed:
        raise DataError(f"window {config.window} + horizon {config.horizon} with {count} test points needs at least {needed} rows, "
                        f"the series has {n}; {settings_that_fit(n, config, count)}")
    return np.arange(last - count + 1, last + 1)


def settings_that_fit(n: int, config: ForecastConfig, count: int) -> str:
    """The largest ``--test-size`` (with this window) and ``--window`` (with this test span) that
    ``n`` rows allow, in words; or that none does."""
    fixed = minimum_rows(config, 0)  # rows needed besides the test points
    options = []
    if n - fixed >= 1:
        options.append(f"--test-size {n - fixed} or less with window {config.window}")
    if n - (fixed - config.window) - max(count, 1) >= 1 and config.window > 1:
        largest = min(config.window - 1, n - (fixed - config.window) - max(count, 1))
        options.append(f"--window {largest} or less with {max(count, 1)} test points")
    if not options:
        return "no window and test span fit: use a longer history"
    return "use " + ", or ".join(options)


def training_origins(cutoff: int, config: ForecastConfig) -> np.ndarray:
    """Origins of the windows a fit at ``cutoff`` may use: complete windows whose last target step
    ``t + h`` is at or before the cutoff."""
    return np.arange(first_origin(config), cutoff - config.horizon + 1)
