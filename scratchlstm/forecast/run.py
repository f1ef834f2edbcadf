"""One forecast run, from a price file to a verdict: the Python API behind ``scratchlstm forecast``.

    from scratchlstm.forecast import ForecastConfig, run_forecast
    result = run_forecast("BTC-USD.csv", ForecastConfig(window=60))
    print(result.table())
    result.save("out/")          # report.json, predictions.csv, forecast.png, loss.png, model.npz
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import PriceSeries, load_embedded, load_prices
from ..errors import DataError
from ..io import atomic_write_text
from ..plots import forecast_plot, loss_plot
from ..train import save_model
from .config import ForecastConfig
from .baselines import INSTALL_PEERS, baseline_forecasts, classical_forecasts
from .evaluate import (
    block_bootstrap_ratio,
    diebold_mariano,
    direction_base_rates,
    evaluate_forecasts,
    persistence_diagnostic,
    signal_diagnostics,
    verdict,
)
from .protocol import Fit, adapt_to_series, choose_season, naive_scale, walk_forward


@dataclass
class ForecastResult:
    """Everything a run produced; ``table()`` prints it, ``save(dir)`` writes the files."""

    config: ForecastConfig
    data: PriceSeries
    dates: pd.DatetimeIndex  # target dates of the test points
    actual: np.ndarray  # p[t + h]
    last: np.ndarray  # p[t], the last price the forecaster saw
    forecasts: dict[str, np.ndarray]  # "model" and every baseline
    metrics: dict[str, dict[str, float]]
    direction: dict[str, float]
    diagnostic: dict[str, Any]
    signal: dict[str, Any]
    fits: list[Fit] = field(repr=False)  # the fits of the first seed (their last one is saved as model.npz)
    seed_forecasts: list[np.ndarray] = field(default_factory=list, repr=False)  # one per seed; "model" is their mean
    seed_metrics: list[dict[str, float]] = field(default_factory=list)  # the model's metrics for each seed alone
    season: int = 1  # season length used by seasonal naive and the model's seasonal adjustment
    notes: list[str] = field(default_factory=list)  # what was chosen for this series and why; what was not run

    @cached_property
    def significance(self) -> dict[str, float]:
        """Diebold-Mariano test of the model against naive on absolute errors."""
        return diebold_mariano(self.forecasts["model"] - self.actual, self.forecasts["naive"] - self.actual, self.config.horizon)

    @cached_property
    def significance_squared(self) -> dict[str, float]:
        """The same test on squared errors."""
        return diebold_mariano(self.forecasts["model"] - self.actual, self.forecasts["naive"] - self.actual, self.config.horizon, power=2)

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
    def verdict(self) -> str:
        seed_range = None
        if len(self.seed_metrics) > 1:
            rel = self.seed_spread()["rel_mae"]
            seed_range = (rel["min"], rel["max"])
        return verdict(self.metrics, self.significance, seed_range=seed_range)

    def cutoff_date(self, fit: Fit) -> str:
        """The date of the last price ``fit`` could see."""
        return self.data.frame.index[fit.cutoff].strftime("%Y-%m-%d")

    def table(self) -> str:
        """Model and baselines side by side, then the verdict and any warnings."""
        head = f"{'forecaster':<14} {'MAE':>11} {'RMSE':>11} {'MAPE %':>8} {'MASE':>7} {'rel MAE':>8} {'hit rate':>9}"
        lines = [f"note: {note}" for note in self.notes] + [head, "-" * len(head)]
        for name in self.forecasts:
            m = self.metrics[name]
            hit = "n/a" if math.isnan(m["hit_rate"]) else f"{m['hit_rate']:.1%}"
            lines.append(f"{name:<14} {m['mae']:>11.4f} {m['rmse']:>11.4f} {m['mape']:>8.3f} {m['mase']:>7.3f} {m['rel_mae']:>8.3f} {hit:>9}")
        d, sig = self.direction, self.signal
        lo, hi = sig["hit_rate_interval"]
        hit = "n/a (the model never moved)" if math.isnan(sig["hit_rate"]) else f"{sig['hit_rate']:.1%} (95% interval {lo:.1%}-{hi:.1%})"
        said_up = "" if math.isnan(sig["up_prediction_share"]) else f"; the model said up {sig['up_prediction_share']:.1%} of the times it moved"
        lines.append(f"directions: hit rate {hit}; chance is 50%, up moves were {d['up_share']:.1%} "
                     f"(always guessing the majority scores {d['majority_share']:.1%}){said_up}")
        if math.isnan(sig["hit_rate"]):
            lines.append("signal: none; the model forecasts no change at every point")
        else:
            lines.append(f"signal: predicted vs actual change correlation {self.diagnostic['change_correlation']:.3f}; mean signed error "
                         f"{sig['mean_signed_error']:+.4g}; predicted returns spread {sig['predicted_return_spread_ratio']:.2f}x the training returns'")
        ci = self.mae_ratio_interval
        lines.append(f"vs naive: MAE ratio 95% block-bootstrap interval {ci[0]:.3f}-{ci[1]:.3f}; Diebold-Mariano p = "
                     f"{self.significance['p_value']:.3g} on absolute errors, {self.significance_squared['p_value']:.3g} on squared errors")
        if len(self.seed_metrics) > 1:
            rel = self.seed_spread()["rel_mae"]
            lines.append(f"seeds: {len(self.seed_metrics)} models, MAE {rel['min']:.3f}-{rel['max']:.3f}x naive each "
                         f"(mean {rel['mean']:.3f}); the table's 'model' row is their averaged forecast")
        lines.append(f"verdict: {self.verdict}")
        lines.extend(f"warning: {w}" for w in self.diagnostic["warnings"] + self.signal["warnings"])
        return "\n".join(lines)

    def report(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "season": self.season,
            "notes": list(self.notes),
            "data": self.data.summary(),
            "test": {
                "points": int(len(self.actual)),
                "first_target_date": self.dates[0].strftime("%Y-%m-%d"),
                "last_target_date": self.dates[-1].strftime("%Y-%m-%d"),
                "fits": [{"cutoff_date": self.cutoff_date(f), "train_windows": f.train_windows,
                          "epochs": len(f.history.train_loss), "kept_epoch": f.history.best_epoch + 1,  # 0: the untrained model
                          "stop": f.history.stop_reason}
                         for f in self.fits],
            },
            "metrics": self.metrics,
            "direction": self.direction,
            "persistence": self.diagnostic,
            "signal": self.signal,
            "significance_vs_naive": {"abs_errors": self.significance, "squared_errors": self.significance_squared,
                                      "mae_ratio_interval_95": list(self.mae_ratio_interval)},
            "seeds": {"count": len(self.seed_metrics), "per_seed": self.seed_metrics, "spread": self.seed_spread()},
            "verdict": self.verdict,
        }

    def predictions_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"date": self.dates.strftime("%Y-%m-%d"), "actual": self.actual, "last_input": self.last})
        for name in self.forecasts:
            frame[name] = self.forecasts[name]
        if len(self.seed_forecasts) > 1:
            for k, f in enumerate(self.seed_forecasts):
                frame[f"model_seed{self.config.seed + k}"] = f
        return frame

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write report.json, predictions.csv, forecast.png, loss.png and model.npz into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: out / name for name in ("report.json", "predictions.csv", "forecast.png", "loss.png", "model.npz")}
        atomic_write_text(paths["report.json"], json.dumps(_json_safe(self.report()), indent=2) + "\n")
        atomic_write_text(paths["predictions.csv"], self.predictions_frame().to_csv(index=False, float_format="%.6f"))
        title = f"{Path(self.data.source).name}: h={self.config.horizon} forecasts, {self.verdict}"
        forecast_plot(self.dates, self.actual, self.forecasts["model"], self.forecasts["naive"], paths["forecast.png"], title,
                      self.forecasts["seasonal_naive"] if self.season > 1 else None, self.season)
        loss_plot([f.history for f in self.fits], paths["loss.png"],
                  [f"fit at {self.cutoff_date(f)}" for f in self.fits])
        last_fit = self.fits[-1]
        save_model(paths["model.npz"], last_fit.model, {
            "forecast": self.config.to_dict(),
            "scaling": last_fit.scaler.to_dict(),
            "seasonal": last_fit.seasonal.to_dict(),
            "data": {"price_column": self.data.price_column, "last_date": self.data.summary()["last_date"],
                     "cutoff_date": self.cutoff_date(last_fit)},
        })
        return paths


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_forecast(data: str | Path | PriceSeries | None = None, config: ForecastConfig = ForecastConfig(), *,
                 quiet: bool = True, on_fit=None, checkpoint_dir: str | Path | None = None, resume: bool = False) -> ForecastResult:
    """Walk-forward evaluation of an LSTM against the baselines on ``data``.

    ``data`` is a path to any supported price file, a loaded :class:`PriceSeries`, or None for the
    embedded MSFT series. ``checkpoint_dir``/``resume``: see :func:`walk_forward`.
    """
    series = data if isinstance(data, PriceSeries) else load_embedded() if data is None else load_prices(data)
    prices = series.prices.to_numpy(dtype=float)
    season, season_note = choose_season(config, series.frame.index, prices)
    try:
        config, notes = adapt_to_series(config, len(prices), season)
    except DataError as exc:
        raise DataError(f"{series.source}: {exc}") from None
    notes = [season_note] + notes
    seed_forecasts, first_fits = [], []
    for k in range(config.seeds):
        try:
            origins, seed_forecast, fits = walk_forward(prices, replace(config, seed=config.seed + k), quiet=quiet, on_fit=on_fit,
                                                        checkpoint_dir=checkpoint_dir, resume=resume)
        except DataError as exc:
            raise DataError(f"{series.source}: {exc}") from None
        seed_forecasts.append(seed_forecast)
        first_fits = first_fits or fits
    h = config.horizon
    actual, last = prices[origins + h], prices[origins]
    baselines = baseline_forecasts(prices, origins, config.window, h, season)
    if config.classical:
        peers = classical_forecasts(prices, origins, h, season, config.refit_every)
        baselines.update(peers.forecasts)
        notes += peers.notes
    else:
        notes.append(f"classical peers (ETS, ARIMA, Theta) not run: pass --classical to run them (needs {INSTALL_PEERS})")
    scale = naive_scale(prices, int(origins[0]), h)
    seed_metrics = [evaluate_forecasts({"model": f, **baselines}, actual, last, scale)["model"] for f in seed_forecasts]
    if all(np.array_equal(f, seed_forecasts[0]) for f in seed_forecasts):
        model_forecast = seed_forecasts[0].copy()  # identical seeds (all naive, say): their mean would only add rounding
    else:
        model_forecast = np.mean(seed_forecasts, axis=0)
    forecasts = {"model": model_forecast, **baselines}
    versus_naive = diebold_mariano(model_forecast - actual, baselines["naive"] - actual, h)
    beats_naive = versus_naive["mean_diff"] < 0 and versus_naive["p_value"] < 0.05
    metrics = evaluate_forecasts(forecasts, actual, last, scale)
    train_returns = np.diff(np.log(prices[: int(origins[0]) + 1]))
    return ForecastResult(
        config=config,
        data=series,
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
        seed_metrics=seed_metrics,
        season=season,
        notes=notes,
    )
