"""One forecast run, from a price file to a verdict: the Python API behind ``scratchlstm forecast``.

    from scratchlstm.forecast import ForecastConfig, run_forecast
    result = run_forecast("BTC-USD.csv", ForecastConfig(window=60))
    print(result.table())
    result.save("out/")          # report.json, predictions.csv, forecast.png, loss.png, model.npz
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import PriceSeries, load_embedded, load_prices
from ..io import atomic_write_text
from ..plots import forecast_plot, loss_plot
from ..train import save_model
from .config import ForecastConfig
from .evaluate import BASELINES, baseline_forecasts, diebold_mariano, direction_base_rates, evaluate_forecasts, persistence_diagnostic, verdict
from .protocol import Fit, naive_scale, walk_forward

FORECASTERS = ("model",) + BASELINES


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
    fits: list[Fit] = field(repr=False)

    @property
    def significance(self) -> dict[str, float]:
        """Diebold-Mariano test of the model against naive on absolute errors."""
        return diebold_mariano(self.forecasts["model"] - self.actual, self.forecasts["naive"] - self.actual, self.config.horizon)

    @property
    def verdict(self) -> str:
        return verdict(self.metrics, self.significance)

    def table(self) -> str:
        """Model and baselines side by side, then the verdict and any warnings."""
        head = f"{'forecaster':<12} {'MAE':>11} {'RMSE':>11} {'MAPE %':>8} {'MASE':>7} {'rel MAE':>8} {'hit rate':>9}"
        lines = [head, "-" * len(head)]
        for name in FORECASTERS:
            m = self.metrics[name]
            hit = "n/a" if math.isnan(m["hit_rate"]) else f"{m['hit_rate']:.1%}"
            lines.append(f"{name:<12} {m['mae']:>11.4f} {m['rmse']:>11.4f} {m['mape']:>8.3f} {m['mase']:>7.3f} {m['rel_mae']:>8.3f} {hit:>9}")
        d = self.direction
        lines.append(f"directions: 50% is chance; up moves {d['up_share']:.1%}, so always guessing the majority scores {d['majority_share']:.1%}")
        lines.append(f"verdict: {self.verdict}")
        lines.extend(f"warning: {w}" for w in self.diagnostic["warnings"])
        return "\n".join(lines)

    def report(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "data": self.data.summary(),
            "test": {
                "points": int(len(self.actual)),
                "first_target_date": self.dates[0].strftime("%Y-%m-%d"),
                "last_target_date": self.dates[-1].strftime("%Y-%m-%d"),
                "fits": [{"cutoff_date": self.data.frame.index[f.cutoff].strftime("%Y-%m-%d"), "train_windows": f.train_windows,
                          "epochs": len(f.history.train_loss), "best_epoch": f.history.best_epoch + 1, "stop": f.history.stop_reason}
                         for f in self.fits],
            },
            "metrics": self.metrics,
            "direction": self.direction,
            "persistence": self.diagnostic,
            "significance_vs_naive": self.significance,
            "verdict": self.verdict,
        }

    def predictions_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"date": self.dates.strftime("%Y-%m-%d"), "actual": self.actual, "last_input": self.last})
        for name in FORECASTERS:
            frame[name] = self.forecasts[name]
        return frame

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write report.json, predictions.csv, forecast.png, loss.png and model.npz into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: out / name for name in ("report.json", "predictions.csv", "forecast.png", "loss.png", "model.npz")}
        atomic_write_text(paths["report.json"], json.dumps(_json_safe(self.report()), indent=2) + "\n")
        atomic_write_text(paths["predictions.csv"], self.predictions_frame().to_csv(index=False, float_format="%.6f"))
        title = f"{Path(self.data.source).name}: h={self.config.horizon} forecasts, {self.verdict}"
        forecast_plot(self.dates, self.actual, self.forecasts["model"], self.forecasts["naive"], paths["forecast.png"], title)
        loss_plot([f.history for f in self.fits], paths["loss.png"],
                  [f"fit at {self.data.frame.index[f.cutoff]:%Y-%m-%d}" for f in self.fits])
        last_fit = self.fits[-1]
        save_model(paths["model.npz"], last_fit.model, {
            "forecast": self.config.to_dict(),
            "scaling": last_fit.scaler.to_dict(),
            "data": {"price_column": self.data.price_column, "last_date": self.data.summary()["last_date"],
                     "cutoff_date": self.data.frame.index[last_fit.cutoff].strftime("%Y-%m-%d")},
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
                 quiet: bool = True, on_fit=None) -> ForecastResult:
    """Walk-forward evaluation of an LSTM against the baselines on ``data``.

    ``data`` is a path to any supported price file, a loaded :class:`PriceSeries`, or None for the
    embedded MSFT series.
    """
    series = data if isinstance(data, PriceSeries) else load_embedded() if data is None else load_prices(data)
    prices = series.prices.to_numpy(dtype=float)
    origins, model_forecast, fits = walk_forward(prices, config, quiet=quiet, on_fit=on_fit)
    h = config.horizon
    actual, last = prices[origins + h], prices[origins]
    forecasts = {"model": model_forecast, **baseline_forecasts(prices, origins, config.window, h)}
    metrics = evaluate_forecasts(forecasts, actual, last, naive_scale(prices, int(origins[0]), h))
    return ForecastResult(
        config=config,
        data=series,
        dates=series.frame.index[origins + h],
        actual=actual,
        last=last,
        forecasts=forecasts,
        metrics=metrics,
        direction=direction_base_rates(actual, last),
        diagnostic=persistence_diagnostic(model_forecast, actual, last),
        fits=fits,
    )
