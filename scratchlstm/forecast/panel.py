"""Many series in one run: the same honest walk-forward on each, and one summary.

    from scratchlstm.data.panel import load_panel
    from scratchlstm.forecast.panel import run_panel
    panel = run_panel(load_panel("series.csv"), ForecastConfig(), jobs=2)
    print(panel.table())
    panel.save("panel-out/")     # summary.json, summary.csv, predictions.csv, models/<series>.npz

Every series is run by ``run_forecast`` with the same settings (the automatic ones chosen for each
series, as for a single file) and its own seed, in parallel (``executors.map_tasks``: local cores,
or a Dask cluster), so the numbers are the same whatever runs them. With ``global_model=True`` one
LSTM is also trained across the series that share a window length (``global_model.py``; a series alone
with its window gets none), and each series keeps it, or its own model, by the keep-or-revert test on
its validation block.

The summary has one row per series (the model's MAE over every other forecaster's, with a
Diebold-Mariano p-value, and the two verdicts) and the counts over the panel: on how many series
the model beat naive, the untrained LSTM's forecast (on a seasonal series the smoothed level or the adjusted naive: what the LSTM itself adds),
the best other baseline and the best classical peer significantly, on how many it was significantly
worse, and on how many a trained LSTM was kept at all. The prediction intervals' empirical coverage
is given per series and pooled over the panel's test points, for the model and for naive:

    coverage = (test points whose actual lies in the interval) / (test points that had an interval)
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data import PriceSeries
from ..errors import DataError
from ..progress import progress_bar
from .baselines import PEERS
from .config import ForecastConfig, PanelOptions  # PanelOptions: importable from here as before
from .evaluate import p_text, wilson_interval
from .intervals import errors_needed
from .executors import map_tasks, one_blas_thread
from .output_folder import write_folder
from .report import write_model_file
from .run import ForecastResult, run_forecast

SUMMARY_FILES = ("summary.json", "summary.csv", "predictions.csv")
MODELS_FOLDER = "models"  # one model.npz per series, named by ``PanelResult.model_files``
ALPHA = 0.05
COVERAGE_OF = ("model", "naive")  # whose interval coverage the summary gives (naive for comparison)


@dataclass
class SeriesRun:
    """One series of a panel: its result, or why it could not be run, and how long it took."""

    name: str
    result: ForecastResult | None = None  # the per-series LSTM
    error: str | None = None
    seconds: float = 0.0
    chosen: ForecastResult | None = None  # with a global model: the forecast of the model each fit kept
    data: dict | None = None  # what the loader said of the series (``PriceSeries.summary``: how it was read, its notes)
    choices: list[dict] = field(default_factory=list)  # with a global model: per fit, which model it kept ("global" or "per-series") and why

    @property
    def final(self) -> ForecastResult | None:
        """What the panel reports for this series: the chosen models' result with a global model, else the per-series one."""
        return self.chosen if self.chosen is not None else self.result


def forecast_series(name: str, series: PriceSeries, config: ForecastConfig) -> SeriesRun:
    """``run_forecast`` on one series, quietly, with one BLAS thread (the same digits wherever it runs);
    a series the protocol cannot run is returned with the reason."""
    start = time.perf_counter()
    try:
        with one_blas_thread():
            result = run_forecast(series, config, quiet=True)
    except DataError as exc:
        return SeriesRun(name, error=str(exc), seconds=time.perf_counter() - start, data=series.summary())
    return SeriesRun(name, result=result, seconds=time.perf_counter() - start, data=series.summary())


def compare(result: ForecastResult) -> dict[str, dict[str, float]]:
    """The model against every other forecaster on the test span: its MAE over theirs and the
    Diebold-Mariano test on absolute errors (two-sided; ``mean_diff`` < 0: the model is better)."""
    out = {}
    for name in result.forecasts:
        if name == "model":
            continue
        test = result.diebold_mariano_against(name)
        out[name] = {"mae_ratio": result.metrics["model"]["mae"] / result.metrics[name]["mae"], "p_value": test["p_value"],
                     "mean_diff": test["mean_diff"]}
    return out


def outcome(test: dict[str, float]) -> str:
    """"better", "worse" (significantly, at 5%) or "same" (no significant difference)."""
    if test["p_value"] < ALPHA and test["mean_diff"] < 0:
        return "better"
    if test["p_value"] < ALPHA and test["mean_diff"] > 0:
        return "worse"
    return "same"


def coverage_counts(result: ForecastResult) -> dict[str, dict[str, dict[str, float]]]:
    """Per level and forecaster (``COVERAGE_OF``): test points covered, points with an interval, and
    their ratio (NaN without any); empty without intervals."""
    if result.intervals is None:
        return {}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for level in result.intervals.levels:
        out[str(level)] = {}
        for name in COVERAGE_OF:
            fi = result.intervals.forecasters[name]
            lo, hi = fi.lower[level], fi.upper[level]
            has = np.isfinite(lo) & np.isfinite(hi)
            covered = int(np.sum((result.actual[has] >= lo[has]) & (result.actual[has] <= hi[has])))
            points = int(has.sum())
            out[str(level)][name] = {"covered": covered, "points": points, "coverage": covered / points if points else math.nan}
    return out


MAX_STEM_BYTES = 100  # a model file's name before ".npz" (file systems allow 255 bytes; the folder's temporary names add more)


def _short_stem(stem: str, name: str) -> str:
    """``stem``, or where it is longer than ``MAX_STEM_BYTES`` in UTF-8, its start and 8 hex digits of the SHA-256 of
    the series' ``name`` (a 300-letter id failed the panel after every series had run: "File name too long")."""
    encoded = stem.encode("utf-8")
    if len(encoded) <= MAX_STEM_BYTES:
        return stem
    start = encoded[: MAX_STEM_BYTES - 9].decode("utf-8", "ignore")  # (a letter cut in two is dropped)
    return f"{start}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def series_row(run: SeriesRun) -> dict[str, Any]:
    """One series' line of the summary."""
    row: dict[str, Any] = {"series": run.name, "seconds": round(run.seconds, 3)}
    if run.data is not None:
        row["data"] = run.data  # how the file was read and what the loader fixed (summary.json only)
    result = run.final
    if result is None:
        row["error"] = run.error
        return row
    comparisons = compare(result)
    peers = [p for p in PEERS if p in result.forecasts]
    best_peer = min(peers, key=lambda p: result.metrics[p]["mae"]) if peers else None
    best = result.best_other_baseline
    untrained = result.untrained_name  # the untrained LSTM's row: naive on a series without a season
    coverage = coverage_counts(result)
    row.update({
        "rows": len(result.prices), "season": result.season, "window": result.config.window, "test_points": len(result.actual),
        "kept_epochs": [f.kept_epoch for f in result.fits],  # the first seed's
        # the forecast is the seeds' mean: a trained LSTM is in it where any seed's fit kept one
        "trained_lstm_kept": any(e > 0 for epochs in result.seed_kept_epochs for e in epochs),
        "mae_ratio_naive": comparisons["naive"]["mae_ratio"], "p_naive": comparisons["naive"]["p_value"],
        "vs_naive": outcome(comparisons["naive"]),
        **({"kept_epochs_by_seed": result.seed_kept_epochs} if len(result.seed_kept_epochs) > 1 else {}),
        "untrained": untrained, "untrained_is_model": bool(np.array_equal(result.forecasts["model"], result.forecasts[untrained])),
        "mae_ratio_untrained": comparisons[untrained]["mae_ratio"], "p_untrained": comparisons[untrained]["p_value"],
        "vs_untrained": outcome(comparisons[untrained]),
        "best_baseline": best,  # None: every other baseline forecasts what naive (or the model) forecasts
        "mae_ratio_best_baseline": comparisons[best]["mae_ratio"] if best else math.nan,
        "p_best_baseline": comparisons[best]["p_value"] if best else math.nan,
        "vs_best_baseline": outcome(comparisons[best]) if best else "none differs from naive",
        "best_peer": best_peer,
        "mae_ratio_best_peer": comparisons[best_peer]["mae_ratio"] if best_peer else math.nan,
        "p_best_peer": comparisons[best_peer]["p_value"] if best_peer else math.nan,
        "vs_best_peer": outcome(comparisons[best_peer]) if best_peer else "not run",
        "verdict": result.verdict, "verdict_vs_best_baseline": result.verdict_vs_best,
        "verdict_vs_untrained": result.verdict_vs_untrained,
        **{f"coverage_{level}_{name}": c[name]["coverage"] for level, c in coverage.items() for name in COVERAGE_OF},
        **{f"coverage_{level}_points": c["model"]["points"] for level, c in coverage.items()},  # the test points it is over
        "coverage": coverage,
        "versus": comparisons,
    })
    if run.chosen is not None:
        row["models_kept"] = run.choices
        row["global_fits_kept"] = sum(c["kept"] == "global" for c in run.choices)
        row["per_series_mae_ratio_naive"] = run.result.metrics["model"]["rel_mae"]
    return row


def _row_or_error(run: SeriesRun) -> dict[str, Any]:
    """``series_row``, or, should summing up this one series fail, a row naming the failure: the other
    series' results are written all the same."""
    try:
        return series_row(run)
    except Exception as exc:  # a bug in summing up one series, reported in its row rather than losing every row
        return {"series": run.name, "seconds": round(run.seconds, 3),
                "error": f"its summary could not be made ({type(exc).__name__}: {exc}); this is a bug in scratchlstm, please "
                         "report it"}


def _share(coverage: dict[str, float]) -> str:
    """A coverage as a percentage, or n/a where no test point had an interval."""
    return f"{coverage['coverage']:.1%}" if coverage["points"] else "n/a"


def _median(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The counts and medians over the series that ran."""
    ok = [r for r in rows if "error" not in r]
    forecasters = sorted({name for r in ok for name in r["versus"]})
    out: dict[str, Any] = {
        "series": len(rows), "ran": len(ok), "failed": [r["series"] for r in rows if "error" in r],
        "trained_lstm_kept": sum(r["trained_lstm_kept"] for r in ok),
        "global_model_kept": sum(r.get("global_fits_kept", 0) > 0 for r in ok),
        "median_mae_ratio_naive": _median([r["mae_ratio_naive"] for r in ok]),
        "median_mae_ratio_untrained": _median([r["mae_ratio_untrained"] for r in ok]),
        "untrained_is_model": sum(r["untrained_is_model"] for r in ok),
        "median_mae_ratio_best_baseline": _median([r["mae_ratio_best_baseline"] for r in ok]),
        "median_mae_ratio_best_peer": _median([r["mae_ratio_best_peer"] for r in ok]),
    }
    for key in ("vs_naive", "vs_untrained", "vs_best_baseline", "vs_best_peer"):
        out[key] = {word: sum(r[key] == word for r in ok) for word in ("better", "same", "worse")}
    out["coverage"] = pooled_coverage([r["coverage"] for r in ok])
    out["vs_each"] = {name: {word: sum(outcome(r["versus"][name]) == word for r in ok if name in r["versus"])
                             for word in ("better", "same", "worse")} for name in forecasters}
    return out


def pooled_coverage(per_series: list[dict[str, dict[str, dict[str, float]]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per level and forecaster: the points covered and the points with an interval, summed over the
    series, and their ratio (every test point weighs the same), with its Wilson 95% interval."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for coverage in per_series:
        for level, by_name in coverage.items():
            for name, c in by_name.items():
                pooled = out.setdefault(level, {}).setdefault(name, {"covered": 0, "points": 0})
                pooled["covered"] += c["covered"]
                pooled["points"] += c["points"]
    for by_name in out.values():
        for c in by_name.values():
            c["coverage"] = c["covered"] / c["points"] if c["points"] else math.nan
            c["coverage_interval_95"] = list(wilson_interval(c["covered"], c["points"]))
    return out


@dataclass
class PanelResult:
    """Every series' run and the summary over them; ``table()`` prints it, ``save(dir)`` writes it."""

    config: ForecastConfig
    runs: list[SeriesRun]
    global_model: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        files = self.model_files()
        rows = [_row_or_error(run) for run in self.runs]
        for row in rows:
            if row["series"] in files:
                row["model_file"] = f"{MODELS_FOLDER}/{files[row['series']]}"  # where save() writes it
        return rows

    def summary(self) -> dict[str, Any]:
        rows = self.rows()
        return {"config": self.config.to_dict(), "global_model": self.global_model, "seconds": round(self.seconds, 3),
                "notes": self.notes, "overall": overall(rows), "series": rows}

    def table(self) -> str:
        """One line per series, then the counts over the panel."""
        levels = [str(level) for level in self.config.interval_levels]
        head = (f"{'series':<24} {'rows':>5} {'m':>3} {'test':>5} {'/naive':>7} {'p':>7} {'/untr':>7} {'p':>7} {'/best':>7} {'best':<15} "
                f"{'p':>7} {'/peer':>7} " + "".join(f"{'cov' + level:>6} " for level in levels) + f"{'LSTM kept':<10}")
        lines = [head, "-" * len(head)]
        rows = self.rows()
        for r in rows:
            if "error" in r:
                lines.append(f"{r['series'][:24]:<24} not run: {r['error']}")
                continue
            kept = "trained" if r["trained_lstm_kept"] else "untrained"
            if self.global_model:
                kept += " (" + ",".join(sorted({c["kept"] for c in r["models_kept"]})) + ")"
            cover = "".join(f"{_share(r['coverage'][level]['model']) if level in r['coverage'] else '-':>6} " for level in levels)
            peer = f"{'-':>7}" if r["best_peer"] is None else f"{r['mae_ratio_best_peer']:>7.3f}"  # no classical peer ran
            untrained = (f"{'=':>7} {'':>7}" if r["untrained_is_model"]
                         else f"{r['mae_ratio_untrained']:>7.3f} {p_text(r['p_untrained']):>7}")
            best = (f"{'-':>7} {'(none differs)':<15} {'':>7}" if r["best_baseline"] is None else  # every other baseline is naive
                    f"{r['mae_ratio_best_baseline']:>7.3f} {r['best_baseline'][:15]:<15} {p_text(r['p_best_baseline']):>7}")
            lines.append(f"{r['series'][:24]:<24} {r['rows']:>5} {r['season']:>3} {r['test_points']:>5} {r['mae_ratio_naive']:>7.3f} "
                         f"{p_text(r['p_naive']):>7} {untrained} {best} {peer} {cover}{kept:<10}")
        s = overall(rows)
        ok = [r for r in rows if "error" not in r]
        short = [level for level in levels if any(level in r["coverage"] and not r["coverage"][level]["model"]["points"] for r in ok)]
        fewer = {level: [r for r in ok if level in r["coverage"] and 0 < r["coverage"][level]["model"]["points"] < r["test_points"]]
                 for level in levels}  # series whose first test points had too few errors known before them for this level
        lines.append("/naive, /untr, /best, /peer: the LSTM's MAE over naive's, the untrained LSTM's (on a seasonal series the "
                     "smoothed level x seasonal index, or with --no-smooth-level the adjusted naive; '=' where the model is it), "
                     "the best other baseline's and the best classical peer's; p: Diebold-Mariano, two-sided; cov: of the test "
                     "points that had an interval, the share whose actual value fell inside the model's"
                     + ("; n/a: no test point had the errors known before it that the interval needs ("
                        + ", ".join(f"{errors_needed(float(level))} for {level}%" for level in short) + ")" if short else "")
                     + "".join(f"; cov{level} over fewer test points than the series has where the first ones had fewer than the "
                               f"{errors_needed(float(level))} errors known before them that a {level}% interval needs: "
                               + ", ".join(f"{r['series']} {r['coverage'][level]['model']['points']} of {r['test_points']}"
                                           for r in fewer[level][:5]) + (", ..." if len(fewer[level]) > 5 else "")
                               for level in levels if fewer[level]))
        lines.append(f"{s['ran']} of {s['series']} series ran" + (f" (not run: {', '.join(s['failed'])})" if s["failed"] else "")
                     + f"; a trained LSTM was kept on {s['trained_lstm_kept']}"
                     + (f" (the global model on {s['global_model_kept']})" if self.global_model else ""))
        for key, label in (("vs_naive", "naive"), ("vs_untrained", "the untrained LSTM's forecast (the LSTM's own contribution)"),
                           ("vs_best_baseline", "the best other baseline"), ("vs_best_peer", "the best classical peer")):
            c = s[key]
            if key == "vs_best_peer" and not any(c.values()):
                continue
            none = sum(r[key] == "none differs from naive" for r in ok)
            lines.append(f"against {label}: significantly better on {c['better']}, no significant difference on {c['same']}, "
                         f"significantly worse on {c['worse']}" + (f"; none differs from naive on {none}" if none else ""))
        for level, by_name in s["coverage"].items():
            lines.append(f"{level}% intervals, pooled over the panel's test points: " + "; ".join(
                f"{name} covered {c['covered']} of {c['points']} ({_share(c)})" for name, c in by_name.items())
                + (f" (over the test points with a {level}% interval: {len(fewer[level])} series had fewer, named above)"
                   if fewer.get(level) else "")
                + ("" if any(c["points"] for c in by_name.values()) else
                   f": no test point had the {errors_needed(float(level))} errors known before it that a {level}% interval needs"))
        lines.append(f"median MAE ratio: {s['median_mae_ratio_naive']:.3f} to naive, {s['median_mae_ratio_untrained']:.3f} to the "
                     f"untrained LSTM's forecast (the model is it on {s['untrained_is_model']} series), "
                     f"{s['median_mae_ratio_best_baseline']:.3f} to the "
                     f"best other baseline" + (f", {s['median_mae_ratio_best_peer']:.3f} to the best classical peer"
                                                if not math.isnan(s["median_mae_ratio_best_peer"]) else ""))
        return "\n".join(lines)

    def predictions_frame(self) -> pd.DataFrame:
        """Every series' test points in long format: unique_id, ds, actual, last_input and each forecaster."""
        parts = []
        for run in self.runs:
            if run.final is not None:
                frame = run.final.predictions_frame().rename(columns={"date": "ds"})
                frame.insert(0, "unique_id", run.name)
                parts.append(frame)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["unique_id", "ds", "actual"])

    def model_files(self) -> dict[str, str]:
        """Each series that ran and the file name, under ``models/``, of the model its last forecasts
        came from (the global model's weights where it kept them): its name with any character but
        letters, digits, ``.``, ``-`` and ``_`` made ``_`` (dots at the ends dropped), a name of more than
        ``MAX_STEM_BYTES`` bytes cut and followed by 8 hex digits of its SHA-256, and where that name
        is taken already (case aside) ``-2``, ``-3``, ... in file order; so the summary's ``model_file``,
        not the series' name, says which file is whose (and each file records its series)."""
        names: dict[str, str] = {}
        for run in self.runs:
            if run.final is None:
                continue
            stem = _short_stem(re.sub(r"[^\w.-]", "_", run.name).strip(".") or "series", run.name)
            name, k = f"{stem}.npz", 1
            while name.lower() in {n.lower() for n in names.values()}:
                k += 1
                name = f"{stem}-{k}.npz"
            names[run.name] = name
        return names

    def save(self, out: str | Path) -> dict[str, Path]:
        """Write summary.json, summary.csv (one row per series) and predictions.csv into ``out``, and
        every series' model.npz (for ``scratchlstm predict``) into ``out/models/`` (``model_files``), as one
        unit with a manifest, as a forecast's folder is written (``output_folder.write_folder``: a folder that
        holds files scratchlstm did not write is refused, and nothing in it is touched)."""
        summary = self.summary()
        flat = pd.DataFrame([{k: (";".join(c["kept"] if isinstance(c, dict) else str(c) for c in v) if isinstance(v, list) else v)
                              for k, v in r.items() if k not in ("versus", "coverage", "data")} for r in summary["series"]])
        contents = {
            "summary.json": json.dumps(_json_safe(summary), indent=1) + "\n",
            "summary.csv": flat.to_csv(index=False, float_format="%.6g"),
            "predictions.csv": self.predictions_frame().to_csv(index=False, float_format="%.6f"),
        }
        writers = {name: functools.partial(_write_text, text=text) for name, text in contents.items()}
        finals = {run.name: run.final for run in self.runs}
        for series, name in self.model_files().items():
            writers[f"{MODELS_FOLDER}/{name}"] = functools.partial(write_model_file, finals[series], series=series)
        return write_folder(out, writers)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_panel(panel: dict[str, PriceSeries], config: ForecastConfig = ForecastConfig(), *, jobs: int | None = None,
              scheduler: Any = None, global_model: bool = False, quiet: bool = False) -> PanelResult:
    """The walk-forward of ``run_forecast`` on every series of ``panel``, in parallel, and one summary.

    Parameters
    ----------
    panel : dict of str to PriceSeries
        The series by name (``data.panel.load_panel`` reads a long-format file or a folder); the
        series its ``Panel.refused`` names are reported as not run, with the reason.
    config : ForecastConfig
        The settings of every series; the automatic ones are chosen for each series.
    jobs : int, optional
        Local worker processes (None: one per core; 1: in this process).
    scheduler : str or distributed.Client, optional
        A Dask scheduler's address, or a client: the series run on its workers.
    global_model : bool
        Also train one LSTM across the series (``global_model.fit_global``); each series then keeps,
        fit by fit, the global model or its own, by the keep-or-revert test.
    quiet : bool
        No progress bar.

    Returns
    -------
    PanelResult
    """
    refused = getattr(panel, "refused", {})  # series the loader refused (data.panel.Panel): reported as not run
    if not panel:
        raise DataError(next(iter(refused.values()), "the panel holds no series"))
    if global_model:
        from .global_model import check_global

        check_global(config)  # before any series runs: the refusal came after every series' walk-forward
    start = time.perf_counter()
    names = list(panel)
    bar = progress_bar(len(names), "panel", unit="series run", quiet=quiet)

    def done(k, run):
        bar.update(1)
        bar.set_postfix(last=run.name)

    try:
        runs = map_tasks(forecast_series, [(name, panel[name], config) for name in names], jobs=jobs, scheduler=scheduler, on_done=done)
    finally:
        bar.close()
    if refused:
        by_name = {run.name: run for run in runs} | {name: SeriesRun(name, error=reason) for name, reason in refused.items()}
        runs = [by_name[name] for name in panel.order]
    if all(run.result is None for run in runs):
        raise DataError(f"no series of the panel could be run; the first one says: {runs[0].error}")
    notes = list(getattr(panel, "notes", []))  # what the loader left out (a folder's files that are no price files)
    if global_model:
        from .global_model import fit_global

        with one_blas_thread():
            notes += fit_global(runs, config, quiet=quiet)
    return PanelResult(config=config, runs=runs, global_model=global_model, seconds=time.perf_counter() - start, notes=notes)
