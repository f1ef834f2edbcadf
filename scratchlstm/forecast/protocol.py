"""The walk-forward protocol: fits at rolling cutoffs, their forecasts, and what each fit keeps.

At each origin t (``windows.py``) the forecast of the price h steps ahead is

    target "returns":  p[t] * exp(r_hat[t+1] + ... + r_hat[t+h])   (exp(l[t] + ...) from a smoothed level)
    target "price":    p_hat[t+h]

Seasonal series (season length m > 1): the model sees the seasonally adjusted series
``a[s] = p[s] exp(-S[s mod m])``, where ``S`` is the seasonal index of ``log p`` (classical
decomposition: ``log p`` minus its centred moving average over one season, averaged by season
position over the last six seasons and centred to sum 0), and its forecast of ``a[t+h]`` is
multiplied back by ``exp(S[(t+h) mod m])``. The index is fitted on the values up to the cutoff for
training, and again on the values up to each origin for that origin's forecast (as a smoothing
method updates its seasonal states). The forecast starts from the adjusted series' exponentially
smoothed level ``l[t]`` (``level.py``; its constant chosen on the values up to the cutoff, or the
origin, likewise), and the model sees and predicts that level's one-step errors
``e[s] = log a[s] - l[s-1]``. So the untrained model forecasts ``exp(l[t] + S[t+h])``, the
``smoothed_level`` baseline; with ``smooth_level=False`` it forecasts ``p[t] exp(S[t+h] - S[t])``,
naive on the adjusted series.

No leakage: a model fitted at cutoff c uses only windows whose last target step is <= c
(t + h <= c), and its scaler, seasonal index and smoothed level are fitted on the values up to c.
Returns are scaled by their training spread without centring, so an output of 0 means "no change":
an untrained or uninformative model forecasts the last price (naive; with a season the smoothed
level moved by the index) rather than a drift.

**A default that does no harm.** With the returns target the untrained model is exactly naive (on a
series without a season), and
a fit keeps its trained weights only if they beat the untrained ones significantly on the
validation block (``improvement_p_value``, one-sided, at 5%); otherwise it reverts to them
(``keep_or_revert``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from ..backend import Array, from_host, get_namespace, to_numpy
from ..checkpoint import read_checkpoint
from ..errors import CheckpointError, DataError
from ..losses import pointwise_loss
from ..nn.model import Model
from ..train import History, train
from .automatic import resolved
from .config import ForecastConfig
from .evaluate import p_text
from .executors import map_tasks
from .level import SmoothedLevel
from .seasonal import SeasonalIndex
from .windows import Scaler, input_windows, model_inputs, training_origins, walk_forward_origins, windows

SIGNIFICANCE = 0.05  # the keep-or-revert test's level


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
    seasonal: SeasonalIndex = field(default_factory=lambda: SeasonalIndex(1, np.zeros(1)))  # none unless fitted with a season
    level: SmoothedLevel = SmoothedLevel()  # the adjusted series' smoothed level at the cutoff (alpha 1: its last value)

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
                    f"on validation (one-sided paired test p = {p_text(self.p_value)})")
        return f"{self.history.stop_reason}; kept epoch {self.kept_epoch} (beat the untrained weights on validation, p = {p_text(self.p_value)})"


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
    config = resolved(config, len(prices))
    seasonal, level, scaler, origins, X, Y = training_windows(prices, cutoff, config)
    if len(origins) < 4:
        raise DataError(f"only {len(origins)} training windows before the first test point; use a longer history or a smaller --test-size")
    n_val = validation_size(len(origins), config)
    xp = get_namespace(config.backend)
    dtype = getattr(xp, config.dtype)

    def put(a):
        return from_host(a, xp, dtype=dtype)

    def fresh() -> Model:
        return Model.create(config.model_config(1), seed=config.seed, xp=xp, dtype=config.dtype)

    model = fresh()
    tc = config.train_config(quiet=quiet)
    meta = {"forecast": config.to_dict(), "scaling": scaler.to_dict(), "seasonal": seasonal.to_dict(), "cutoff": int(cutoff),
            "prices_sha256": prices_fingerprint(prices[: cutoff + 1])}
    if resume and checkpoint is not None and Path(checkpoint).exists():
        _check_resumable(checkpoint, meta)
    saving = {"checkpoint": checkpoint, "resume": resume, "checkpoint_meta": meta}
    if n_val < 1:
        history = train(model, put(X), put(Y), config=tc, **saving)
        return Fit(cutoff=cutoff, scaler=scaler, history=history, train_windows=len(origins), model=model, seasonal=seasonal,
                   level=level)
    X_val, Y_val = put(X[-n_val:]), put(Y[-n_val:])
    history = train(model, put(X[:-n_val]), put(Y[:-n_val]), X_val, Y_val, tc, **saving)
    fit = Fit(cutoff=cutoff, scaler=scaler, history=history, train_windows=len(origins) - n_val, model=model, seasonal=seasonal,
              level=level)
    if config.target == "returns":
        keep_or_revert(fit, fresh(), X_val, Y_val, config)
    return fit


def training_windows(prices: np.ndarray, cutoff: int, config: ForecastConfig):
    """What a fit at ``cutoff`` learns from, fitted on ``p[0..cutoff]`` alone: the seasonal index, the
    adjusted series' smoothed level, the scaler, and the windows ``X (M, W, 1)``, ``Y (M, h)`` at
    ``origins (M,)``. ``config``'s automatic settings must be chosen."""
    seasonal = SeasonalIndex.fit(prices, cutoff, config.season if config.deseasonalise else 1)
    adjusted = seasonal.remove(prices)
    level = level_at(adjusted[: cutoff + 1], config, seasonal.season)
    series = model_inputs(adjusted, config.target, level)
    known = series[(1 if config.target == "returns" else 0) : cutoff + 1]  # r[0] does not exist
    scaler = Scaler.fit(known, center=config.target == "price")
    origins = training_origins(cutoff, config)
    X, Y = windows(scaler.transform(series), origins, config.window, config.horizon, later_steps(adjusted, scaler, config, level))
    return seasonal, level, scaler, origins, X, Y


def validation_size(n_windows: int, config: ForecastConfig) -> int:
    """How many of a fit's ``n_windows`` training windows (the last ones) form its validation block."""
    return int(n_windows * config.val_fraction + 1e-9)  # a fraction k / n set by adapt_to_series gives back k


def validation_origins(cutoff: int, config: ForecastConfig) -> np.ndarray:
    """The origins of the validation windows of a fit at ``cutoff`` (empty without a validation block):
    their targets are all at or before the cutoff. ``config``'s automatic settings must be chosen."""
    origins = training_origins(cutoff, config)
    n_val = validation_size(len(origins), config)
    return origins[len(origins) - n_val :] if n_val >= 1 else origins[:0]


def keep_or_revert(fit: Fit, untrained: Model, X_val: Array, y_val: Array, config: ForecastConfig) -> None:
    """Revert ``fit`` to the ``untrained`` weights unless training beat them significantly on validation."""
    before = validation_losses(untrained, X_val, y_val, config.loss, config.engine)
    after = validation_losses(fit.model, X_val, y_val, config.loss, config.engine)
    fit.p_value, fit.untrained_val_loss = improvement_p_value(after, before), float(np.mean(before))
    if not fit.p_value < SIGNIFICANCE:
        fit.model = untrained
        fit.kept_untrained = True


def prices_fingerprint(prices: np.ndarray) -> str:
    """SHA-256 of the prices as float64: what a fit was trained on, for ``--resume`` to compare."""
    return hashlib.sha256(np.ascontiguousarray(prices, dtype=np.float64).tobytes()).hexdigest()


def _own_checkpoints(folder: Path, names: set[str], resume: bool) -> None:
    """The training state in ``folder`` that this run's fits (files ``names``) may use: a fresh run removes what an
    earlier one left (its state was found by a later ``--resume`` and refused as another run's, after training);
    ``--resume`` is refused when no file there is one of this run's (another seed: it trained afresh in silence)."""
    found = sorted(p.name for p in folder.glob("fit-*.npz"))
    if not resume:
        for name in found:
            (folder / name).unlink()
        return
    if found and not names & set(found):
        raise CheckpointError(f"--resume: none of the training state in {folder} is this run's (it holds "
                              f"{', '.join(found[:3])}{' ...' if len(found) > 3 else ''}; this run's fits are "
                              f"{sorted(names)[0]} and on): resume with the settings of the interrupted run (its --seed), "
                              "or run without --resume")


def _check_resumable(checkpoint: Path, meta: dict) -> None:
    """Refuse to continue a run whose settings or data differ from this one's: the settings, and the prices up to
    the cutoff by their fingerprint (their mean and spread alone let another ordering of the prices through, and
    the resumed fit went on from weights trained on other data)."""
    _, saved = read_checkpoint(checkpoint)
    differences = [f"{key} {saved.get('forecast', {}).get(key)!r} then, {value!r} now"
                   for key, value in meta["forecast"].items() if saved.get("forecast", {}).get(key) != value]
    if "prices_sha256" not in saved:
        differences.append("the checkpoint records no fingerprint of its prices (an older version wrote it)")
    elif any(saved.get(key) != meta[key] for key in ("scaling", "seasonal", "cutoff", "prices_sha256")):
        differences.append("the data up to the cutoff differ")
    if differences:
        raise CheckpointError(f"{checkpoint} is from a run with other settings or data ({'; '.join(differences)}); "
                              "run without --resume to start afresh, or use another --out")


def level_at(adjusted: np.ndarray, config: ForecastConfig, season: int) -> SmoothedLevel:
    """The smoothed level a forecast from ``adjusted[-1]`` starts at: fitted on ``log adjusted`` for a seasonal
    series (``season`` > 1) with ``config.smooth_level`` and the returns target; else the last value (alpha 1)."""
    return SmoothedLevel.fit(np.log(adjusted)) if smooths_level(config, season) else SmoothedLevel()


def smooths_level(config: ForecastConfig, season: int) -> bool:
    """Whether a forecast with ``config`` on a series with ``season`` starts from the smoothed level (``level.py``)."""
    return season > 1 and config.smooth_level and config.target == "returns"


def later_steps(adjusted: np.ndarray, scaler: Scaler, config: ForecastConfig, level: SmoothedLevel) -> np.ndarray | None:
    """The scaled log-returns a multi-step target takes after a smoothed level's one-step error (None: the
    model's series itself)."""
    if level.alpha == 1.0 or config.horizon == 1 or config.target != "returns":
        return None
    return scaler.transform(model_inputs(adjusted, config.target))


def forecast_prices(model: Model, scaler: Scaler, prices: np.ndarray, origins: np.ndarray, config: ForecastConfig,
                    season: int = 1, level: SmoothedLevel = SmoothedLevel()) -> np.ndarray:
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
            adjusted = S.remove(prices[: t + 1])
            level = level_at(adjusted, config, S.season)  # too short a history for an index: the last value
            out[k] = S.factor(t + config.horizon) * forecast_prices(model, scaler, adjusted, np.array([t]), config, level=level)[0]
        return out
    X = input_windows(scaler.transform(model_inputs(prices, config.target, level)), origins, config.window)
    xp = get_namespace(config.backend)
    out = to_numpy(model.predict(from_host(X, xp, dtype=model.dtype), engine=config.engine)).astype(float)  # (M, h)
    out = scaler.inverse(out)
    if config.target == "returns":
        return level.start(prices, origins) * np.exp(out.sum(axis=1))
    return out[:, -1]


def refit_cutoffs(n: int, config: ForecastConfig) -> list[np.ndarray]:
    """The test origins of each fit of a series of ``n`` values (the first of each block is its cutoff)."""
    origins = walk_forward_origins(n, config)
    block = config.refit_every or len(origins)
    return [origins[start : start + block] for start in range(0, len(origins), block)]


def walk_forward(prices: np.ndarray, config: ForecastConfig, *, quiet: bool = True,
                 on_fit: Callable[[int, int, Fit], None] | None = None,
                 checkpoint_dir: Path | None = None, resume: bool = False, jobs: int | None = 1) -> tuple[np.ndarray, np.ndarray, list[Fit]]:
    """Rolling-origin backtest: ``(origins, model forecasts of p[t+h], fits)``.

    The model is refitted at the first test origin and every ``refit_every`` origins after it, each
    time on all windows known at that origin. ``on_fit(k, n_fits, fit)`` reports progress. With
    ``checkpoint_dir``, fit k keeps its training state in ``fit-{seed}-{k}.npz`` there, so an
    interrupted backtest continues with ``resume=True``: finished fits are reused, the interrupted
    one continues from its last epoch, and the result is the same as an uninterrupted run.

    The fits are independent (each a fresh model from the seed, on the windows known at its cutoff),
    so with ``jobs`` above 1 they run side by side on that many local processes, this one included
    (``executors.map_tasks``; None: one per core), with the same results. Only this process's fits
    show a progress display then; ``on_fit`` reports each fit as it finishes.
    """
    return walk_forward_seeds(prices, config, 1, quiet=quiet, on_fit=on_fit, checkpoint_dir=checkpoint_dir, resume=resume,
                              jobs=jobs)[0]


def walk_forward_seeds(prices: np.ndarray, config: ForecastConfig, seeds: int, *, quiet: bool = True,
                       on_fit: Callable[[int, int, Fit], None] | None = None, checkpoint_dir: Path | None = None,
                       resume: bool = False, jobs: int | None = 1) -> list[tuple[np.ndarray, np.ndarray, list[Fit]]]:
    """``walk_forward`` for the seeds ``config.seed``, ``config.seed + 1``, ... (``seeds`` of them), one result per seed,
    with the fits of every seed in one set of tasks: on several processes none waits for another seed's last fit."""
    prices = np.asarray(prices, dtype=float)
    if np.all(prices == prices[0]):
        raise DataError(f"the price never changes (every row is {prices[0]:g}): there is nothing to forecast; check the price column")
    config = resolved(config, len(prices))
    chunks = refit_cutoffs(len(prices), config)
    origins = np.concatenate(chunks)
    configs = [replace(config, seed=config.seed + s) for s in range(seeds)]
    tasks = [(prices, int(chunk[0]), c, None if checkpoint_dir is None else Path(checkpoint_dir) / f"fit-{c.seed}-{k}.npz", resume)
             for c in configs for k, chunk in enumerate(chunks)]  # seed by seed, each seed's fits in order
    if checkpoint_dir is not None:
        _own_checkpoints(Path(checkpoint_dir), {task[3].name for task in tasks}, resume)
    report = None if on_fit is None else (lambda task, fit: on_fit(task % len(chunks), len(chunks), fit))
    fits = map_tasks(_fit_task, tasks, jobs=jobs, on_done=report, here=partial(_fit_task, quiet=quiet))
    runs = []
    for s, c in enumerate(configs):
        seed_fits = fits[s * len(chunks) : (s + 1) * len(chunks)]
        forecasts = np.concatenate([forecast_prices(fit.model, fit.scaler, prices, chunk, c, fit.seasonal.season)
                                    for fit, chunk in zip(seed_fits, chunks)])
        if not np.all(np.isfinite(forecasts)):
            raise DataError("the model produced non-finite forecasts; try --target returns or a smaller learning rate")
        runs.append((origins, forecasts, seed_fits))
    return runs


def _fit_task(prices: np.ndarray, cutoff: int, config: ForecastConfig, checkpoint: Path | None, resume: bool,
              quiet: bool = True) -> Fit:
    """``fit_at_cutoff`` as one task of ``walk_forward``'s ``map_tasks``."""
    return fit_at_cutoff(prices, cutoff, config, quiet=quiet, checkpoint=checkpoint, resume=resume)




def naive_scale(prices: np.ndarray, end: int, horizon: int) -> float:
    """Mean |p[s+h] - p[s]| over the training span (the MASE denominator)."""
    seen = prices[: end + 1]
    diffs = np.abs(seen[horizon:] - seen[:-horizon])
    return float(np.mean(diffs)) if len(diffs) else math.nan
