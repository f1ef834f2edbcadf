"""The ``scratchlstm`` command.

    scratchlstm forecast             walk-forward LSTM forecast vs baselines (embedded MSFT data by default)
    scratchlstm predict              next-step forecast from a saved model and a price file
    scratchlstm fetch COIN           daily prices from CoinGecko into a CSV
    scratchlstm gradcheck            check the hand-written backward against finite differences
    scratchlstm <command> --help     what each command does and its options

Errors the package raises on purpose (bad data, bad settings, bad checkpoints) are printed as a
short message with a non-zero exit code; ``--debug`` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
import traceback
from dataclasses import replace
from typing import Sequence

from .errors import ScratchLSTMError

EXIT_FAILED_CHECK = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL_ERROR = 3


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _add_gradcheck(sub) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="check the LSTM backward against centred finite differences (float64)",
        description=(
            "Builds a random LSTM layer with non-zero biases and initial states, runs forward and the "
            "hand-written backward through time, and compares every gradient (W_x, W_h, b, x, h0, c0) "
            "with centred finite differences in float64. Prints a per-array report; exits 1 on failure."
        ),
    )
    p.add_argument("--steps", type=positive_int, default=6, help="sequence length T (default 6)")
    p.add_argument("--batch", type=positive_int, default=3, help="batch size B (default 3)")
    p.add_argument("--input-size", type=positive_int, default=4, help="input features D (default 4)")
    p.add_argument("--hidden-size", type=positive_int, default=5, help="hidden units H (default 5)")
    p.add_argument("--backend", default="numpy", help="numpy, array_api_strict or cupy (default numpy)")
    p.add_argument("--eps", type=float, default=1e-5, help="finite-difference step (default 1e-5)")
    p.add_argument("--threshold", type=float, default=1e-7, help="pass when every relative error is below this (default 1e-7)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, inputs and loss projection")
    p.set_defaults(run=_run_gradcheck)


def _run_gradcheck(args) -> int:
    from .backend import get_namespace, host_rng
    from .gradcheck import lstm_gradcheck
    from .nn.init import init_lstm_params

    xp = get_namespace(args.backend)
    rng = host_rng(args.seed)
    params = init_lstm_params(args.input_size, args.hidden_size, seed=rng, xp=xp, dtype="float64", forget_bias=1.0)
    x = xp.asarray(rng.standard_normal((args.steps, args.batch, args.input_size)), dtype=xp.float64)
    report = lstm_gradcheck(params, x, seed=args.seed, eps=args.eps, threshold=args.threshold)
    print(
        f"LSTM gradient check: T={args.steps} B={args.batch} D={args.input_size} H={args.hidden_size}, "
        f"backend {args.backend}, float64\n"
    )
    print(report)
    return 0 if report.passed else EXIT_FAILED_CHECK


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 50,100, got {text!r}") from None
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one layer size")
    return sizes


OFF = "off"  # what 'none'/'off' on the command line parses to, so it differs from "not given"


def _none_or(kind):
    def parse(text: str):
        return OFF if text.lower() in ("none", "off") else kind(text)
    return parse


def _add_forecast(sub) -> None:
    from .forecast.config import PRESETS, ForecastConfig

    d = ForecastConfig()
    p = sub.add_parser(
        "forecast",
        help="train and evaluate an LSTM forecast walk-forward, against naive, drift and window-mean baselines",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Loads a price file (Yahoo/yfinance, CryptoDataDownload, Kaggle minute bars, CoinGecko JSON; the embedded\n"
            "MSFT 2000-2013 series when --csv is omitted), fits the LSTM on windows whose target lies before each cutoff,\n"
            "forecasts the test span walk-forward, and prints the model next to the baselines on the same points.\n"
            "Files written to --out: report.json, predictions.csv, forecast.png, loss.png, model.npz.\n\n"
            "Presets (the tutorial pipelines): " + ", ".join(PRESETS) + ". Flags given explicitly override the preset."
        ),
    )
    p.add_argument("--csv", metavar="FILE", help="price file (default: the embedded MSFT daily series)")
    p.add_argument("--out", metavar="DIR", default="forecast-out", help="output folder (default forecast-out)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a tutorial pipeline")
    p.add_argument("--config", metavar="JSON", help="JSON file of settings (field names as below, with _ for -)")
    p.add_argument("--price-column", help="column to use as the price (default Adj Close, else Close)")
    p.add_argument("--missing", choices=("error", "drop", "ffill"), default="error", help="rows without a price: stop (default), drop, or carry forward")
    g = p.add_argument_group("protocol")
    g.add_argument("--window", type=int, help="past steps per window (default: 30, or two seasons on a seasonal series)")
    g.add_argument("--horizon", type=int, help=f"steps ahead (default {d.horizon}; direct multi-step when > 1)")
    g.add_argument("--target", choices=("returns", "price"), help=f"what the model predicts (default {d.target})")
    g.add_argument("--test-size", type=float, help="test points, or a fraction below 1 (default: a quarter of the rows, at most 250)")
    g.add_argument("--season", type=int, help="season length, 1 for none (default: from the dates, if the data confirm it)")
    g.add_argument("--classical", action="store_true", default=None,
                   help="also run AutoETS, AutoARIMA and AutoTheta on the same points (pip install 'scratchlstm[classic]')")
    g.add_argument("--refit-every", type=_none_or(int), help=f"refit every N test points, 'none' to fit once (default {d.refit_every})")
    g.add_argument("--val-fraction", type=float, help="share of training windows for early stopping and the keep-or-revert test (default: 10%%, at least 40 windows, at most a third)")
    g = p.add_argument_group("model and training")
    g.add_argument("--hidden", type=_sizes, dest="hidden_sizes", help="LSTM layer sizes, e.g. 50,100 (default 32)")
    g.add_argument("--dropout", type=float, help=f"dropout after each LSTM layer, in [0, 1) (default {d.dropout})")
    g.add_argument("--epochs", type=int, help="maximum epochs per fit (default: about 1,500 optimizer steps, 30 to 400 epochs)")
    g.add_argument("--batch-size", type=int, help=f"windows per minibatch (default {d.batch_size})")
    g.add_argument("--optimizer", help=f"sgd, rmsprop, adam or adamw (default {d.optimizer})")
    g.add_argument("--lr", type=float, help=f"learning rate (default {d.lr})")
    g.add_argument("--loss", help=f"mse, mae or huber (default {d.loss})")
    g.add_argument("--clip", type=_none_or(float), dest="clip_norm", help=f"clip gradients to this global norm, 'none' for off (default {d.clip_norm})")
    g.add_argument("--patience", type=_none_or(int), help=f"early-stopping patience in epochs, 'none' for off (default {d.patience})")
    g.add_argument("--log-every", type=int, help="print the losses every N epochs")
    g.add_argument("--seed", type=int, help=f"seed of weights, shuffling and dropout (default {d.seed})")
    g.add_argument("--seeds", type=int, help="train N models (seeds seed..seed+N-1), report their spread and their averaged forecast (default 1)")
    g.add_argument("--backend", help="numpy, array_api_strict or cupy (default numpy)")
    g.add_argument("--dtype", choices=("float32", "float64"), help=f"(default {d.dtype})")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from the training checkpoints in OUT/checkpoints (same settings and data)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(run=_run_forecast)


CONFIG_FLAGS = ("window", "horizon", "target", "test_size", "season", "classical", "refit_every", "val_fraction", "hidden_sizes", "dropout", "epochs",
                "batch_size", "optimizer", "lr", "loss", "clip_norm", "patience", "log_every", "seed", "seeds", "backend", "dtype")


def _forecast_config(args):
    from .forecast.config import ForecastConfig, load_config_file, preset

    config = preset(args.preset) if args.preset else ForecastConfig()
    if args.config:
        config = load_config_file(args.config, config)
    changes = {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k) is not None}
    changes = {k: (None if v == OFF else v) for k, v in changes.items()}
    if changes.get("test_size") is not None and changes["test_size"] >= 1:
        changes["test_size"] = int(changes["test_size"])
    return replace(config, **changes)


def _load_quietly(csv: str | None, price_column: str | None, missing: str):
    """Load prices; the notes (duplicates dropped, gaps) are printed by the caller instead of warned."""
    import warnings

    from .data import DataWarning, load_embedded, load_prices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_prices(csv, price_column=price_column, missing=missing) if csv else load_embedded()


def _run_forecast(args) -> int:
    from .backend import get_namespace
    from .forecast.run import run_forecast

    config = _forecast_config(args)
    get_namespace(config.backend)  # fail early on a missing backend
    series = _load_quietly(args.csv, args.price_column, args.missing)
    s = series.summary()
    print(f"data: {s['source']} ({s['format']}), {s['rows']} rows, {s['first_date']} to {s['last_date']}, price column {s['price_column']!r}")
    for note in series.notes:
        print(f"note: {note}")
    print(f"protocol: window {config.window or 'automatic'}, horizon {config.horizon}, target {config.target}, test {config.test_size or 'automatic'}, "
          f"refit every {config.refit_every or 'never'}; model LSTM {list(config.hidden_sizes)} dropout {config.dropout}, "
          f"{config.optimizer} lr {config.lr}, {config.loss}")

    def on_fit(k, n, fit):
        h = fit.history
        if not args.quiet:
            print(f"fit {k + 1}/{n}: cutoff {series.frame.index[fit.cutoff]:%Y-%m-%d}, {fit.train_windows} windows, "
                  f"{len(h.train_loss)} epochs ({h.stop_reason})", flush=True)

    checkpoints = Path(args.out) / "checkpoints"
    try:
        result = run_forecast(series, config, quiet=args.quiet, on_fit=on_fit, checkpoint_dir=checkpoints, resume=args.resume)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the training state and its history are saved in {checkpoints}; "
              "run the same command with --resume to continue where it stopped", file=sys.stderr)
        raise
    print()
    print(result.table())
    paths = result.save(args.out)
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="forecast the next step(s) from a saved model and the latest window of a price file",
                       description="Loads model.npz written by 'scratchlstm forecast', reads the price file, and forecasts the "
                                   "price h steps after its last row from the latest window.")
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="model.npz from a forecast run")
    p.add_argument("--csv", metavar="FILE", help="price file (default: the embedded MSFT series)")
    p.add_argument("--missing", choices=("error", "drop", "ffill"), default="error", help="rows without a price")
    p.add_argument("--price-column", help="column to use as the price (default: the one the model was trained on)")
    p.set_defaults(run=_run_predict)


def _run_predict(args) -> int:
    import numpy as np

    from .errors import CheckpointError, DataError
    from .forecast.config import ForecastConfig
    from .forecast.protocol import Scaler, first_origin, forecast_prices
    from .train import load_trained_model

    model, meta = load_trained_model(args.checkpoint)
    try:
        config = ForecastConfig(**meta["forecast"])
        scaler = Scaler(**meta["scaling"])
        column = meta["data"]["price_column"]
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{args.checkpoint} is not a forecast model (missing {exc}); use the model.npz written by 'scratchlstm forecast'") from None
    try:
        series = _load_quietly(args.csv, args.price_column or column, args.missing)
    except DataError as exc:
        if args.price_column or "no column" not in str(exc):
            raise
        series = _load_quietly(args.csv, None, args.missing)
        print(f"note: the model was trained on {column!r} prices; this file has none, so {series.price_column!r} is used")
    prices = series.prices.to_numpy(dtype=float)
    origin = len(prices) - 1
    if origin < first_origin(config):
        raise DataError(f"{series.source}: the model needs a window of {config.window} prices (+1 for returns), the file has {len(prices)}")
    config = config.updated(backend="numpy", dtype=meta.get("dtype", "float32"))
    season = int(meta.get("seasonal", {}).get("season", 1))  # the index is estimated again from this file's prices
    forecast = float(forecast_prices(model, scaler, prices, np.array([origin]), config, season)[0])
    last_date = series.frame.index[-1]
    print(f"last price {prices[-1]:.4f} on {last_date:%Y-%m-%d}; forecast {config.horizon} step(s) ahead: {forecast:.4f} "
          f"({100 * (forecast / prices[-1] - 1):+.2f}%); naive: {prices[-1]:.4f}")
    return 0


def _add_fetch(sub) -> None:
    p = sub.add_parser("fetch", help="download daily prices of a coin from CoinGecko into a CSV",
                       description="Calls the public CoinGecko API (/coins/COIN/market_chart), drops the last, unfinished day, "
                                   "and writes Date,Close,Volume,Market Cap. Needs a network connection.")
    p.add_argument("coin", help="CoinGecko coin id, e.g. bitcoin, ethereum")
    p.add_argument("--days", type=positive_int, default=365, help="days of history (default 365)")
    p.add_argument("--vs", default="usd", help="quote currency (default usd)")
    p.add_argument("--out", metavar="FILE", help="CSV to write (default COIN-daily.csv)")
    p.set_defaults(run=_run_fetch)


def _run_fetch(args) -> int:
    from .data.coingecko import fetch_to_csv

    out = args.out or f"{args.coin}-daily.csv"
    frame = fetch_to_csv(args.coin, args.days, out, args.vs)
    print(f"wrote {len(frame)} daily closes of {args.coin} ({frame['date'].iloc[0]:%Y-%m-%d} to {frame['date'].iloc[-1]:%Y-%m-%d}) to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchlstm",
        description="An LSTM written by hand: check its gradients, train it, and forecast prices honestly.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_forecast(sub)
    _add_predict(sub)
    _add_fetch(sub)
    _add_gradcheck(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return args.run(args)
    except ScratchLSTMError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"scratchlstm {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"scratchlstm {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not the user's fault: say so in one line, traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(f"scratchlstm {args.command}: internal error: {type(exc).__name__}: {exc}. This is a bug in scratchlstm; "
              "rerun with --debug and report the traceback", file=sys.stderr)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
