"""One forecast run, from a price file to a verdict: the Python API behind ``scratchlstm forecast``.

    from scratchlstm.forecast import ForecastConfig, run_forecast
    result = run_forecast("BTC-USD.csv", ForecastConfig(window=60))
    print(result.table())
    result.save("out/")          # report.json, predictions.csv, forecast.png, loss.png, model.npz, run.json

The result holds the data, the forecasts and their statistics; ``report.py`` turns it into the
table, the files and the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import PriceSeries, as_price_series, load_embedded
from ..errors import ConfigError, DataError
from . import report as reporting
from .automatic import adapt_to_series, choose_season
from .baselines import INSTALL_PEERS, baseline_forecasts, classical_forecasts
from .config import ForecastConfig, RunOptions  # RunOptions: importable from here as before
from .evaluate import (
    UNTRAINED_FORECASTS,
    block_bootstrap_ratio,
    diebold_mariano,
    direction_base_rates,
    evaluate_forecasts,
    mae_ratio,
    persistence_diagnostic,
    signal_diagnostics,
    verdict,
    verdict_against,
)
from .intervals import Intervals, calibration_forecasts, calibration_origins
from .protocol import Fit, naive_scale, smooths_level, walk_forward_seeds
from .windows import walk_forward_origins



@dataclass(repr=False)
class ForecastResult:
    """Everything a run produced; ``table()`` prints it, ``save(dir)`` writes the files."""

    config: ForecastConfig
    data: PriceSeries
    prices: np.ndarray = field(repr=False)  # the whole series, as the protocol saw it
    dates: pd.DatetimeIndex  # target dates of the test points
    actual: np.ndarray  # p[t + h]
    last: np.ndarray  # p[t], the last price the forecaster saw
    forecasts: dict[str, np.ndarray]  # "model" and every baseline
    metrics: dict[str, dict[str, float]]
    direction: dict[str, float]
    diagnostic: dict[str, Any]
    signal: dict[str, Any]
    fits: list[Fit] = field(repr=False)  # the fits of the first seed
    seed_forecasts: list[np.ndarray] = field(default_factory=list, repr=False)  # one per seed; "model" is their mean
    seed_kept_epochs: list[list[int]] = field(default_factory=list)  # per seed, per fit: the epoch kept (0: untrained)
    seed_metrics: list[dict[str, float]] = field(default_factory=list)  # the model's metrics for each seed alone
    season: int = 1  # season length used by seasonal naive and the model's seasonal adjustment
    members: list = field(default_factory=list, repr=False)  # each seed's last model: model.npz holds them all, predict averages them
    notes: list[str] = field(default_factory=list)  # what was chosen for this series and why; what was not run
    intervals: Intervals | None = None  # split-conformal prediction intervals of every forecaster (intervals.py)

    def diebold_mariano_against(self, name: str, power: int = 1) -> dict[str, float]:
        """Diebold-Mariano test of the model against forecaster ``name`` on the test span (``power`` 1:
        absolute errors, 2: squared; ``mean_diff`` < 0: the model is better)."""
        return diebold_mariano(self.forecasts["model"] - self.actual, self.forecasts[name] - self.actual, self.config.horizon,
                               power=power)

    @cached_property
    def significance(self) -> dict[str, float]:
        """Diebold-Mariano test of the model against naive on absolute errors."""
        return self.diebold_mariano_against("naive")

    @cached_property
    def significance_squared(self) -> dict[str, float]:
        """The same test on squared errors."""
        return self.diebold_mariano_against("naive", power=2)

    @cached_property
    def mae_ratio_interval(self) -> tuple[float, float]:
        """95% moving-block bootstrap interval of the model's MAE over naive's."""
        return block_bootstrap_ratio(self.forecasts["model"] - self.actual, self.forecasts["naive"] - self.actual,
                                     block=max(self.config.horizon, round(len(self.actual) ** (1 / 3))), seed=self.config.seed)

    def seed_spread(self) -> dict[str, dict[str, float]]:
        """Min, mean and max of every model metric across the seeds."""
        names = self.seed_metrics[0].keys() if self.seed_metrics else []
        spread = {}
        for m in names:
            values = np.array([s[m] for s in self.seed_metrics], dtype=float)
            values = values[~np.isnan(values)]
            spread[m] = ({"min": float(values.min()), "mean": float(values.mean()), "max": float(values.max())} if values.size
                         else {"min": math.nan, "mean": math.nan, "max": math.nan})
        return spread

    @property
    def untrained_everywhere(self) -> bool:
        """Every fit of every seed kept its untrained weights (their forecasts are then identical)."""
        return (all(f.kept_epoch == 0 for f in self.fits)
                and all(np.array_equal(f, self.seed_forecasts[0]) for f in self.seed_forecasts))

    @property
    def verdict(self) -> str:
        """Against naive: better, worse or no significant difference (Diebold-Mariano, 5%)."""
        seed_range = None
        if len(self.seed_metrics) > 1:
            rel = self.seed_spread()["rel_mae"]
            seed_range = (rel["min"], rel["max"])
        return verdict(self.metrics, self.significance, seed_range=seed_range,
                       untrained_seasonal=self.untrained_name if self.is_seasonal_index else None)

    @property
    def is_seasonal_index(self) -> bool:
        """The "model" forecast is the seasonal index applied to the untrained LSTM's starting point (the
        smoothed level, or the last price): a seasonal series on which every fit kept the untrained LSTM."""
        return self.untrained_name != "naive" and self.untrained_everywhere

    @property
    def best_other_baseline(self) -> str | None:
        """The baseline with the lowest MAE apart from naive (the adjusted naive, the smoothed level, seasonal
        naive, drift, window mean, and the classical peers when they ran); seasonal naive without a season is
        naive, and left out, as is a baseline the model's forecast equals (the untrained LSTM's row, when every
        fit kept the untrained LSTM: the line against it says so). None when every baseline left forecasts
        what naive or the model forecasts on the test span (a price flat there but for a step)."""
        naive, model = self.forecasts["naive"], self.forecasts["model"]
        others = [name for name, f in self.forecasts.items()
                  if name not in ("model", "naive") and not np.array_equal(f, naive) and not np.array_equal(f, model)]
        return min(others, key=lambda name: self.metrics[name]["mae"]) if others else None

    @cached_property
    def significance_vs_best(self) -> dict[str, float] | None:
        """Diebold-Mariano test of the model against ``best_other_baseline`` on absolute errors (None without one)."""
        return None if self.best_other_baseline is None else self.diebold_mariano_against(self.best_other_baseline)

    @property
    def mae_ratio_vs_best(self) -> float:
        """The model's MAE over ``best_other_baseline``'s (NaN without one)."""
        return math.nan if self.best_other_baseline is None else mae_ratio(self.metrics, self.best_other_baseline)

    @property
    def verdict_vs_best(self) -> str:
        """Against the best baseline after naive: better, worse or no significant difference."""
        if self.best_other_baseline is None:
            return ("none differs from naive: every other baseline forecasts what naive (or the model) forecasts at every "
                    "test point, so the verdict against naive says it all")
        return verdict_against(self.best_other_baseline, self.metrics, self.significance_vs_best)

    @property
    def untrained_name(self) -> str:
        """The baseline row that is the untrained LSTM's own forecast: on a seasonal run with the returns target,
        ``smoothed_level`` (``adjusted_naive`` with ``--no-smooth-level``); else ``naive`` (without a season, or without
        the seasonal adjustment, the untrained model forecasts the last price)."""
        c = self.config
        if self.season > 1 and c.deseasonalise and c.target == "returns":
            return "smoothed_level" if c.smooth_level else "adjusted_naive"
        return "naive"

    @property
    def untrained_words(self) -> str:
        """``untrained_name`` in words: "smoothed level", "adjusted naive" or "naive"."""
        return self.untrained_name.replace("_", " ")

    @cached_property
    def significance_vs_untrained(self) -> dict[str, float]:
        """Diebold-Mariano test of the model against its untrained version's forecast on absolute errors."""
        return self.diebold_mariano_against(self.untrained_name)

    @property
    def verdict_vs_untrained(self) -> str:
        """Against the untrained LSTM's forecast (``untrained_name``): what the LSTM itself adds."""
        name = self.untrained_name
        if self.config.target != "returns":
            return "a price-level model's untrained version (a random head) is no forecast to compare with: see the verdict"
        if name == "naive":
            return "the untrained LSTM forecasts the last price (no seasonal adjustment), so it is naive: see the verdict"
        if np.array_equal(self.forecasts["model"], self.forecasts[name]):
            return (f"is the {self.untrained_words} itself (MAE 1.000x): every fit kept the untrained LSTM, whose forecast is "
                    f"{UNTRAINED_FORECASTS[name]}; the LSTM adds nothing here")
        return verdict_against(name, self.metrics, self.significance_vs_untrained)

    def cutoff_date(self, fit: Fit) -> str:
        """The stamp of the last price ``fit`` could see (with the time of day for intraday data)."""
        return self.data.frequency.stamp(self.data.frame.index[fit.cutoff])

    def __repr__(self) -> str:
        return (f"ForecastResult({Path(self.data.source).name}, {len(self.actual)} test points, h={self.config.horizon}: "
                f"{self.verdict})")

    def _repr_html_(self) -> str:
        return reporting.html(self)

    def metrics_frame(self) -> pd.DataFrame:
        """The metrics of the model and every baseline, one row each (MAE, RMSE, MAPE %, MASE, MAE / naive, hit rate)."""
        return reporting.metrics_frame(self)

    def intervals_frame(self) -> pd.DataFrame:
        """The prediction intervals' coverage on the test span and mean width, per forecaster and level."""
        return reporting.intervals_frame(self)

    def table(self) -> str:
        """Model and baselines side by side, then the verdict and any warnings."""
        return reporting.table(self)

    def report(self) -> dict[str, Any]:
        """Everything the run found, as the JSON-able document written to report.json."""
        return reporting.report_document(self)

    def predictions_frame(self) -> pd.DataFrame:
        """One row per test point: date, actual, last input and every forecast."""
        return reporting.predictions_frame(self)

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write report.json, predictions.csv, forecast.png, loss.png and model.npz into ``out``, as one unit."""
        return reporting.write_outputs(self, out)


def plan_forecast(series: PriceSeries, config: ForecastConfig) -> tuple[ForecastConfig, int, list[str]]:
    """The settings this series gets: its season (given, or from the calendar when the data before the
    test span confirm it) and every automatic setting, with one note per choice."""
    prices = series.prices.to_numpy(dtype=float)
    season, season_note = choose_season(config, series.frame.index, prices)
    try:
        config, notes = adapt_to_series(config, len(prices), season)
        _check_spans(walk_forward_origins(len(prices), config), config.horizon, season)
    except DataError as exc:
        raise DataError(f"{series.source}: {exc}") from None
    return config, season, [season_note] + notes


def _check_spans(origins: np.ndarray, horizon: int, season: int) -> None:
    """Refuse a horizon longer than the test span (the block bootstrap and the Diebold-Mariano test
    need at least one horizon of test points) and a season longer than the history before it."""
    if horizon > len(origins):
        raise DataError(f"--horizon {horizon} is longer than the test span of {len(origins)} points; use --test-size {horizon} "
                        f"or more, or --horizon {len(origins)} or less")
    back = season * math.ceil(horizon / season) - horizon  # how far before an origin seasonal naive looks
    if int(origins[0]) < back:
        raise DataError(f"--season {season} needs {back + 1} prices before the first test point, the series has {int(origins[0]) + 1}; "
                        f"use --season {int(origins[0]) + horizon} or less, or a longer history")


def _require_peers() -> None:
    """``classical=True`` is a request: refuse it before any training when statsforecast cannot be imported."""
    try:
        import statsforecast.models  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"--classical needs statsforecast, which cannot be imported ({exc}); {INSTALL_PEERS}, "
                          "or leave --classical out") from None


EXACT_TO_ROUNDING = 1e-9  # a baseline whose MAE is below this fraction of the mean price is exact but for rounding


def _check_not_exact(metrics: dict[str, dict[str, float]], actual: np.ndarray, source) -> None:
    """Refuse a series that a baseline forecasts exactly on the test span (to rounding: a straight line
    of float time stamps leaves drift an MAE of 1e-14): every ratio to it would divide by zero or by
    rounding, and no test can tell a model from it."""
    tolerance = EXACT_TO_ROUNDING * float(np.mean(np.abs(actual)))
    exact = [(name, m["mae"]) for name, m in metrics.items() if name != "model" and m["mae"] <= tolerance]
    if exact:
        raise DataError(f"{source}: {exact[0][0]} forecasts every test point exactly (MAE {exact[0][1]:.3g}; the prices follow "
                        "a straight line or repeat), so no comparison means anything; use a series of real prices")


def level_notes(fits: list[Fit], config: ForecastConfig) -> list[str]:
    """A note, on a seasonal run that starts its forecasts from the smoothed level, saying so with its constants."""
    alphas = [f.level.alpha for f in fits if smooths_level(config, f.seasonal.season)]
    if not alphas:
        return []
    where = "at the cutoff" if len(alphas) == 1 else "at the fits' cutoffs"
    return [f"level: forecasts start from the seasonally adjusted series' exponentially smoothed level, not its last value "
            f"(smoothing constant {', '.join(f'{a:g}' for a in alphas)} {where}, chosen again at each origin); the untrained "
            "LSTM forecasts the smoothed_level row (--no-smooth-level to start from the last value)"]


def run_forecast(data=None, config: ForecastConfig = ForecastConfig(), *, quiet: bool = False, on_plan=None, on_fit=None,
                 checkpoint_dir: str | Path | None = None, resume: bool = False, jobs: int | None = 1) -> ForecastResult:
    """Walk-forward evaluation of an LSTM against the baselines on ``data``.

    Parameters
    ----------
    data : path, PriceSeries, pandas.Series, pandas.DataFrame or None
        Any supported price file; a loaded series; a Series with a DatetimeIndex; a DataFrame with a
        DatetimeIndex or a date column. Every one gets the checks a file gets (``as_price_series``).
        None: the embedded MSFT series.
    config : ForecastConfig
        The settings; those left at None are chosen for the series (``plan_forecast``).
    quiet : bool
        No progress display (by default: a bar per fit in a notebook or a terminal, one line per fit
        in a log).
    on_plan : callable, optional
        ``on_plan(config, season, notes)`` once the settings are chosen, before any training.
    on_fit : callable, optional
        ``on_fit(k, n_fits, fit)`` after every fit.
    checkpoint_dir, resume
        See ``walk_forward``.
    jobs : int or None
        Run the fits (of every seed) side by side on this many local processes, this one included
        (None: one per core; 1, the default: one after the other here). The results are the same. Above 1, a
        script needs the ``if __name__ == "__main__":`` guard (the workers are fresh processes).
    """
    if config.classical:
        _require_peers()
    series = load_embedded() if data is None else as_price_series(data)
    prices = series.prices.to_numpy(dtype=float)
    config, season, notes = plan_forecast(series, config)
    if np.ptp(prices) > 0:  # (a price that never changes gets its own refusal from walk_forward)
        test_origins = walk_forward_origins(len(prices), config)  # refused before any training, when a baseline is exact
        target = prices[test_origins + config.horizon]
        _check_not_exact({name: {"mae": float(np.mean(np.abs(f - target)))} for name, f in
                          baseline_forecasts(prices, test_origins, config.window, config.horizon, season).items()}, target, series.source)
    if on_plan is not None:
        on_plan(config, season, notes)
    seed_forecasts, first_fits, members, seed_calibration, seed_kept = [], [], [], [], []
    cal_origins = None
    try:
        runs = walk_forward_seeds(prices, config, config.seeds, quiet=quiet, on_fit=on_fit, checkpoint_dir=checkpoint_dir,
                                  resume=resume, jobs=jobs)
    except DataError as exc:
        raise DataError(f"{series.source}: {exc}") from None
    for origins, seed_forecast, fits in runs:
        seed_forecasts.append(seed_forecast)
        members.append(fits[-1].model)
        seed_kept.append([f.kept_epoch for f in fits])
        first_fits = first_fits or fits
        if cal_origins is None:
            cal_origins = calibration_origins(int(origins[0]), config, season)
        seed_calibration.append(calibration_forecasts(fits[0], prices, cal_origins, config))
    h = config.horizon
    actual, last = prices[origins + h], prices[origins]
    baselines = baseline_forecasts(prices, origins, config.window, h, season)
    if config.classical:
        peers = classical_forecasts(prices, origins, h, season, config.refit_every)
        baselines.update(peers.forecasts)
        notes += peers.notes
    else:
        notes.append(f"classical peers (ETS, ARIMA, Theta) not run: pass --classical to run them (needs {INSTALL_PEERS})")
    notes += level_notes(first_fits, config)
    scale = naive_scale(prices, int(origins[0]), h)
    seed_metrics = [evaluate_forecasts({"model": f, **baselines}, actual, last, scale)["model"] for f in seed_forecasts]
    if all(np.array_equal(f, seed_forecasts[0]) for f in seed_forecasts):
        model_forecast = seed_forecasts[0].copy()  # identical seeds (all naive, say): their mean would only add rounding
    else:
        model_forecast = np.mean(seed_forecasts, axis=0)
    forecasts = {"model": model_forecast, **baselines}
    intervals = Intervals.build(forecasts, actual, _calibration(prices, cal_origins, seed_calibration, config, season),
                                config.interval_levels, h)
    versus_naive = diebold_mariano(model_forecast - actual, baselines["naive"] - actual, h)
    beats_naive = versus_naive["mean_diff"] < 0 and versus_naive["p_value"] < 0.05
    metrics = evaluate_forecasts(forecasts, actual, last, scale)
    _check_not_exact(metrics, actual, series.source)  # a classical peer may be exact too
    train_returns = np.diff(np.log(prices[: int(origins[0]) + 1]))
    return ForecastResult(
        config=config,
        data=series,
        prices=prices,
        dates=series.frame.index[origins + h],
        actual=actual,
        last=last,
        forecasts=forecasts,
        metrics=metrics,
        direction=direction_base_rates(actual, last),
        diagnostic=persistence_diagnostic(model_forecast, actual, last, beats_naive),
        signal=signal_diagnostics(model_forecast, actual, last, float(np.std(train_returns))),
        fits=first_fits,
        seed_forecasts=seed_forecasts,
        seed_kept_epochs=seed_kept,
        seed_metrics=seed_metrics,
        season=season,
        notes=notes,
        members=members,
        intervals=intervals,
    )


def _calibration(prices: np.ndarray, origins: np.ndarray, seed_calibration: list[np.ndarray], config: ForecastConfig,
                 season: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every forecaster's ``(forecasts, actual)`` on the calibration block: the model (its seeds averaged,
    as on the test span), the baselines and, when run, the classical peers."""
    actual = prices[origins + config.horizon]
    if all(np.array_equal(f, seed_calibration[0]) for f in seed_calibration):
        model = seed_calibration[0]
    else:
        model = np.mean(seed_calibration, axis=0)
    forecasts = {"model": model}
    if len(origins):
        forecasts.update(baseline_forecasts(prices, origins, config.window, config.horizon, season))
        if config.classical:
            forecasts.update(classical_forecasts(prices, origins, config.horizon, season, config.refit_every).forecasts)
    return {name: (f, actual) for name, f in forecasts.items()}
