"""The walk-forward protocol: windows, scaling fitted on training data only, rolling refits.

Notation: prices ``p[0..N-1]``; an *origin* ``t`` is the last step the forecaster has seen. The
window at origin t holds the inputs of steps t-W+1 .. t and its target is h steps ahead:

    target "returns":  inputs r[t-W+1..t], targets r[t+1..t+h],  r[s] = log p[s] - log p[s-1]
                       forecast price  p[t] * exp(r_hat[t+1] + ... + r_hat[t+h])
    target "price":    inputs p[t-W+1..t], targets p[t+1..t+h];  forecast price  p_hat[t+h]

No leakage: a model fitted at cutoff c uses only windows whose last target step is <= c
(t + h <= c), and its scaler is fitted on the values up to c. Returns are scaled by their training
spread without centring, so an output of 0 means "no change": an untrained or uninformative model
forecasts the last price (naive) rather than a drift.

**A default that does no harm.** With the returns target the untrained model is exactly naive, and
a fit keeps its trained weights only if they beat the untrained ones significantly on the
validation block (``improvement_p_value``, one-sided, at 5%); otherwise it reverts to them
(``keep_or_revert``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..backend import Array, from_host, get_namespace, to_numpy
from ..checkpoint import read_checkpoint
from ..errors import CheckpointError, DataError
from ..losses import pointwise_loss
from ..nn.model import Model
from ..train import History, train
from .config import ForecastConfig

SIGNIFICANCE = 0.05  # the keep-or-revert test's level


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


def model_inputs(prices: np.ndarray, target: str) -> np.ndarray:
    """The series the model sees, aligned with ``prices``: log-returns (index 0 undefined) or prices."""
    if target == "returns":
        r = np.full(len(prices), np.nan)
        r[1:] = np.diff(np.log(prices))
        return r
    return prices.astype(float)


def first_origin(config: ForecastConfig) -> int:
    """Smallest origin with a complete window (returns need p[t-W] for r[t-W+1])."""
    return config.window if config.target == "returns" else config.window - 1


def input_windows(series: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """``X (M, W, 1)``: the ``window`` values ending at each origin."""
    return series[origins[:, None] + np.arange(-window + 1, 1)[None, :]][:, :, None]


def windows(series: np.ndarray, origins: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """``X (M, W, 1)`` inputs ending at each origin and ``Y (M, h)`` the next ``h`` values."""
    Y = series[origins[:, None] + np.arange(1, horizon + 1)[None, :]]  # (M, h)
    return input_windows(series, origins, window), Y


def minimum_rows(config: ForecastConfig, test_points: int = 1) -> int:
    """Rows needed for one training window of each kind plus ``test_points`` test points."""
    return first_origin(config) + config.horizon + 2 * max(2, config.batch_size // 8) + test_points + 1


def walk_forward_origins(n: int, config: ForecastConfig) -> np.ndarray:
    """Origins of the walk-forward test points: the last ones whose target exists."""
    last = n - 1 - config.horizon
    usable = last - first_origin(config) + 1
    count = int(round(config.test_size * usable)) if config.test_size < 1 else int(config.test_size)
    needed = minimum_rows(config, count)
    if count < 1 or n < needed:
        raise DataError(
            f"window {config.window} + horizon {config.horizon} with {count} test points needs at least {needed} rows, "
            f"the series has {n}; use a longer history, a smaller --window or a smaller --test-size"
        )
    return np.arange(last - count + 1, last + 1)


def training_origins(cutoff: int, config: ForecastConfig) -> np.ndarray:
    """Origins of the windows a fit at ``cutoff`` may use: complete windows whose last target step
    ``t + h`` is at or before the cutoff."""
    return np.arange(first_origin(config), cutoff - config.horizon + 1)


@dataclass
class Fit:
    """One (re)fit of the walk-forward: its cutoff, scaler, training history and what it kept."""

    cutoff: int  # last step whose value the fit could see
    scaler: Scaler
    history: History
    train_windows: int
    model: Model = field(repr=False)
    kept_untrained: bool = False  # reverted to the untrained weights (the naive forecast, for returns)
    p_value: float | None = None  # of the keep-or-revert test, when it ran
    untrained_val_loss: float | None = None  # the untrained weights' validation loss, when the test ran

    @property
    def kept_epoch(self) -> int:
        """The 1-based epoch whose weights were kept, or 0 for the untrained weights."""
        return 0 if self.kept_untrained else self.history.best_epoch + 1

    @property
    def outcome(self) -> str:
        """How training ended and what was kept, in words."""
        if self.p_value is None:
            return self.history.stop_reason
        if self.kept_untrained:
            return (f"{self.history.stop_reason}; kept the untrained weights: training did not beat them significantly "
                    f"on validation (one-sided paired test p = {self.p_value:.3g})")
        return f"{self.history.stop_reason}; kept epoch {self.kept_epoch} (beat the untrained weights on validation, p = {self.p_value:.3g})"


def validation_losses(model: Model, X_val: Array, y_val: Array, loss: str, engine: str) -> np.ndarray:
    """The loss of every validation window (averaged over its horizon), as a host array."""
    values = to_numpy(pointwise_loss(loss, model.predict(X_val, engine=engine), y_val)).astype(float)
    return values.reshape(values.shape[0], -1).mean(axis=1)


def improvement_p_value(trained: np.ndarray, untrained: np.ndarray) -> float:
    """One-sided p-value that the trained model's per-window validation losses are lower than the untrained one's.

    A paired test on the differences d_i = loss_trained,i - loss_untrained,i:
    z = mean(d) / (std(d) / sqrt(n)), p = P(Z <= z). (Windows are treated as independent.)
    """
    d = trained - untrained
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else 0.0
    if sd == 0.0:
        return 0.0 if float(np.mean(d)) < 0 else 1.0
    z = float(np.mean(d)) / (sd / math.sqrt(len(d)))
    return 0.5 * math.erfc(-z / math.sqrt(2))


def fit_at_cutoff(prices: np.ndarray, cutoff: int, config: ForecastConfig, quiet: bool = True,
                  checkpoint: Path | None = None, resume: bool = False) -> Fit:
    """Fit a fresh model on everything known at ``cutoff`` (windows with t + h <= cutoff).

    With ``checkpoint``, the training state is saved there after every epoch (and on Ctrl-C or
    divergence); ``resume=True`` continues from it, or reuses it when that fit had finished. With the
    returns target and a validation block, the fit then keeps its trained weights only if they beat
    the untrained ones significantly (``improvement_p_value``); the untrained weights are the same
    draw from the seed, so a resumed run judges against exactly the same model.
    """
    series = model_inputs(prices, config.target)
    known = series[(1 if config.target == "returns" else 0) : cutoff + 1]  # r[0] does not exist
    scaler = Scaler.fit(known, center=config.target == "price")
    z = scaler.transform(series)
    origins = training_origins(cutoff, config)
    if len(origins) < 4:
        raise DataError(f"only {len(origins)} training windows before the first test point; use a longer history or a smaller --test-size")
    X, Y = windows(z, origins, config.window, config.horizon)
    n_val = int(len(origins) * config.val_fraction)
    xp = get_namespace(config.backend)
    dtype = getattr(xp, config.dtype)

    def put(a):
        return from_host(a, xp, dtype=dtype)

    def fresh() -> Model:
        return Model.create(config.model_config(1), seed=config.seed, xp=xp, dtype=config.dtype)

    model = fresh()
    tc = config.train_config(quiet=quiet)
    meta = {"forecast": config.to_dict(), "scaling": scaler.to_dict(), "cutoff": int(cutoff)}
    if resume and checkpoint is not None and Path(checkpoint).exists():
        _check_resumable(checkpoint, meta)
    saving = {"checkpoint": checkpoint, "resume": resume, "checkpoint_meta": meta}
    if n_val < 1:
        history = train(model, put(X), put(Y), config=tc, **saving)
        return Fit(cutoff=cutoff, scaler=scaler, history=history, train_windows=len(origins), model=model)
    X_val, Y_val = put(X[-n_val:]), put(Y[-n_val:])
    history = train(model, put(X[:-n_val]), put(Y[:-n_val]), X_val, Y_val, tc, **saving)
    fit = Fit(cutoff=cutoff, scaler=scaler, history=history, train_windows=len(origins) - n_val, model=model)
    if config.target == "returns":
        keep_or_revert(fit, fresh(), X_val, Y_val, config)
    return fit


def keep_or_revert(fit: Fit, untrained: Model, X_val: Array, y_val: Array, config: ForecastConfig) -> None:
    """Revert ``fit`` to the ``untrained`` weights unless training beat them significantly on validation."""
    before = validation_losses(untrained, X_val, y_val, config.loss, config.engine)
    after = validation_losses(fit.model, X_val, y_val, config.loss, config.engine)
    fit.p_value, fit.untrained_val_loss = improvement_p_value(after, before), float(np.mean(before))
    if not fit.p_value < SIGNIFICANCE:
        fit.model = untrained
        fit.kept_untrained = True


def _check_resumable(checkpoint: Path, meta: dict) -> None:
    """Refuse to continue a run whose settings or data differ from this one's."""
    _, saved = read_checkpoint(checkpoint)
    differences = [f"{key} {saved.get('forecast', {}).get(key)!r} then, {value!r} now"
                   for key, value in meta["forecast"].items() if saved.get("forecast", {}).get(key) != value]
    if saved.get("scaling") != meta["scaling"] or saved.get("cutoff") != meta["cutoff"]:
        differences.append("the data up to the cutoff differ")
    if differences:
        raise CheckpointError(f"{checkpoint} is from a run with other settings or data ({'; '.join(differences)}); "
                              "run without --resume to start afresh, or use another --out")


def forecast_prices(model: Model, scaler: Scaler, prices: np.ndarray, origins: np.ndarray, config: ForecastConfig) -> np.ndarray:
    """Price forecasts for ``p[t + h]`` at each origin ``t`` from a fitted model and its scaler."""
    X = input_windows(scaler.transform(model_inputs(prices, config.target)), origins, config.window)
    xp = get_namespace(config.backend)
    out = to_numpy(model.predict(from_host(X, xp, dtype=model.dtype), engine=config.engine)).astype(float)  # (M, h)
    out = scaler.inverse(out)
    if config.target == "returns":
        return prices[origins] * np.exp(out.sum(axis=1))
    return out[:, -1]


def walk_forward(prices: np.ndarray, config: ForecastConfig, *, quiet: bool = True,
                 on_fit: Callable[[int, int, Fit], None] | None = None,
                 checkpoint_dir: Path | None = None, resume: bool = False) -> tuple[np.ndarray, np.ndarray, list[Fit]]:
    """Rolling-origin backtest: ``(origins, model forecasts of p[t+h], fits)``.

    The model is refitted at the first test origin and every ``refit_every`` origins after it, each
    time on all windows known at that origin. ``on_fit(k, n_fits, fit)`` reports progress. With
    ``checkpoint_dir``, fit k keeps its training state in ``fit-{seed}-{k}.npz`` there, so an
    interrupted backtest continues with ``resume=True``: finished fits are reused, the interrupted
    one continues from its last epoch, and the result is the same as an uninterrupted run.
    """
    prices = np.asarray(prices, dtype=float)
    if np.all(prices == prices[0]):
        raise DataError(f"the price never changes (every row is {prices[0]:g}): there is nothing to forecast; check the price column")
    origins = walk_forward_origins(len(prices), config)
    block = config.refit_every or len(origins)
    starts = list(range(0, len(origins), block))
    forecasts = np.empty(len(origins))
    fits = []
    for k, start in enumerate(starts):
        chunk = origins[start : start + block]
        path = None if checkpoint_dir is None else Path(checkpoint_dir) / f"fit-{config.seed}-{k}.npz"
        fit = fit_at_cutoff(prices, int(chunk[0]), config, quiet=quiet, checkpoint=path, resume=resume)
        forecasts[start : start + block] = forecast_prices(fit.model, fit.scaler, prices, chunk, config)
        fits.append(fit)
        if on_fit is not None:
            on_fit(k, len(starts), fit)
    if not np.all(np.isfinite(forecasts)):
        raise DataError("the model produced non-finite forecasts; try --target returns or a smaller learning rate")
    return origins, forecasts, fits


def naive_scale(prices: np.ndarray, end: int, horizon: int) -> float:
    """Mean |p[s+h] - p[s]| over the training span (the MASE denominator)."""
    seen = prices[: end + 1]
    diffs = np.abs(seen[horizon:] - seen[:-horizon])
    return float(np.mean(diffs)) if len(diffs) else math.nan
