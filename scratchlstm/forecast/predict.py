"""Forecast the next step(s) from a saved model, after checking that the data fit the model.

``model.npz`` (written by ``scratchlstm forecast``; ``scratchlstm panel`` writes one per series in
``models/``, holding the global model's weights where that series kept them) holds the weights, the forecast settings, the data
scaling fitted at the last cutoff, and what the training data looked like. Before it forecasts,
``predict_next`` checks that the new data fit: the horizon the settings name is the head's, the data
have the training data's kind of step (days, business days counting as days; weeks; months; an
intraday step), and, for a price-level model (which has only ever seen prices in
its training range), the latest price lies within ten times that range either way (``force=True``
overrides this one check). A forecast that is not finite is an error, never a number. A file of several
members (a run with ``--seeds N``) forecasts their average, as the run that wrote it did.

The interval around the forecast is the run's split-conformal one (``intervals.py``): the file
records, per level, the half-width ``q`` of ``|log(actual / forecast)|`` calibrated on every error the
run had seen (the validation block's and the whole test span's), and the interval is
``[f exp(-q), f exp(q)]``, the same that the run's report gives for the forecast after its last row.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..checkpoint import load_models
from ..data import DataWarning, PriceSeries, as_price_series, load_embedded, load_prices
from ..data.frequency import median_spacing, spacing_words, stamp_after
from ..data.options import LoadOptions
from ..data.panel import is_long_file, series_of_long_file
from ..errors import CheckpointError, ConfigError, DataError
from ..settings import from_mapping
from .config import ForecastConfig
from .output_folder import manifest_disowning
from .protocol import forecast_prices
from .report import typical_change
from .seasonal import SEASON_CYCLES
from .windows import Scaler, first_origin

RANGE_FACTOR = 10.0  # how far beyond its training range a price-level model's input may lie
CHANGE_FACTOR = 4.0  # recent steps this many times larger or smaller than the training data's: noted
SAME_PRICE = 1e-4  # two prices of one date within this share of each other are one price (saved with fewer decimals)
RECENT_CHANGES = 30  # at least this many of the latest steps are compared (or the window's, when longer)
JUMP_FACTOR = 40.0  # one of those steps this many times the training data's typical step: noted (the worst day of the
# embedded MSFT series is 19 times its typical step, bitcoin's of 2017-2022 26 times; a monthly CO2 price mistyped by half, 130)


@dataclass
class Prediction:
    """A forecast of the price ``horizon`` steps after the last row of ``source``."""

    source: str
    last_date: str  # the last row's stamp, in the data's own resolution (with the time for intraday data)
    last_price: float
    forecast: float
    horizon: int
    notes: list[str] = field(default_factory=list)
    intervals: dict[int, tuple[float, float]] = field(default_factory=dict)  # level -> (lower, upper) around the forecast
    naive_intervals: dict[int, tuple[float, float]] = field(default_factory=dict)  # the same for naive's forecast, to compare
    calibration: str = ""  # what the intervals were calibrated on, in words
    data: str = ""  # how the file was read (format, delimiter, decimal mark, date order), as forecast's first line says it
    model: str = ""  # what the model was trained on: a panel's series by name, as its file's name may not say it
    target: str | None = None  # the stamp or period forecast, in words (frequency.stamp_after); None for irregular data
    run_verdict: str = ""  # the model's run against naive on its test span ("" for a model file that does not record it)

    def describe(self) -> str:
        """One line: the last price, the forecast and its change, and naive's forecast beside it."""
        # significant digits, not decimals: a price of 1e-6 is not printed as 0.0000
        target = f", for {self.target}" if self.target else ""
        line = (f"last price {self.last_price:.8g} on {self.last_date}; forecast {self.horizon} step(s) ahead{target}: "
                f"{self.forecast:.8g} ({100 * (self.forecast / self.last_price - 1):+.2f}%)")
        if self.intervals:
            line += "; " + ", ".join(f"{level}% interval {lo:.8g} to {hi:.8g}" for level, (lo, hi) in self.intervals.items())
        line += f"; naive: {self.last_price:.8g}"
        if self.naive_intervals:
            line += " (" + ", ".join(f"{level}%: {lo:.8g} to {hi:.8g}" for level, (lo, hi) in self.naive_intervals.items()) + ")"
        if self.calibration:
            line += f"\nintervals: {self.calibration}"
        return line


def _settings(path, meta: dict) -> tuple[ForecastConfig, Scaler, dict]:
    """The forecast settings, scaling and data description a model file records, checked."""
    if "trainer_state" in meta:
        raise CheckpointError(f"{path} is a training state (a run's checkpoints/, what --resume continues from), not a "
                              "model; use the model.npz in the run's folder")
    try:
        saved = meta.get("forecast")
        if isinstance(saved, dict) and "smooth_level" not in saved:  # written before the smoothed level: its forecasts start
            saved = {**saved, "smooth_level": False}                 # from the last value, as its run's did
        config = from_mapping(ForecastConfig, saved, source="its forecast settings")
        scaling, data = meta.get("scaling"), meta.get("data")
        if not (isinstance(scaling, dict) and set(scaling) == {"center", "scale"}
                and all(_is_number(v) for v in scaling.values()) and scaling["scale"] > 0):
            raise ConfigError("its data scaling is missing or malformed")
        if not isinstance(data, dict) or not isinstance(data.get("price_column"), str):
            raise ConfigError("its description of the training data is missing")
        _check_data_description(data)
    except ConfigError as exc:
        raise CheckpointError(f"{path} is not a forecast model ({exc}); use the model.npz written by 'scratchlstm forecast'") from None
    return config, Scaler(float(scaling["center"]), float(scaling["scale"])), data


def _is_number(value, least: float = -math.inf, above: float | None = None) -> bool:
    """A finite int or float (not a bool), at least ``least``, or above ``above``."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= least
            and (above is None or value > above))


def _check_data_description(data: dict) -> None:
    """Refuse a description of the training data whose fields are not what ``forecast`` writes (``report.model_file_meta``):
    each is optional (older files lack some), but one that is there must be usable. An edited file crashed predict on
    them ("internal error": a zero last price divided by, a date that was a list, a range that was text)."""
    texts = ("source", "last_date", "cutoff_date", "verdict", "series")
    wrong = [name for name in texts if data.get(name) is not None and not isinstance(data[name], str)]
    wrong += [name for name in ("last_price", "train_min", "train_max") if name in data and not _is_number(data[name], above=0)]
    wrong += [name for name in ("train_typical_change",) if data.get(name) is not None and not _is_number(data[name], 0)]
    wrong += [name for name in ("rows",) if name in data and not (isinstance(data[name], int) and not isinstance(data[name], bool)
                                                                  and data[name] >= 1)]
    if ("train_min" in data) != ("train_max" in data):
        wrong.append("train_min" if "train_min" not in data else "train_max")
    elif "train_min" in data and not wrong and data["train_min"] > data["train_max"]:
        wrong.append("train_min above train_max")
    frequency = data.get("frequency")
    if frequency is not None and not (isinstance(frequency, dict) and isinstance(frequency.get("word"), str)
                                      and (frequency.get("kind") is None or isinstance(frequency["kind"], str))
                                      and (frequency.get("median_seconds") is None or _is_number(frequency["median_seconds"], above=0))):
        wrong.append("frequency")
    if wrong:
        raise ConfigError(f"its description of the training data is malformed ({', '.join(wrong)}); the file was altered")


def _changed_since_written(checkpoint: Path) -> list[str]:
    """A note when the run folder holding ``checkpoint`` records another SHA-256 for it in its manifest: the model
    file was edited or replaced since its run wrote it (its settings and scaling are read from it as they are)."""
    manifest = manifest_disowning(Path(checkpoint))
    if manifest is None:
        return []
    return [f"{checkpoint} is not the file its run wrote ({manifest} records another SHA-256): it was edited or "
            "replaced since, and its settings are used as they now are"]


SPACING_RATIO = 1.25  # two irregular series share a model when their median spacings are within this factor


def _check_spacing(series: PriceSeries, trained: dict) -> list[str]:
    """Refuse prices of another spacing than the model's: another kind of step, or, where both are irregular (no
    kind: jittered stamps, trades), a median spacing more than ``SPACING_RATIO`` away. Irregular hourly and
    5-minute prices both had no kind, and an hourly model forecast a 5-minute step with its hourly interval."""
    refusal = (f"{series.source}: the prices are {series.frequency.word} but the model was trained on {trained.get('word')} "
               "prices; use data of the model's frequency, or train a model on this data")
    if trained.get("kind") != series.frequency.kind:
        raise DataError(refusal)
    if series.frequency.kind is not None:
        return []
    theirs, ours = trained.get("median_seconds"), median_spacing(series.frame.index)
    if theirs is None:  # a model file written before the spacing was recorded (its word holds its median, rounded)
        return [f"the prices are {series.frequency.word} and the model's were {trained.get('word')}; its file does not record "
                "their median spacing to the second, so check that the two are the same spacing"]
    if ours is not None and not theirs / SPACING_RATIO <= ours <= theirs * SPACING_RATIO:
        raise DataError(f"{series.source}: the prices are {series.frequency.word} but the model was trained on prices "
                        f"{spacing_words(theirs)} apart (median); use data of the model's spacing, or train a model on this data")
    return []


def _season_fits(series: PriceSeries, season: int, trained_frequency, run_rows: int | None = None, horizon: int = 1) -> list[str]:
    """Refuse prices the model's season cannot be applied to, and note what differs from its run:

    - days seven a week against business days (one kind of step, which models without a season share): a
      season counts rows, so a business week of 5 is not a week of calendar days;
    - fewer rows than three seasons: the seasonal index cannot be estimated (it was dropped without a word);
      fewer than the run's last forecast had (``SEASON_CYCLES`` seasons and a half season at each end for the
      centred average, or all the run's rows up to its last origin where it had fewer): it is estimated from
      fewer, and may differ.
    """
    notes = []
    word = trained_frequency.get("word") if isinstance(trained_frequency, dict) else None
    if word is not None and word != series.frequency.word and series.frequency.kind == "D":
        if season > 1:
            raise DataError(f"{series.source}: the prices are {series.frequency.word} but the model was trained on {word} "
                            f"prices, and its season of {season} rows is a week of those; use {word} prices, or train a "
                            "model on this data")
        notes.append(f"the prices are {series.frequency.word}, the model's were {word}: a step is another span of time here")
    if season > 1:
        rows, least, full = len(series.prices), 3 * season, SEASON_CYCLES * season + 2 * (season // 2)
        if rows < least:
            raise DataError(f"{series.source}: the model removes a season of {season} rows, whose index needs three seasons "
                            f"of prices ({least} rows); the file has {rows}. Give a longer history")
        # the rows the run's last forecast estimated its index from: those up to its last origin, at most ``full``
        used = full if run_rows is None else min(full, run_rows - horizon)
        if rows < used:
            whole = f"{SEASON_CYCLES} seasons and a half season at each end" if used == full else "all its rows up to its last origin"
            notes.append(f"the seasonal index is estimated from {rows} rows, fewer than the {used} the model's run estimated "
                         f"it from at its last forecast ({whole}): it may differ from the run's; give {used} rows or more")
    return notes


def _season(path, meta: dict) -> int:
    """The season length the model was trained with (1: none)."""
    seasonal = meta.get("seasonal", {"season": 1})
    if not (isinstance(seasonal, dict) and isinstance(seasonal.get("season"), int) and not isinstance(seasonal["season"], bool)
            and seasonal["season"] >= 1):
        raise CheckpointError(f"{path} is not a forecast model (its seasonal description is malformed); use the model.npz "
                              "written by 'scratchlstm forecast'")
    return seasonal["season"]


def _unlike_training(series: PriceSeries, trained_on: dict, config) -> list[str]:
    """Notes when the prices to forecast from do not look like the training data: a price outside the training
    range (a price-level model extrapolates), steps much larger or smaller than the training data's (another
    series, or another regime: the model's errors, and so its interval, were measured on other moves), or one
    step among the latest far larger than the training data's typical one (a mistyped price moves the forecast,
    through the window and the smoothed level, and the median of the steps does not see one)."""
    notes = []
    prices = series.prices.to_numpy(dtype=float)
    if config.target == "price" and "train_min" in trained_on:
        low, high = trained_on["train_min"], trained_on["train_max"]
        if not low <= prices[-1] <= high:
            notes.append(f"the latest price {prices[-1]:.6g} is outside the prices the model was trained on ({low:.6g} to "
                         f"{high:.6g}): a price-level model extrapolates there, and its interval was measured inside that range")
    trained = trained_on.get("train_typical_change")
    recent = typical_change(prices[-(max(config.window, RECENT_CHANGES) + 1):])
    if trained and recent and not 1 / CHANGE_FACTOR <= recent / trained <= CHANGE_FACTOR:
        ratio = recent / trained
        times = f"{ratio:.3g} times" if ratio > 1 else f"1/{1 / ratio:.3g} of"
        notes.append(f"the latest prices move {times} as much from step to step as the training prices did (median "
                     f"{recent:.2%} against {trained:.2%}): another series, or another regime; the model and its interval "
                     "were measured on other moves")
    latest = prices[-(max(config.window, RECENT_CHANGES) + 1):]
    steps = np.diff(np.log(latest))  # steps[i]: from latest[i] to latest[i + 1]
    jump = np.abs(steps) > JUMP_FACTOR * trained if trained else np.zeros(steps.size, dtype=bool)
    if jump.any():
        k = int(np.argmax(np.abs(steps)))
        # one odd price: a jump into it and the opposite jump out of it (else a jump that stays: a split, a new level)
        spike = next((j for j in (k - 1, k) if 0 <= j < steps.size - 1 and jump[j] and jump[j + 1]
                      and steps[j] * steps[j + 1] < 0), None)
        row = k if spike is None else spike
        when = series.frequency.stamp(series.frame.index[len(prices) - len(latest) + row + 1])
        moves = f"{math.expm1(steps[row]):+.1%} from the one before" + (
            "" if spike is None else f" and {math.expm1(steps[row + 1]):+.1%} to the one after")
        notes.append(f"the price on {when} is {moves}, {abs(steps[row]) / trained:.0f} times the training prices' typical "
                     f"step ({trained:.2%}): if it is a data error, fix it, since the forecast starts from these prices; the "
                     "interval was not measured on such a step")
    return notes


def _same_price_on_the_runs_last_date(series: PriceSeries, trained_on: dict) -> list[str]:
    """A note where the file has a row on the run's last date whose price is not the run's there (beyond the rounding
    of ``SAME_PRICE``): another instrument ending on the same day, or prices adjusted again since (a dividend or
    split re-downloaded). Nothing where the file has no such row, or the model file does not record the price."""
    price, date = trained_on.get("last_price"), pd.to_datetime(trained_on.get("last_date"), errors="coerce")
    if not isinstance(price, (int, float)) or pd.isna(date) or date not in series.frame.index:
        return []
    here = float(series.prices.loc[date])  # (one row per stamp, duplicates dropped by the loader)
    if abs(here - price) <= SAME_PRICE * abs(price):
        return []
    return [f"on {trained_on['last_date']}, the last date of the model's run, this file's price is {here:.6g} and the run's "
            f"was {price:.6g} ({here / price - 1:+.2%}): another series, or prices adjusted again since (a dividend or split); "
            "the model and its interval were measured on the run's prices"]


def _intervals(path, meta: dict) -> tuple[dict[int, float], dict[int, float], str]:
    """The log half-widths of the model's and naive's intervals per level, and what they were
    calibrated on; empty for a model file written without intervals."""
    saved = meta.get("intervals")
    if saved is None:
        return {}, {}, ""
    try:
        levels = saved["levels"]
        if not all(isinstance(level, int) and not isinstance(level, bool) and 0 < level < 100 for level in levels):
            raise ValueError("levels")
        model = {level: saved["log_half_width"][str(level)] for level in levels}
        naive = {level: saved["naive_log_half_width"][str(level)] for level in levels}
        words = f"split conformal, calibrated on the run's {int(saved['errors'])} errors up to {saved['last_error_date']}"
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path} is not a forecast model (its interval description is malformed); use the model.npz "
                              "written by 'scratchlstm forecast'") from None
    # a log half-width: inf where the run had too few errors (that level is left out), else a number from 0 to
    # MAX_LOG_HALF_WIDTH (NaN, text, a bool, or a width no price series has are an altered file)
    if not all(q == math.inf or _is_number(q, 0) and q <= MAX_LOG_HALF_WIDTH for q in [*model.values(), *naive.values()]):
        raise CheckpointError(f"{path}: its interval half-widths must be numbers from 0 to {MAX_LOG_HALF_WIDTH:g} (or inf); "
                              "the file was altered")
    return {k: float(q) for k, q in model.items()}, {k: float(q) for k, q in naive.items()}, words


MAX_LOG_HALF_WIDTH = 20.0  # an interval from price / e^20 to price x e^20 (a factor of 5e8 either way): none is wider


def _around(value: float, half_widths: dict[int, float]) -> dict[int, tuple[float, float]]:
    """``(value exp(-q), value exp(q))`` per level; a level without a finite q (too few errors) is left out."""
    return {level: (value * math.exp(-q), value * math.exp(q)) for level, q in half_widths.items() if math.isfinite(q)}


def _load(data, column: str, options: LoadOptions) -> tuple[PriceSeries, list[str]]:
    """The series to forecast from, priced by ``options.price_column``, else the model's column when the file has it."""
    if isinstance(data, PriceSeries):
        return data, []
    if isinstance(data, (pd.Series, pd.DataFrame)):  # prices in memory, read as run_forecast reads them
        series = as_price_series(data, **options.as_kwargs())
        return series, list(series.notes)
    def load(price_column):
        if data is None:
            return load_embedded()
        with warnings.catch_warnings():  # what the loader fixed is in the series' notes, said once with the forecast's
            warnings.simplefilter("ignore", DataWarning)
            return load_prices(data, **{**options.as_kwargs(), "price_column": price_column})
    if options.price_column:
        series = load(options.price_column)
        return series, list(series.notes)
    series = load(None)
    if series.price_column != column and column in series.frame.columns:
        series = load(column)
    if series.price_column == column:
        return series, list(series.notes)
    return series, [*series.notes, f"the model was trained on {column!r} prices; this file has none, so {series.price_column!r} is used"]


def _series_of_long_file(data, name: str | None, trained_on: dict, options: LoadOptions) -> PriceSeries | None:
    """For a long-format file (unique_id, ds, y, as ``panel`` reads), the series to forecast from: ``name``, else
    the one the model was trained on, as a panel's model file records it (its ``series``, or a source that names
    one: ``long.csv[AAA]``); None for a price file."""
    if not isinstance(data, (str, Path)) or not is_long_file(data):
        if name is not None:
            raise DataError(f"--series picks a series of a long-format file (unique_id, ds, y); {data} is not one: leave it out")
        return None
    match = re.fullmatch(r".*\[(.*)\]", str(trained_on.get("source") or ""))
    own = trained_on.get("series") if isinstance(trained_on.get("series"), str) else (match[1] if match else None)
    if name is None and own is None:
        raise DataError(f"{data} is a long-format file (unique_id, ds, y) and the model does not say which series it was "
                        "trained on; name one with --series")
    picked = series_of_long_file(data, name if name is not None else own, options)
    if own is not None and name not in (None, own):
        picked.notes.append(f"the model was trained on the series {own!r}; it forecasts {name!r} here, as --series asks, "
                            f"and its intervals are {own!r}'s errors, whatever {name!r}'s spread")
    return picked


def predict_next(checkpoint: str | Path, data: str | Path | PriceSeries | None = None, *,
                 options: LoadOptions = LoadOptions(), force: bool = False, series: str | None = None) -> Prediction:
    """Forecast the price ``horizon`` steps after the last row of ``data`` with the model in ``checkpoint``.

    Parameters
    ----------
    checkpoint : path
        A ``model.npz`` written by ``scratchlstm forecast``.
    data : path, PriceSeries, pandas Series or DataFrame, or None
        The prices to forecast from (a Series or DataFrame read as ``run_forecast`` reads it); None:
        the embedded MSFT series, for a model trained on it
        (any other model is refused, since it would forecast another asset).
    options : LoadOptions
        How to read the file (its ``price_column`` defaults to the one the model was trained on,
        when the file has it).
    force : bool
        Forecast even when a price-level model's latest price lies far outside its training range.
    series : str, optional
        For a long-format file (``unique_id, ds, y``, what ``panel`` reads): the series to forecast
        from; by default the one the model was trained on, which a panel's model files record.

    Raises
    ------
    CheckpointError
        The file is not a forecast model, or its settings and its weights disagree.
    DataError
        The data do not fit the model (too short, another frequency, prices out of range), or the
        forecast is not finite.
    """
    models, meta = load_models(checkpoint)
    model = models[0]  # the members share one architecture
    config, scaler, trained_on = _settings(checkpoint, meta)
    if config.horizon != model.config.output_size:
        raise CheckpointError(f"{checkpoint}: its settings say horizon {config.horizon} but its head has "
                              f"{model.config.output_size} output(s); the file was altered")
    if tuple(config.hidden_sizes) != tuple(model.config.hidden_sizes):
        raise CheckpointError(f"{checkpoint}: its settings say hidden sizes {list(config.hidden_sizes)} but its weights are "
                              f"layers of {list(model.config.hidden_sizes)}; the file was altered")
    notes_first = _changed_since_written(checkpoint)
    picked = _series_of_long_file(data, series, trained_on, options)
    series, notes = _load(data, trained_on["price_column"], options) if picked is None else (picked, list(picked.notes))
    notes = notes_first + notes
    trained_to = trained_on.get("last_date")
    if data is None and trained_to is not None and trained_to != series.summary()["last_date"]:
        # the embedded series is only the default of a model trained on it: any other model would
        # forecast MSFT's 2013 prices without a word of it
        raise DataError(f"{checkpoint} was trained on other prices (to {trained_to}), not the embedded MSFT series "
                        f"(to {series.summary()['last_date']}); give the file to forecast from: --csv FILE")
    prices = series.prices.to_numpy(dtype=float)
    origin = len(prices) - 1
    if origin < first_origin(config):
        raise DataError(f"{series.source}: the model needs a window of {config.window} prices (+1 for returns), the file has {len(prices)}")
    trained_frequency = trained_on.get("frequency")
    if isinstance(trained_frequency, dict):
        notes += _check_spacing(series, trained_frequency)
    else:  # a model file written before the frequency was recorded
        notes.append(f"the model file does not record the frequency of its training prices, so these {series.frequency.word} "
                     "prices are not checked against it: check that the model was trained on prices of the same spacing")
    season = _season(checkpoint, meta)
    run_rows = trained_on.get("rows")  # (model files written before it was recorded: the full history assumed)
    notes += _season_fits(series, season, trained_frequency, run_rows if isinstance(run_rows, int) else None, config.horizon)
    if config.target == "price" and "train_min" in trained_on and not force:
        low, high = trained_on["train_min"], trained_on["train_max"]
        if not low / RANGE_FACTOR <= prices[-1] <= high * RANGE_FACTOR:
            raise DataError(f"{series.source}: the latest price {prices[-1]:.6g} is far outside the prices this price-level model "
                            f"was trained on ({low:.6g} to {high:.6g}); its forecast would mean nothing. Use data like the "
                            "training data, or --force to forecast anyway")
    notes += _unlike_training(series, trained_on, config)
    last_date = series.summary()["last_date"]
    notes += _same_price_on_the_runs_last_date(series, trained_on)
    if data is not None and trained_to is not None and series.frame.index[-1] < pd.to_datetime(trained_to, errors="coerce"):
        notes.append(f"the file ends on {last_date}, before the prices the model was trained on ended ({trained_to}): "
                     "this forecasts a date the model's run has already seen, or another series; use the latest prices")
    if len(models) > 1:
        notes.append(f"the model file holds {len(models)} models (one per seed); the forecast is their average, as in its run's report")
    # the seasonal index is estimated again from this file's prices, as at every origin of the run
    each = [forecast_prices(m, scaler, prices, np.array([origin]), config.updated(backend="numpy"), season) for m in models]
    # the members' average, computed as the forecast run averaged its seeds (identical members: the first alone)
    forecast = float(each[0][0] if all(np.array_equal(f, each[0]) for f in each) else np.mean(each, axis=0)[0])
    if not math.isfinite(forecast):
        weights_finite = all(np.isfinite(np.asarray(a)).all() for m in models for a in m.named_params().values())
        cause = "the data are outside what it can handle" if weights_finite else \
            "its weights hold NaN or inf (the model file's training diverged, or the file was altered)"
        raise DataError(f"{series.source}: the model's forecast is {forecast}, not a number; {cause}")
    if forecast <= 0:  # (a price-level model far from its training prices, or an altered scaling)
        raise DataError(f"{series.source}: the model's forecast is {forecast:.6g}, not a price (prices are above 0); the data "
                        "are outside what it can handle, or the model file was altered")
    model_q, naive_q, calibration = _intervals(checkpoint, meta)
    if not model_q:
        notes.append("this model file records no interval calibration (written before intervals were added, or with no "
                     "level): no interval")
        calibration = ""
    elif len(_around(forecast, model_q)) < len(model_q):
        notes.append("the run had too few errors for some interval levels: those are left out")
    trained = trained_on.get("source")
    model = (f"{checkpoint}, trained on {trained}" if isinstance(trained, str) else f"{checkpoint} (it does not record "
             "the file it was trained on)") + (f", prices to {trained_to}" if trained_to is not None else "")
    return Prediction(model=model, source=str(series.source), last_date=series.frequency.stamp(series.frame.index[-1]), last_price=float(prices[-1]),
                      forecast=forecast, horizon=config.horizon, notes=notes, intervals=_around(forecast, model_q),
                      naive_intervals=_around(float(prices[-1]), naive_q), calibration=calibration,
                      data=series.describe(), target=stamp_after(series.frame.index[-1], config.horizon, series.frequency),
                      run_verdict=str(trained_on.get("verdict") or ""))
