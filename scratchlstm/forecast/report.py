"""What a forecast run shows and writes: the table, report.json, predictions.csv, the figures, model.npz.

The output folder is written as one unit (``write_outputs``, by ``output_folder.write_folder``): the
files and ``run.json``, a manifest naming the run and the SHA-256 of each file, are written into a
hidden folder that takes the output folder's place in one step once all are complete. A failure
before that point (a full disk, an error, Ctrl-C, SIGTERM) leaves the previous run's folder as it
was, never a new ``report.json`` beside an old ``model.npz``. A folder holding files scratchlstm did
not write is refused, and left as it is.

Every function takes a ``ForecastResult`` (``forecast/run.py``), which renders itself through them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..checkpoint import save_models
from ..data.frequency import median_spacing
from .evaluate import mae_ratio, p_text
from .intervals import errors_needed
from .output_folder import write_folder

CSV_FLOAT = "%.10g"  # ten significant digits: a price of 1e-6 keeps them as a price of 40,000 does
RESULT_FILES = ("report.json", "predictions.csv", "forecast.png", "loss.png", "model.npz")


def table(result) -> str:
    """What was chosen for the series, then the model and baselines side by side, the verdict and any warnings."""
    head = f"{'forecaster':<14} {'MAE':>11} {'RMSE':>11} {'MAPE %':>8} {'MASE':>7} {'rel MAE':>8} {'hit rate':>9}"
    lines = [f"note: {note}" for note in result.notes] + [head, "-" * len(head)]
    for name in result.forecasts:
        m = result.metrics[name]
        hit = "n/a" if math.isnan(m["hit_rate"]) else f"{m['hit_rate']:.1%}"
        lines.append(f"{name:<14} {m['mae']:>11.5g} {m['rmse']:>11.5g} {m['mape']:>8.3f} {m['mase']:>7.3f} {m['rel_mae']:>8.3f} {hit:>9}")
    lines.extend(interval_lines(result))
    d, sig = result.direction, result.signal
    lo, hi = sig["hit_rate_interval"]
    hit = "n/a (the model never moved)" if math.isnan(sig["hit_rate"]) else f"{sig['hit_rate']:.1%} (95% interval {lo:.1%}-{hi:.1%})"
    said_up = "" if math.isnan(sig["up_prediction_share"]) else f"; the model said up {sig['up_prediction_share']:.1%} of the times it moved"
    lines.append(f"directions: hit rate {hit}; chance is 50%, up moves were {d['up_share']:.1%} "
                 f"(always guessing the majority scores {d['majority_share']:.1%}){said_up}")
    if math.isnan(sig["hit_rate"]):
        lines.append("signal: none; the model forecasts no change at every point")
    else:
        lines.append(f"signal: predicted vs actual change correlation {result.diagnostic['change_correlation']:.3f}; mean signed error "
                     f"{sig['mean_signed_error']:+.4g}; predicted returns spread {sig['predicted_return_spread_ratio']:.2f}x the training returns' spread")
    ci = result.mae_ratio_interval
    lines.append(f"vs naive: MAE ratio 95% block-bootstrap interval {ci[0]:.3f}-{ci[1]:.3f}; Diebold-Mariano p = "
                 f"{p_text(result.significance['p_value'])} on absolute errors, {p_text(result.significance_squared['p_value'])} on squared errors")
    if len(result.seed_metrics) > 1:
        rel = result.seed_spread()["rel_mae"]
        lines.append(f"seeds: {len(result.seed_metrics)} models, MAE {rel['min']:.3f}-{rel['max']:.3f}x naive each "
                     f"(mean {rel['mean']:.3f}); the table's 'model' row is their averaged forecast")
    lines.append(f"verdict: {result.verdict}")
    if result.untrained_name != "naive":
        lines.append(f"against the {result.untrained_words} (the untrained LSTM's forecast): {result.verdict_vs_untrained}")
    lines.append(f"against the best other baseline: {result.verdict_vs_best}")
    lines.extend(f"warning: {w}" for w in result.diagnostic["warnings"] + result.signal["warnings"])
    return "\n".join(lines)


def interval_lines(result) -> list[str]:
    """The prediction intervals under the table: how they were calibrated, then per forecaster and
    level the coverage on the test span and the mean width (in price units, like the MAE)."""
    if result.intervals is None:
        return []
    iv, summary = result.intervals, result.intervals.summary(result.actual)
    block = (f"the {iv.calibration_points} validation-block errors and " if iv.calibration_points else
             "(no validation-block errors: the block is empty, or none of its origins has the season of prices before it "
             "that seasonal naive needs) ")
    lines = [f"intervals: split conformal on |log(actual / forecast)|, calibrated at each test point on {block}"
             f"the test errors known by then (never later ones)"]
    head = f"{'':<14}" + "".join(f" {f'{level}% cover':>10} {'width':>11}" for level in iv.levels)
    lines.append(head)
    for name in result.forecasts:
        cells = []
        for level in iv.levels:
            c = summary[name][str(level)]
            cover, width = ("n/a", "n/a") if c["points"] == 0 else (f"{c['coverage']:.1%}", f"{c['mean_width']:.5g}")
            cells.append(f" {cover:>10} {width:>11}")
        lines.append(f"{name:<14}" + "".join(cells))
    short = {c["points"] for c in summary["model"].values()}
    if min(short) < len(result.actual):
        lines.append(f"intervals: only {min(short)} of {len(result.actual)} test points had enough errors known before them "
                     f"for the {max(iv.levels)}% interval (it needs {errors_needed(max(iv.levels))})")
    return lines


METRIC_NAMES = {"mae": "MAE", "rmse": "RMSE", "mape": "MAPE %", "mase": "MASE", "rel_mae": "MAE / naive", "hit_rate": "hit rate"}


def metrics_frame(result) -> pd.DataFrame:
    """One row per forecaster (the model first), one column per metric."""
    frame = pd.DataFrame({name: {METRIC_NAMES[k]: m[k] for k in METRIC_NAMES} for name, m in result.metrics.items()}).T
    frame.index.name = "forecaster"
    return frame


def html(result) -> str:
    """A short HTML view for notebooks: the data, the verdict, the metrics and the warnings."""
    from html import escape

    warnings = result.diagnostic["warnings"] + result.signal["warnings"]
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return (f"<div><p><b>{escape(result.data.describe())}</b></p>"
            f"<p>{len(result.actual)} walk-forward test points, horizon {result.config.horizon}; "
            f"<b>verdict:</b> {escape(result.verdict)}; "
            + (f"<b>against the {result.untrained_words} (the untrained LSTM's forecast):</b> {escape(result.verdict_vs_untrained)}; "
               if result.untrained_name != "naive" else "")
            + f"<b>against the best other baseline:</b> {escape(result.verdict_vs_best)}</p>"
            + metrics_frame(result).to_html(float_format=lambda v: f"{v:.4g}", na_rep="n/a")
            + (f"<p>{escape(interval_lines(result)[0])}</p>"
               + intervals_frame(result).to_html(float_format=lambda v: f"{v:.4g}", na_rep="n/a") if result.intervals is not None else "")
            + (f"<ul>{items}</ul>" if items else "") + "</div>")


def report_document(result) -> dict[str, Any]:
    """Everything the run found, as a JSON-able document (report.json)."""
    return {
        "config": result.config.to_dict(),
        "season": result.season,
        "notes": list(result.notes),
        "data": result.data.summary(),
        "test": {
            "points": int(len(result.actual)),
            "first_target_date": result.data.frequency.stamp(result.dates[0]),
            "last_target_date": result.data.frequency.stamp(result.dates[-1]),
            "fits": [{"cutoff_date": result.cutoff_date(f), "train_windows": f.train_windows, "epochs": len(f.history.train_loss),
                      "kept_epoch": f.kept_epoch, "stop": f.outcome}  # kept_epoch 0: the untrained model
                     for f in result.fits],
        },
        "metrics": result.metrics,
        "direction": result.direction,
        "persistence": result.diagnostic,
        "signal": result.signal,
        "significance_vs_naive": {"abs_errors": result.significance, "squared_errors": result.significance_squared,
                                  "mae_ratio_interval_95": list(result.mae_ratio_interval)},
        "seeds": {"count": len(result.seed_metrics), "per_seed": result.seed_metrics, "spread": result.seed_spread()},
        "significance_vs_best_baseline": {"baseline": result.best_other_baseline, "abs_errors": result.significance_vs_best,
                                          "mae_ratio": result.mae_ratio_vs_best},
        "significance_vs_untrained": {"baseline": result.untrained_name, "abs_errors": result.significance_vs_untrained,
                                      "mae_ratio": mae_ratio(result.metrics, result.untrained_name)},
        "intervals": intervals_document(result),
        "verdict": result.verdict,
        "verdict_vs_untrained": result.verdict_vs_untrained,
        "verdict_vs_best_baseline": result.verdict_vs_best,
    }


def intervals_frame(result) -> pd.DataFrame:
    """One row per forecaster; per level, the coverage on the test span and the mean width."""
    summary = result.intervals.summary(result.actual)
    frame = pd.DataFrame({name: {col: summary[name][str(level)][key] for level in result.intervals.levels
                                 for col, key in ((f"{level}% coverage", "coverage"), (f"{level}% mean width", "mean_width"))}
                          for name in result.forecasts}).T
    frame.index.name = "forecaster"
    return frame


def intervals_document(result) -> dict[str, Any] | None:
    """The intervals' method, levels and calibration, and per forecaster and level the coverage on the
    test span, the mean width and the log half-width for the forecast after the last row."""
    if result.intervals is None:
        return None
    iv = result.intervals
    return {"method": "split conformal on |log(actual / forecast)|: at each test point the ceil((n + 1) level)-th smallest of "
                      "the n errors known at its origin (the validation block's, then the earlier test points' whose target "
                      "had been seen); bounds forecast x exp(-/+ that)",
            "levels": list(iv.levels), "calibration_points": iv.calibration_points, "forecasters": iv.summary(result.actual)}


def predictions_frame(result) -> pd.DataFrame:
    """One row per test point: date, actual, last input, and every forecaster's forecast."""
    stamp = result.data.frequency.stamp  # intraday stamps are kept whole
    frame = pd.DataFrame({"date": [stamp(d) for d in result.dates], "actual": result.actual, "last_input": result.last})
    for name, forecast in result.forecasts.items():
        frame[name] = forecast
    if result.intervals is not None:  # after the point forecasts, so that their columns keep their places
        for name, fi in result.intervals.forecasters.items():
            for level in result.intervals.levels:
                frame[f"{name}_lower_{level}"] = fi.lower[level]
                frame[f"{name}_upper_{level}"] = fi.upper[level]
    if len(result.seed_forecasts) > 1:
        for k, f in enumerate(result.seed_forecasts):
            frame[f"model_seed{result.config.seed + k}"] = f
    return frame


def forecast_figure(result, path: str | Path | None = None):
    """The test span's actual prices, the model's forecasts and naive's (a matplotlib Figure)."""
    from ..plots import forecast_plot

    seasonal = result.forecasts["seasonal_naive"] if result.season > 1 else None
    untrained = result.forecasts.get(result.untrained_name) if result.untrained_name != "naive" else None
    if untrained is not None and np.array_equal(untrained, result.forecasts["model"]):
        untrained = None  # the model's line is the untrained LSTM's, and its label says so
    words = {"adjusted_naive": "adjusted naive: last price x seasonal index",
             "smoothed_level": "smoothed level x seasonal index"}.get(result.untrained_name, "naive")
    return forecast_plot(result.dates, result.actual, result.forecasts["model"], result.forecasts["naive"], path=path,
                         title=f"{Path(result.data.source).name}: h={result.config.horizon} forecasts", subtitle=_subtitle(result),
                         seasonal_naive=seasonal, season=result.season, bands=_model_bands(result), untrained=untrained,
                         untrained_label=f"{words} (the untrained LSTM)",
                         model_label=f"untrained LSTM = {words}" if result.is_seasonal_index else "LSTM forecast")


def _subtitle(result) -> str:
    """The verdict, and on a seasonal run whose LSTM learned something, the verdict against its untrained version."""
    if result.untrained_name == "naive" or result.is_seasonal_index:
        return result.verdict  # the untrained LSTM is naive, or the verdict already says the model is it
    return f"{result.verdict}. Against the {result.untrained_words} (the untrained LSTM): {result.verdict_vs_untrained}"


def _model_bands(result) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """The model's intervals as ``(level, lower, upper)``, the widest first."""
    if result.intervals is None:
        return []
    fi = result.intervals.forecasters["model"]
    return [(level, fi.lower[level], fi.upper[level]) for level in sorted(result.intervals.levels, reverse=True)]


def loss_figure(result, path: str | Path | None = None):
    """Training and validation loss of every fit, with the kept epoch marked (a matplotlib Figure)."""
    from ..plots import loss_plot

    return loss_plot([f.history for f in result.fits], labels=[f"fit at {result.cutoff_date(f)}" for f in result.fits],
                     kept_epochs=[f.kept_epoch for f in result.fits], path=path,
                     untrained_losses=[f.untrained_val_loss for f in result.fits])


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def typical_change(prices) -> float:
    """The median absolute log change from one price to the next: how much the prices typically move in a step
    (the median, so that one jump does not set it)."""
    return float(np.median(np.abs(np.diff(np.log(np.asarray(prices, dtype=float))))))


def model_file_meta(result, series: str | None = None) -> dict:
    """What ``model.npz`` records beside the weights, for ``predict``: the settings, the scaling and
    seasonal index of the last fit, the training data's description (with a panel's ``series`` name, by
    which predict picks it from a long-format file) and the intervals' half-widths."""
    last_fit = result.fits[-1]
    train_prices = result.prices[: last_fit.cutoff + 1]
    model_meta = {"forecast": result.config.to_dict(), "scaling": last_fit.scaler.to_dict(), "seasonal": last_fit.seasonal.to_dict(),
                  "data": {"source": str(result.data.source), "price_column": result.data.price_column,
                           "last_date": result.data.summary()["last_date"], "rows": len(result.prices),
                           "last_price": float(result.prices[-1]), "verdict": result.verdict,
                           "cutoff_date": result.cutoff_date(last_fit), "frequency": {"kind": result.data.frequency.kind, "word": result.data.frequency.word,
                                         "median_seconds": median_spacing(result.data.frame.index)},
                           "train_min": float(np.min(train_prices)), "train_max": float(np.max(train_prices)),
                           "train_typical_change": typical_change(train_prices)}}
    if series is not None:
        model_meta["data"]["series"] = series
    if result.intervals is not None:  # what predict needs to put an interval around its forecast
        iv = result.intervals
        model_meta["intervals"] = {"levels": list(iv.levels),
                                   "log_half_width": {str(level): iv.forecasters["model"].next_half_width[level] for level in iv.levels},
                                   "naive_log_half_width": {str(level): iv.forecasters["naive"].next_half_width[level] for level in iv.levels},
                                   "errors": iv.calibration_points + len(result.actual),
                                   "last_error_date": result.data.frequency.stamp(result.dates[-1])}
    return model_meta


def write_model_file(result, path: str | Path, series: str | None = None) -> None:
    """``model.npz``: the model(s) of the last fit that made the evaluated forecast (every seed's
    last model: the forecast is their average, and predict averages them too) and ``model_file_meta``."""
    save_models(path, result.members or [result.fits[-1].model], model_file_meta(result, series))


def _writers(result) -> dict[str, Callable[[Path], None]]:
    """One function per result file that writes it to the path it is given."""
    def text(content: str) -> Callable[[Path], None]:
        return lambda p: p.write_text(content, encoding="utf-8")

    def figure(make) -> Callable[[Path], None]:
        return lambda p: make(result, p)

    return {
        "report.json": text(json.dumps(_json_safe(report_document(result)), indent=2) + "\n"),
        "predictions.csv": text(predictions_frame(result).to_csv(index=False, float_format=CSV_FLOAT)),
        "forecast.png": figure(forecast_figure),
        "loss.png": figure(loss_figure),
        "model.npz": lambda p: write_model_file(result, p),
    }


def write_outputs(result, out: str | Path) -> dict[str, Path]:
    """Write every result file of ``result`` and ``run.json`` into the folder ``out``, as one unit
    (``output_folder.write_folder``). Returns the path of each result file."""
    return write_folder(out, _writers(result))
