"""The walk-forward protocol: windows, scaling fitted on training data only, rolling refits.

Notation: prices ``p[0..N-1]``; an *origin* ``t`` is the last step the forecaster has seen. The
window at origin t holds the inputs of steps t-W+1 .. t and its target is h steps ahead:

    target "returns":  inputs r[t-W+1..t], targets r[t+1..t+h],  r[s] = log p[s] - log p[s-1]
                       forecast price  p[t] * exp(r_hat[t+1] + ... + r_hat[t+h])
    target "price":    inputs p[t-W+1..t], targets p[t+1..t+h];  forecast price  p_hat[t+h]

Seasonal series (season length m > 1): the model sees the seasonally adjusted series
``a[s] = p[s] exp(-S[s mod m])``, where ``S`` is the seasonal index of ``log p`` (classical
decomposition: ``log p`` minus its centred moving average over one season, averaged by season
position over the last six seasons and centred to sum 0), and its forecast of ``a[t+h]`` is
multiplied back by ``exp(S[(t+h) mod m])``. The index is fitted on the values up to the cutoff for
training, and again on the values up to each origin for that origin's forecast (as a smoothing
method updates its seasonal states). So the untrained model forecasts ``p[t] exp(S[t+h] - S[t])``:
naive on the adjusted series.

No leakage: a model fitted at cutoff c uses only windows whose last target step is <= c
(t + h <= c), and its scaler and seasonal index are fitted on the values up to c. Returns are
scaled by their training spread without centring, so an output of 0 means "no change": an
untrained or uninformative model forecasts the last price (naive) rather than a drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..backend import from_host, get_namespace, to_numpy
from ..errors import CheckpointError, DataError
from ..io import load_checkpoint
from ..nn.model import Model
from ..train import History, train
from .baselines import detect_season
from .config import ForecastConfig


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


TEST_SHARE = 4  # automatic test span: a quarter of the rows ...
MAX_TEST = 250  # ... and at most this many points
STEP_BUDGET = 1500  # automatic epochs: about this many optimizer steps per fit
MIN_EPOCHS = 30
MAX_EPOCHS = 400
SEASON_CYCLES = 6  # the seasonal index is estimated from the last six seasons: a season whose shape drifts is followed
MIN_VAL_WINDOWS = 40  # automatic validation block: 10% of the windows, but at least this many ...
MAX_VAL_SHARE = 3  # ... and at most a third of them


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


def model_inputs(prices: np.ndarray, target: str) -> np.ndarray:
    """The series the model sees, aligned with ``prices``: log-returns (index 0 undefined) or prices."""
    if target == "returns":
        r = np.full(len(prices), np.nan)
        r[1:] = np.diff(np.log(prices))
        return r
    return prices.astype(float)


def automatic_window(season: int) -> int:
    """30 steps without a season; two seasons, between 8 and 60 steps, with one."""
    return 30 if season < 2 else min(max(2 * season, 8), 60)


def adapt_to_series(config: ForecastConfig, rows: int, season: int) -> tuple[ForecastConfig, list[str]]:
    """``config`` with every automatic (None) setting chosen for a series of ``rows`` values and
    season length ``season``, and one note per choice saying what was chosen and why.

    - test span: a quarter of the rows, at most 250 points;
    - window: 30 steps without a season, two seasons (8 to 60 steps) with one;
    - validation block: 10% of the training windows, at least 40 (at most a third of them);
    - epochs: about 1,500 optimizer steps per fit (30 to 400 epochs), early-stopping patience
      scaled by the same factor as the epochs.
    """
    notes = []
    changes: dict = {"season": season}
    if config.test_size is None:
        changes["test_size"] = max(1, min(MAX_TEST, rows // TEST_SHARE))
        notes.append(f"test span {changes['test_size']} points: a quarter of the {rows} rows, at most {MAX_TEST} (--test-size to change)")
    if config.window is None:
        changes["window"] = automatic_window(season)
        why = "no season" if season < 2 else f"two seasons of {season}"
        notes.append(f"window {changes['window']} steps: {why} (--window to change)")
    adapted = replace(config, **changes)
    if config.val_fraction is None or config.epochs is None:
        cutoff = int(walk_forward_origins(rows, adapted)[0])
        windows_known = len(training_origins(cutoff, adapted))
        if config.val_fraction is None:
            n_val = max(int(0.1 * windows_known), min(MIN_VAL_WINDOWS, windows_known // MAX_VAL_SHARE))
            adapted = replace(adapted, val_fraction=min(n_val / max(windows_known, 1), 0.49))
            notes.append(f"validation block {n_val} of the {windows_known} windows of the first fit: 10%, at least {MIN_VAL_WINDOWS}, "
                         f"at most a third (the trained model is kept only if it beats its untrained version on them, one-sided p < 0.05)")
        if config.epochs is None:
            n_train = windows_known - int(windows_known * adapted.val_fraction + 1e-9)
            steps_per_epoch = max(1, math.ceil(n_train / config.batch_size))
            epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEP_BUDGET / steps_per_epoch)))
            patience = None if config.patience is None else max(config.patience, round(config.patience * epochs / MIN_EPOCHS))
            adapted = replace(adapted, epochs=epochs, patience=patience)
            each = "1 step" if steps_per_epoch == 1 else f"{steps_per_epoch} steps"
            notes.append(f"{epochs} epochs at most ({each} each, about {STEP_BUDGET} optimizer steps), patience {patience}")
    return adapted, notes


def resolved(config: ForecastConfig, rows: int) -> ForecastConfig:
    """``config`` with its automatic settings chosen for ``rows`` values (no dates: no season unless
    given); ``run_forecast`` does this itself, with the dates, and reports the choices."""
    if None in (config.season, config.window, config.test_size, config.val_fraction, config.epochs):
        config, _ = adapt_to_series(config, rows, config.season or 1)
    return config


def choose_season(config: ForecastConfig, dates, prices: np.ndarray) -> tuple[int, str]:
    """The season length: ``config.season`` when given, else the calendar's when the values up to
    the first test origin confirm it (``baselines.detect_season``); and why, in words."""
    if config.season is not None:
        return config.season, f"season {config.season} (given)"
    if dates is None:
        return 1, "no dates to tell the season: none used"
    n = len(prices)
    test = config.test_size if config.test_size is not None else min(MAX_TEST, n // TEST_SHARE)
    test = int(round(test * n)) if test < 1 else int(test)
    seen = max(n - config.horizon - test + 1, 2)  # values up to the first test origin
    return detect_season(dates[:seen], prices[:seen])


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
    if config.window is None or config.test_size is None:
        config = resolved(config, n)
    last = n - 1 - config.horizon
    usable = last - first_origin(config) + 1
    count = int(round(config.test_size * usable)) if config.test_size < 1 else int(config.test_size)
    needed = minimum_rows(config, count)
    if count < 1 or n < needed:
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


@dataclass
class Fit:
    """One (re)fit of the walk-forward: its cutoff, scaler and training history."""

    cutoff: int  # last step whose value the fit could see
    scaler: Scaler
    history: History
    train_windows: int
    model: Model = field(repr=False)
    seasonal: SeasonalIndex = field(default_factory=lambda: SeasonalIndex(1, np.zeros(1)))  # none unless fitted with a season


def fit_at_cutoff(prices: np.ndarray, cutoff: int, config: ForecastConfig, quiet: bool = True,
                  checkpoint: Path | None = None, resume: bool = False) -> Fit:
    """Fit a fresh model on everything known at ``cutoff`` (windows with t + h <= cutoff).

    With ``checkpoint``, the training state is saved there after every epoch (and on Ctrl-C or
    divergence); ``resume=True`` continues from it, or reuses it when that fit had finished.
    """
    config = resolved(config, len(prices))
    seasonal = SeasonalIndex.fit(prices, cutoff, config.season if config.deseasonalise else 1)
    series = model_inputs(seasonal.remove(prices), config.target)
    known = series[(1 if config.target == "returns" else 0) : cutoff + 1]  # r[0] does not exist
    scaler = Scaler.fit(known, center=config.target == "price")
    z = scaler.transform(series)
    origins = training_origins(cutoff, config)
    if len(origins) < 4:
        raise DataError(f"only {len(origins)} training windows before the first test point; use a longer history or a smaller --test-size")
    X, Y = windows(z, origins, config.window, config.horizon)
    n_val = int(len(origins) * config.val_fraction + 1e-9)  # a fraction k / n set by adapt_to_series gives back k
    xp = get_namespace(config.backend)
    dtype = getattr(xp, config.dtype)

    def put(a):
        return from_host(a, xp, dtype=dtype)

    model = Model.create(config.model_config(1), seed=config.seed, xp=xp, dtype=config.dtype)
    tc = config.train_config(quiet=quiet)
    meta = {"forecast": config.to_dict(), "scaling": scaler.to_dict(), "seasonal": seasonal.to_dict(), "cutoff": int(cutoff)}
    if resume and checkpoint is not None and Path(checkpoint).exists():
        _check_resumable(checkpoint, meta)
    saving = {"checkpoint": checkpoint, "resume": resume, "checkpoint_meta": meta}
    if n_val >= 1:
        history = train(model, put(X[:-n_val]), put(Y[:-n_val]), put(X[-n_val:]), put(Y[-n_val:]), tc, **saving)
    else:
        history = train(model, put(X), put(Y), config=tc, **saving)
    return Fit(cutoff=cutoff, scaler=scaler, history=history, train_windows=len(origins) - n_val, model=model, seasonal=seasonal)


def _check_resumable(checkpoint: Path, meta: dict) -> None:
    """Refuse to continue a run whose settings or data differ from this one's."""
    _, saved = load_checkpoint(checkpoint)
    differences = [f"{key} {saved.get('forecast', {}).get(key)!r} then, {value!r} now"
                   for key, value in meta["forecast"].items() if saved.get("forecast", {}).get(key) != value]
    if any(saved.get(key) != meta[key] for key in ("scaling", "seasonal", "cutoff")):
        differences.append("the data up to the cutoff differ")
    if differences:
        raise CheckpointError(f"{checkpoint} is from a run with other settings or data ({'; '.join(differences)}); "
                              "run without --resume to start afresh, or use another --out")


def forecast_prices(model: Model, scaler: Scaler, prices: np.ndarray, origins: np.ndarray, config: ForecastConfig,
                    season: int = 1) -> np.ndarray:
    """Price forecasts for ``p[t + h]`` at each origin ``t`` from a fitted model and its scaler.

    With a season (m > 1: the model was fitted on the adjusted series), the seasonal index is
    estimated again at each origin from ``p[0..t]`` alone, as a smoothing method updates its
    seasonal states between refits, the window is adjusted by it, and the forecast of the adjusted
    value is multiplied back by ``exp(S_t[(t+h) mod m])``.
    """
    config = resolved(config, len(prices))
    if season > 1:
        out = np.empty(len(origins))
        for k, t in enumerate(origins):
            S = SeasonalIndex.fit(prices, int(t), season)
            out[k] = S.factor(t + config.horizon) * forecast_prices(model, scaler, S.remove(prices[: t + 1]), np.array([t]), config)[0]
        return out
    X = input_windows(scaler.transform(model_inputs(prices, config.target)), origins, config.window)
    xp = get_namespace(config.backend)
    out = to_numpy(model.predict(from_host(X, xp, dtype=getattr(xp, config.dtype)))).astype(float)  # (M, h)
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
    config = resolved(config, len(prices))
    origins = walk_forward_origins(len(prices), config)
    block = config.refit_every or len(origins)
    starts = list(range(0, len(origins), block))
    forecasts = np.empty(len(origins))
    fits = []
    for k, start in enumerate(starts):
        chunk = origins[start : start + block]
        path = None if checkpoint_dir is None else Path(checkpoint_dir) / f"fit-{config.seed}-{k}.npz"
        fit = fit_at_cutoff(prices, int(chunk[0]), config, quiet=quiet, checkpoint=path, resume=resume)
        forecasts[start : start + block] = forecast_prices(fit.model, fit.scaler, prices, chunk, config, fit.seasonal.season)
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
