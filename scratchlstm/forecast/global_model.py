"""One LSTM across many series: trained on the windows of all of them, kept per series only where it helps.

A per-series LSTM on a few hundred monthly values has little to learn from; the forecasting
literature's answer (the M4 winner's hybrid, DeepAR, N-BEATS) is one model trained across many
series, each normalised by its own level and season. Here each series i is normalised exactly as
its own fit normalises it (``protocol.fit_at_cutoff``): at its cutoff c_i, its seasonal index
``S_i`` is removed, and its log-returns are divided by their spread up to c_i, so every series
speaks the same unit (one typical step of its own)::

    z_i[s] = (log a_i[s] - log a_i[s-1]) / sigma_i,    a_i[s] = p_i[s] exp(-S_i[s mod m_i])

**Cutoffs.** The global model is refitted as often as the per-series models: fit k uses, from every
series, the windows known at that series' own k-th cutoff (its k-th refit origin, or its last
one when it has fewer), i.e. windows with ``t + h <= c_i``; nothing after a series' cutoff enters
training or scaling.

**Validation and the choice.** Each series' last validation windows (the same block its own fit
holds out) are held out of the pooled training set; early stopping watches their pooled loss.
Then, per series and per fit, the global model is kept only if it beats its untrained version on
that series' validation block (the same one-sided paired test, ``improvement_p_value``, p < 0.05)
and its validation loss is at most that of the model the series' own fit kept; otherwise the
series keeps its own fit (trained or untrained). Each choice is reported with its reason.

The global model has one seed (``config.seed``); with ``seeds`` above 1 the fits a series keeps of
its own are the first seed's, and its own forecasts there stay the seeds' average. The model's
prediction intervals are rebuilt around the forecast a series reports, calibrated on what its first
kept fit forecast on the calibration block (``intervals.py``), and the series' model file (``panel.py``:
``models/`` of the panel's folder) holds the model its last fit kept, the global one or its own.

Series whose windows differ in length (automatic windows: two seasons) are trained in separate
groups, one model per window length, so that every series is read through the window its own
model reads. A group of one series gets no global model: with that series' seed and windows it would
be the series' own model again (same validation loss, kept on the tie and counted as a global win).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from ..backend import from_host, get_namespace
from ..errors import ConfigError
from ..nn.model import Model
from ..train import History, train
from .automatic import MAX_EPOCHS, MIN_EPOCHS, STEP_BUDGET
from .config import ForecastConfig
from .evaluate import diebold_mariano, direction_base_rates, evaluate_forecasts, p_text, persistence_diagnostic, signal_diagnostics
from .level import SmoothedLevel
from .protocol import (SIGNIFICANCE, Fit, forecast_prices, improvement_p_value, naive_scale, refit_cutoffs, training_windows,
                       validation_losses, validation_size)
from .intervals import calibration_forecasts, calibration_origins, log_scores
from .seasonal import SeasonalIndex
from .windows import Scaler


@dataclass
class SeriesWindows:
    """One series at one cutoff, normalised by its own season and scale: its training and validation windows."""

    cutoff: int
    seasonal: SeasonalIndex
    level: SmoothedLevel
    scaler: Scaler
    X_train: np.ndarray  # (M_train, W, 1)
    Y_train: np.ndarray  # (M_train, h)
    X_val: np.ndarray  # (M_val, W, 1)
    Y_val: np.ndarray  # (M_val, h)


def series_windows(prices: np.ndarray, cutoff: int, config: ForecastConfig) -> SeriesWindows:
    """The windows a fit of this series at ``cutoff`` trains and validates on, as ``fit_at_cutoff`` makes them."""
    seasonal, level, scaler, origins, X, Y = training_windows(prices, cutoff, config)  # X (M, W, 1), Y (M, h)
    split = len(origins) - validation_size(len(origins), config)
    return SeriesWindows(cutoff, seasonal, level, scaler, X[:split], Y[:split], X[split:], Y[split:])


def global_epochs(train_windows: int, config: ForecastConfig) -> tuple[int, int | None]:
    """Epochs and patience for the pooled windows: as ``adapt_to_series`` sets them for one series
    (about ``STEP_BUDGET`` optimizer steps, 30 to 400 epochs), unless given."""
    if config.epochs is not None:
        return config.epochs, config.patience
    steps_per_epoch = max(1, math.ceil(train_windows / config.batch_size))
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(STEP_BUDGET / steps_per_epoch)))
    patience = None if config.patience is None else max(config.patience, round(config.patience * epochs / MIN_EPOCHS))
    return epochs, patience


def train_global(parts: list[SeriesWindows], config: ForecastConfig, quiet: bool = True) -> tuple[Model, Model, History]:
    """One model on the pooled training windows of ``parts``, early-stopped on their pooled
    validation windows; returns ``(trained, untrained, history)`` (the untrained model is the same draw)."""
    X = np.concatenate([p.X_train for p in parts])  # (sum M_train, W, 1)
    Y = np.concatenate([p.Y_train for p in parts])  # (sum M_train, h)
    X_val = np.concatenate([p.X_val for p in parts])
    Y_val = np.concatenate([p.Y_val for p in parts])
    epochs, patience = global_epochs(len(X), config)
    config = replace(config, epochs=epochs, patience=patience)
    xp = get_namespace(config.backend)

    def put(a):
        return from_host(a, xp, dtype=getattr(xp, config.dtype))

    def fresh() -> Model:
        return Model.create(config.model_config(1), seed=config.seed, xp=xp, dtype=config.dtype)

    model = fresh()
    validation = (put(X_val), put(Y_val)) if len(X_val) else (None, None)
    history = train(model, put(X), put(Y), *validation, config.train_config(quiet=quiet))
    return model, fresh(), history


def choose(fit: Fit, part: SeriesWindows, trained: Model, untrained: Model, history: History, train_windows: int,
           config: ForecastConfig) -> tuple[Fit, str]:
    """The fit this series keeps at this cutoff, the global model's or its own (``fit``), and why."""
    if len(part.X_val) < 2:
        return fit, "per-series: no validation block to test the global model on"
    xp = get_namespace(config.backend)
    X_val, Y_val = (from_host(a, xp, dtype=getattr(xp, config.dtype)) for a in (part.X_val, part.Y_val))
    before = validation_losses(untrained, X_val, Y_val, config.loss, config.engine)
    after = validation_losses(trained, X_val, Y_val, config.loss, config.engine)
    own = validation_losses(fit.model, X_val, Y_val, config.loss, config.engine)
    p = improvement_p_value(after, before)
    if not p < SIGNIFICANCE:
        why = f"per-series: the global model did not beat its untrained version on this series' validation (p = {p_text(p)})"
        return fit, why
    if not fit.kept_untrained and float(np.mean(after)) > float(np.mean(own)):
        why = (f"per-series: its own trained model's validation loss {np.mean(own):.4g} is below the global model's "
               f"{np.mean(after):.4g} (which beat its untrained version, p = {p_text(p)})")
        return fit, why
    chosen = Fit(cutoff=part.cutoff, scaler=part.scaler, history=history, train_windows=train_windows, model=trained,
                 kept_untrained=False, p_value=p, untrained_val_loss=float(np.mean(before)), seasonal=part.seasonal,
                 level=part.level)
    why = (f"global: beat its untrained version on this series' validation (p = {p_text(p)}), loss {np.mean(after):.4g} vs "
           f"{'the untrained' if fit.kept_untrained else 'its own trained'} model's {np.mean(own):.4g}")
    return chosen, why


def check_global(config: ForecastConfig) -> None:
    """Refuse settings the global model cannot use, before any series runs."""
    if config.target != "returns":
        raise ConfigError("--global needs --target returns: its series are put on one scale by their return spread, "
                          "and its keep-or-revert test compares with the untrained 'no change' model")


def fit_global(runs: list, config: ForecastConfig, quiet: bool = True) -> list[str]:
    """Train the global model(s) on the series of ``runs`` (``panel.SeriesRun``) and set each run's
    ``chosen`` result and ``choices``; returns notes on what was trained. A window group of one series
    gets no global model: trained on that series alone, with its seed and windows, it would be the
    series' own model again; the series keeps its own fits, and a note says so."""
    check_global(config)
    usable = [run for run in runs if run.result is not None]
    groups: dict[tuple, list] = defaultdict(list)  # one model per window length (and horizon)
    for run in usable:
        groups[(run.result.config.window, run.result.config.horizon)].append(run)
    notes = []
    for (window, horizon), members in groups.items():
        if len(members) == 1:
            run = members[0]
            why = (f"no global model: {run.name} is the only series with window {window}, and a model trained across one "
                   "series is its own model")
            notes.append(f"global model, window {window}: not trained, as only {run.name} has that window (a model trained "
                         "across one series is its own); it keeps its own fits")
            run.choices = [{"fit": k + 1, "kept": "per-series", "why": why} for k in range(len(run.result.fits))]
            run.chosen = run.result
            continue
        blocks = {run.name: refit_cutoffs(len(run.result.prices), run.result.config) for run in members}
        rounds = max(len(b) for b in blocks.values())
        choices: dict[str, list] = {run.name: [] for run in members}
        for k in range(rounds):
            parts = {run.name: series_windows(run.result.prices, int(blocks[run.name][min(k, len(blocks[run.name]) - 1)][0]),
                                              run.result.config) for run in members}
            # every series' own settings agree on the model and training fields; the window is the group's
            trained, untrained, history = train_global(list(parts.values()), replace(config, window=window), quiet=quiet)
            train_windows = sum(len(p.X_train) for p in parts.values())
            notes.append(f"global model, window {window}, fit {k + 1}/{rounds}: {len(members)} series, {train_windows} training "
                         f"windows, {len(history.train_loss)} epochs ({history.stop_reason})")
            for run in members:
                if k < len(blocks[run.name]):
                    own = run.result.fits[k]
                    choices[run.name].append(choose(own, parts[run.name], trained, untrained, history, train_windows,
                                                    run.result.config))
        for run in members:
            chosen_fits = [fit for fit, _ in choices[run.name]]
            run.choices = [{"fit": k + 1, "kept": why.split(":")[0], "why": why.split(": ", 1)[1]}
                           for k, (_, why) in enumerate(choices[run.name])]
            run.chosen = with_fits(run.result, chosen_fits, blocks[run.name])
    return notes


def with_fits(result, fits: list[Fit], blocks: list[np.ndarray]):
    """``result`` with its model forecast made by ``fits`` (one per block of test origins): where a fit
    is the series' own, its forecasts are kept; where it is the global model's, they are recomputed."""
    forecast = result.forecasts["model"].copy()
    position = 0
    for fit, own, chunk in zip(fits, result.fits, blocks):
        if fit is not own:
            forecast[position : position + len(chunk)] = forecast_prices(fit.model, fit.scaler, result.prices, chunk, result.config,
                                                                         fit.seasonal.season)
        position += len(chunk)
    if all(fit is own for fit, own in zip(fits, result.fits)):
        return result
    forecasts = {**result.forecasts, "model": forecast}
    actual, last, h = result.actual, result.last, result.config.horizon
    origins = blocks[0][:1]
    intervals = result.intervals
    if intervals is not None:  # the model's bands follow the forecast that is reported, calibrated on what its first fit forecast
        scores = intervals.forecasters["model"].calibration_scores
        if fits[0] is not result.fits[0]:
            cal_origins = calibration_origins(int(origins[0]), result.config, result.season)
            scores = log_scores(calibration_forecasts(fits[0], result.prices, cal_origins, result.config), result.prices[cal_origins + h])
        intervals = intervals.with_forecaster("model", forecast, actual, scores)
    scale = naive_scale(result.prices, int(origins[0]), h)
    metrics = evaluate_forecasts(forecasts, actual, last, scale)
    versus_naive = diebold_mariano(forecast - actual, forecasts["naive"] - actual, h)
    beats_naive = versus_naive["mean_diff"] < 0 and versus_naive["p_value"] < 0.05
    train_returns = np.diff(np.log(result.prices[: int(origins[0]) + 1]))
    # model.npz holds the model that made the last block's forecasts: the global one, or the series' own (its seeds')
    members = [fits[-1].model] if fits[-1] is not result.fits[-1] else result.members
    # where the global model forecasts, every seed's fit is replaced by it; elsewhere each seed's own fit stands
    kept = [[f.kept_epoch if f is not o else epochs[k] for k, (f, o) in enumerate(zip(fits, result.fits))]
            for epochs in result.seed_kept_epochs]
    return replace(result, forecasts=forecasts, metrics=metrics, fits=fits, seed_forecasts=[forecast], intervals=intervals, members=members,
                   seed_kept_epochs=kept,
                   seed_metrics=[metrics["model"]], direction=direction_base_rates(actual, last),
                   diagnostic=persistence_diagnostic(forecast, actual, last, beats_naive),
                   signal=signal_diagnostics(forecast, actual, last, float(np.std(train_returns))),
                   notes=result.notes + ["global model: " + "; ".join(f"fit {k + 1} {'global' if f is not o else 'per-series'}"
                                                                     for k, (f, o) in enumerate(zip(fits, result.fits)))])
