"""The ``scratchlstm`` command: parse, call one function, print.

    scratchlstm forecast             walk-forward LSTM forecast vs baselines (embedded MSFT data by default)
    scratchlstm panel PATH           the same on many series (a unique_id, ds, y file or a folder), one summary
    scratchlstm predict              next-step forecast from a saved model and a price file
    scratchlstm fetch COIN           daily prices from CoinGecko into a CSV
    scratchlstm gradcheck            check a hand-written backward against finite differences
    scratchlstm <command> --help     what each command does and its options

Exit codes a script can trust: 0 done; 1 the gradient check failed; 2 a problem with the input,
the settings or the environment (one line on stderr, ``--debug`` for the traceback); 3 a bug in
scratchlstm; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). The forecast flags are generated
from the fields of ``ForecastConfig``, so every setting has one flag and one check.
"""

from __future__ import annotations

import argparse
import difflib
import dataclasses
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from .errors import ScratchLSTMError, exception_chain

EXIT_FAILED_CHECK = 1
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

CONFIG_HELP = ("JSON file of forecast settings: the protocol, model and training fields below, with _ for - "
               "(how the file is read and how the run is spread, such as --price-column or --jobs, are flags only)")
GROUP_TITLES = {"data": "reading the price file", "protocol": "protocol", "model": "model", "training": "training",
                "run": "where and how it runs"}


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: training state is saved and temporary files are removed."""


# The stop signals (SIGINT for Ctrl-C, SIGTERM) received while a command runs, those the launcher received while the
# package imported first. A stop raised inside a library's import can be lost there: pandas' C code turns it into an
# ImportError, which an optional import's "except ImportError" then swallows, and the run went on (to exit 0, or to a
# worker error, its workers stopped by the same Ctrl-C). Kept here, a stop is honoured at the next check and wins over
# the error it caused.
_stops: list[int] = []


def _on_sigterm(signum, frame):
    _stops.append(signal.SIGTERM)
    raise Terminated()


def _stop_asked() -> KeyboardInterrupt | None:
    """The exception of the last stop kept in ``_stops``, or None."""
    if not _stops:
        return None
    return Terminated() if _stops[-1] == signal.SIGTERM else KeyboardInterrupt()


def stop_if_asked() -> None:
    """Raise the stop a library swallowed (see ``_stops``): called after a command's imports, where that happens."""
    stop = _stop_asked()
    if stop is not None:
        raise stop


PRESSED_AGAIN_S = 2.0  # Ctrl-C this soon after the first is the same request to stop, pressed again


class _CtrlC:
    """The SIGINT handler while a command runs: the first Ctrl-C raises KeyboardInterrupt; more within
    ``PRESSED_AGAIN_S`` are ignored, so the stop under way (workers stopped, training state saved, temporary
    files removed) is not itself broken off. Two or three presses 50 ms apart ended the process by SIGINT
    after it had said "interrupted"; a press later than that interrupts again, as Python's own handler does."""

    def __init__(self):
        self.first: float | None = None

    def __call__(self, signum, frame):
        now = time.monotonic()
        if self.first is not None and now - self.first < PRESSED_AGAIN_S:
            return
        self.first = now
        _stops.append(signal.SIGINT)
        raise KeyboardInterrupt


def say(text: str = "") -> None:
    """Print a line of results; a closed stdout (``| head -1``) stops the printing, not the run."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")  # the reader has gone; keep running and keep the files
    except UnicodeEncodeError:
        print(text.encode(sys.stdout.encoding or "utf-8", "backslashreplace").decode(sys.stdout.encoding or "utf-8"), flush=True)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


# ----------------------------------------------------------------------------------------------
# forecast


def _add_settings_flags(parser: argparse.ArgumentParser, config_class, groups: dict) -> None:
    """One flag per field of a settings dataclass: name, help, default and choices from the field itself."""
    from .settings import choices_of, flag_of

    for f in dataclasses.fields(config_class):
        choices = choices_of(f)
        default = f.default if not isinstance(f.default, tuple) else ",".join(map(str, f.default))
        if default is None:
            default = f.metadata.get("none_word") or "none"
        help_text = f.metadata["help"] + (f" ({', '.join(choices)})" if choices else "") + f"; default {default}"
        group = groups.get(f.metadata.get("group"), parser)
        if f.type in ("bool", bool):
            group.add_argument(flag_of(f), dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            group.add_argument(flag_of(f), dest=f.name, metavar=f.name.upper(), default=None, help=help_text.replace("%", "%%"))


def settings_from_args(config_class, args, base=None):
    """``base`` (the class's defaults when None) with the flags given on the command line, each checked."""
    from .settings import flag_of, parse_text

    changes = {}
    for f in dataclasses.fields(config_class):
        given = getattr(args, f.name)
        if given is not None:
            changes[f.name] = given if isinstance(given, bool) else parse_text(config_class, f.name, given, flag_of(f))
    return dataclasses.replace(base if base is not None else config_class(), **changes)


def _groups(parser: argparse.ArgumentParser, keys) -> dict:
    return {key: parser.add_argument_group(GROUP_TITLES[key]) for key in keys}


class _PriceFile(argparse.Action):
    """``--csv FILE`` or the file alone (``scratchlstm forecast prices.csv``), as ``panel`` takes its path:
    both set ``csv``; two different files are refused, since either one could be the one meant."""

    def __call__(self, parser, namespace, value, option_string=None):
        if value is None:  # the positional left out: keep what --csv set
            return
        given = getattr(namespace, "csv", None)
        if given is not None and given != value:
            parser.error(f"two price files, {given!r} and {value!r}: give one, as FILE or as --csv FILE")
        namespace.csv = value


def _add_price_file(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("file", nargs="?", metavar="FILE", action=_PriceFile, default=argparse.SUPPRESS,
                   help="the price file, as --csv FILE")
    p.add_argument("--csv", metavar="FILE", action=_PriceFile, default=None, help=help_text)


def _add_forecast(sub) -> None:
    from .forecast.config import PRESETS

    p = sub.add_parser(
        "forecast",
        help="train and evaluate an LSTM forecast walk-forward against naive, seasonal naive, drift and window mean (--classical: ETS, ARIMA, Theta)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Loads a price file (Yahoo/yfinance, CryptoDataDownload, Kaggle minute bars, CoinGecko JSON, or a plain date and\n"
            "price CSV; comma or point decimals, day- or month-first dates, refused with the flag to pass when the file\n"
            "cannot tell; the embedded MSFT 2000-2013 series when --csv is omitted), fits the LSTM on windows whose target\n"
            "lies before each cutoff, forecasts the test span walk-forward, and prints the model next to the baselines on\n"
            "the same points.\n"
            "Files written to --out, as one unit: report.json, predictions.csv, forecast.png, loss.png, model.npz, run.json.\n\n"
            "Presets (the tutorial pipelines): " + ", ".join(PRESETS) + ". Flags given explicitly override the preset and\n"
            "the --config file. Exit codes: 0 done, 2 bad input or settings, 3 a bug, 130 interrupted, 143 terminated."
        ),
    )
    from .data.options import LoadOptions
    from .forecast.config import ForecastConfig, RunOptions

    _add_price_file(p, "price file (default: the embedded MSFT daily series)")
    p.add_argument("--out", metavar="DIR", default="forecast-out",
                   help="output folder, the run's own: replaced as a whole by each run; one holding files scratchlstm did "
                        "not write is refused (default forecast-out)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a tutorial pipeline")
    p.add_argument("--config", metavar="JSON", help=CONFIG_HELP)
    groups = _groups(p, GROUP_TITLES)
    _add_settings_flags(p, LoadOptions, groups)
    _add_settings_flags(p, ForecastConfig, groups)
    _add_settings_flags(p, RunOptions, groups)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from the training checkpoints in OUT/checkpoints (same settings and data)")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(run=_run_forecast)


def settings_of_flags_only() -> list[tuple[type, str]]:
    """The settings classes whose fields are command-line flags only, not keys of a ``--config`` file, each with the
    remark its flags get in the refusal of such a key."""
    from .data.options import LoadOptions
    from .forecast.config import PanelOptions, RunOptions
    return [(LoadOptions, ""), (RunOptions, ""), (PanelOptions, "scratchlstm panel only")]


def forecast_config_from_args(args):
    """The run's ``ForecastConfig``: the preset, then the ``--config`` file, then the flags given, each checked."""
    from .errors import ConfigError
    from .forecast.config import ForecastConfig, load_config_file, preset

    config = preset(args.preset) if args.preset else ForecastConfig()
    if args.config is not None:
        if not args.config.strip():
            raise ConfigError("--config is empty; give a JSON file of settings, or leave --config out")
        config = load_config_file(args.config, config, flags_only=settings_of_flags_only())
    return settings_from_args(ForecastConfig, args, config)


def _load_quietly(csv: str | None, options):
    """Load prices; the notes (duplicates dropped, gaps) are printed by the caller instead of warned."""
    import warnings

    from .data import DataWarning, load_embedded, load_prices
    from .errors import DataError

    if csv is not None and not csv.strip():
        raise DataError("--csv is empty; give a price file, or leave --csv out to use the embedded MSFT series")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return load_prices(csv, **options.as_kwargs()) if csv else load_embedded()


def _count(n: int, noun: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _run_forecast(args) -> int:
    from .forecast.automatic import most_fits
    from .forecast.config import RunOptions
    from .forecast.executors import workers_started_early

    config = forecast_config_from_args(args)
    options = settings_from_args(RunOptions, args)
    fits = most_fits(config)
    if args.csv is not None and not os.path.isfile(args.csv):  # refused (or read from a pipe) before any fit: no use
        fits = None
    # the fits' worker processes start now, while this one imports pandas and reads the data (about 0.4 s sooner)
    with workers_started_early(options.jobs, 0 if fits is None else fits * config.seeds, imports=FIT_MODULES):
        return _forecast(args, config, options)


FIT_MODULES = ("scratchlstm.forecast.protocol",)  # what a walk-forward's worker imports for its fit


def _forecast(args, config, options) -> int:
    from .backend import get_namespace
    from .data.options import LoadOptions
    from .errors import ConfigError
    from .forecast.output_folder import MANIFEST, check_output_folder
    from . import plots
    from .forecast.run import run_forecast
    from .io import folder_lock

    stop_if_asked()  # a Ctrl-C that pandas' import swallowed: the worker it stopped would be blamed instead
    get_namespace(config.backend)  # fail early on a missing backend
    check_output_folder(args.out)  # before any training: a folder holding the user's own files is refused
    series = _load_quietly(args.csv, settings_from_args(LoadOptions, args))
    say(f"data: {series.describe()}")
    for note in series.notes:
        say(f"note: {note}")
    def on_plan(plan, season, notes):
        from .forecast.executors import local_processes
        from .forecast.protocol import refit_cutoffs

        n_val = "auto" if plan.val_fraction is None else f"{plan.val_fraction:.0%}"
        blocks = refit_cutoffs(len(series.prices), plan)  # each fit's test origins
        n_test, n_fits = sum(map(len, blocks)), len(blocks)
        test = f"{n_test} points" if n_test == plan.test_size else f"{n_test} points ({plan.test_size:g} of the usable origins)"
        say(f"protocol: window {plan.window}, horizon {plan.horizon}, target {plan.target}, season {season}, test {test}, "
            f"refit every {plan.refit_every or 'never'}, validation {n_val} of each fit's windows; model "
            f"{plan.cell.upper()} {list(plan.hidden_sizes)} dropout {plan.dropout}, {plan.optimizer} lr {plan.lr}, {plan.loss}, "
            f"at most {_count(plan.epochs, 'epoch')}")
        processes = local_processes(options.jobs, n_fits * plan.seeds)
        where = ("one after the other" if processes == 1 else
                 f"{processes} at a time, on this process and {_count(processes - 1, 'worker')} (--jobs to change)")
        say(f"fits: {n_fits}" + (f" per seed ({plan.seeds} seeds)" if plan.seeds > 1 else "") + f", {where}")

    fits_done = []

    def on_fit(k, n, fit):
        if not args.quiet:
            say(f"fit {k + 1}/{n}: cutoff {series.frequency.stamp(series.frame.index[fit.cutoff])}, {fit.train_windows} windows, "
                f"{_count(len(fit.history.train_loss), 'epoch')} ({fit.outcome})")
        fits_done.append(k)
        if len(fits_done) == 1 and n > 1:
            plots.prepare()  # the figures' library, while the other fits may still be running on other processes

    with folder_lock(args.out):
        out = Path(args.out)
        checkpoints = out / "checkpoints"
        if args.resume and not list(checkpoints.glob("fit-*.npz")):
            raise ConfigError(f"--resume: {checkpoints} holds no training state to continue (a run that finished removes it); "
                              "run without --resume")
        try:
            result = run_forecast(series, config, quiet=args.quiet, on_plan=on_plan, on_fit=on_fit, checkpoint_dir=checkpoints,
                                  resume=args.resume, jobs=options.jobs)
            paths = result.save(args.out)  # before the table: a reader that stops early loses nothing
        except KeyboardInterrupt:
            if list(checkpoints.glob("fit-*.npz")):  # (saving the outputs replaces the folder, checkpoints and all, at its end)
                _tell(f"\ninterrupted: the training state and its history are saved in {checkpoints}; "
                      "run the same command with --resume to continue where it stopped")
            raise
    say()
    say(result.table())
    say(f"\nwrote {', '.join(str(p) for p in paths.values())}, {out / MANIFEST}")
    return 0


def _add_panel(sub) -> None:
    from .data.options import LoadOptions
    from .forecast.config import PRESETS, ForecastConfig, PanelOptions

    p = sub.add_parser(
        "panel",
        help="the forecast's walk-forward on many series at once (a long-format unique_id, ds, y file or a folder of price "
             "files), in parallel, with one summary; --global: one LSTM across the series",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Runs the walk-forward of 'scratchlstm forecast' on every series of PATH with the same settings (the automatic\n"
            "ones chosen for each series), in parallel on local cores (--jobs) or on a Dask cluster (--scheduler), and\n"
            "writes one summary: per series the LSTM's MAE over naive's, the best other baseline's and the best classical\n"
            "peer's (--classical), with Diebold-Mariano p-values and the verdicts, and the counts over the panel.\n"
            "PATH: a CSV (or Parquet) file in the long format of statsforecast and neuralforecast, with the columns\n"
            "unique_id, ds, y; or a folder of price files, one series per file.\n"
            "Files written to --out: summary.json, summary.csv (one row per series), predictions.csv (every test point),\n"
            "models/SERIES.npz: each series' model (the global model's weights where it kept them), for\n"
            "'scratchlstm predict --checkpoint', and run.json (what was written, each file with its hash).\n"
            "Exit codes: 0 done, 2 bad input or settings, 3 a bug, 130 interrupted, 143 terminated."
        ),
    )
    p.add_argument("path", metavar="PATH", help="long-format file (unique_id, ds, y) or folder of price files")
    p.add_argument("--out", metavar="DIR", default="panel-out", help="output folder (default panel-out)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a tutorial pipeline")
    p.add_argument("--config", metavar="JSON", help=CONFIG_HELP)
    groups = _groups(p, GROUP_TITLES)
    _add_settings_flags(p, LoadOptions, groups)
    _add_settings_flags(p, ForecastConfig, groups)
    _add_settings_flags(p, PanelOptions, groups)
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(run=_run_panel)


def _where(options, n_series: int, *, empty_scheduler: bool = False) -> str:
    """Where a panel's ``n_series`` series run, as the first line says it: "on 2 local processes (one per core)";
    ``empty_scheduler``: ``--scheduler`` was given empty (an unset ``$ADDRESS``), which means local cores."""
    from .forecast.executors import local_cores, local_processes

    if options.scheduler is not None:
        return f"on the Dask scheduler {options.scheduler}"
    processes = local_processes(options.jobs, n_series)
    if options.jobs is None:
        why = ["one per core" if processes == local_cores() else "one per series"]
    else:
        why = [] if processes == options.jobs else [f"one per series; --jobs {options.jobs} asked for more"]
    why += ["--scheduler was empty, so no cluster"] if empty_scheduler else []
    why = f" ({'; '.join(why)})" if why else ""
    return f"on {processes} local process{'es' if processes != 1 else ''}{why}"


def _run_panel(args) -> int:
    from .data.options import LoadOptions
    from .data.panel import load_panel
    from .forecast.config import PanelOptions
    from .forecast.output_folder import check_output_folder
    from .forecast.panel import MODELS_FOLDER, run_panel
    from .io import folder_lock

    stop_if_asked()  # a Ctrl-C that a library's import swallowed
    config = forecast_config_from_args(args)
    options = settings_from_args(PanelOptions, args)
    check_output_folder(args.out)  # before any training, as forecast does: a folder holding the user's own files is refused
    panel = load_panel(args.path, settings_from_args(LoadOptions, args))
    say(f"data: {len(panel.order)} series from {args.path}" + (f" ({len(panel.refused)} refused while reading, said below)"
                                                                if panel.refused else "")
        + f", run {_where(options, len(panel), empty_scheduler=args.scheduler is not None and options.scheduler is None)}"
        + ("; with a global model per window length shared by two or more series" if options.global_model else ""))
    for note in panel.notes:
        say(f"note: {note}")
    for series in panel.values():  # how each file was read, and what the loader fixed, as forecast says it for one
        if Path(args.path).is_dir():
            say(f"data: {series.describe()}")
        for note in series.notes:
            say(f"note: {Path(str(series.source)).name}: {note}")
    with folder_lock(args.out):
        result = run_panel(panel, config, jobs=options.jobs, scheduler=options.scheduler, global_model=options.global_model,
                           quiet=args.quiet)
        paths = result.save(args.out)
    for note in result.notes:
        if note not in panel.notes:  # (said above)
            say(f"note: {note}")
    say()
    say(result.table())
    models = [p for name, p in paths.items() if name.startswith(f"{MODELS_FOLDER}/")]
    say(f"\nwrote {', '.join(str(p) for name, p in paths.items() if p not in models)}"
        + (f", and one model file per series for 'scratchlstm predict' ({len(models)}) in {Path(args.out) / MODELS_FOLDER}" if models else ""))
    return 0


# ----------------------------------------------------------------------------------------------
# predict, fetch, gradcheck


def _add_predict(sub) -> None:
    from .data.options import LoadOptions

    p = sub.add_parser("predict", help="forecast the next step(s) from a saved model and the latest window of a price file",
                       description="Loads model.npz written by 'scratchlstm forecast', reads the price file, checks that the data "
                                   "fit the model (frequency, window length, and for price-level models the price range), and "
                                   "forecasts the price h steps after its last row from the latest window.")
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="model.npz from a forecast run, or models/SERIES.npz from a panel run")
    _add_price_file(p, "price file (default: the embedded MSFT series)")
    _add_settings_flags(p, LoadOptions, _groups(p, ["data"]))
    p.add_argument("--series", metavar="NAME", help="for a long-format file (unique_id, ds, y): the series to forecast "
                                                     "from (default: the one a panel's model was trained on)")
    p.add_argument("--force", action="store_true", help="forecast even when the latest price is far outside a price-level "
                                                        "model's training range")
    p.set_defaults(run=_run_predict)


def _run_predict(args) -> int:
    from .data.options import LoadOptions
    from .errors import DataError
    from .forecast.predict import predict_next

    stop_if_asked()  # a Ctrl-C that a library's import swallowed
    if args.csv is not None and not args.csv.strip():
        raise DataError("--csv is empty; give a price file, or leave --csv out to use the embedded MSFT series")
    if not args.checkpoint.strip():
        raise DataError("--checkpoint is empty; give the model.npz a forecast run wrote, e.g. forecast-out/model.npz")
    prediction = predict_next(args.checkpoint, args.csv, options=settings_from_args(LoadOptions, args), force=args.force,
                              series=args.series)
    say(f"data: {prediction.data}")
    say(f"model: {prediction.model}")
    if prediction.run_verdict:  # how far to trust what follows: the model against naive on its run's test span
        say(f"its run's verdict: {prediction.run_verdict}")
    for note in prediction.notes:
        say(f"note: {note}")
    say(prediction.describe())
    return 0


def _add_fetch(sub) -> None:
    p = sub.add_parser("fetch", help="download daily prices of a coin from CoinGecko into a CSV",
                       description="Calls the public CoinGecko API (/coins/COIN/market_chart, no key), keeps its daily points "
                                   "(00:00 UTC: a row dated D holds the price at the start of D, which CoinGecko records as D-1 "
                                   "ends), drops the running price of the day in progress, and writes Date,Close,Volume,Market "
                                   "Cap. Needs a network connection.")
    p.add_argument("coin", help="CoinGecko coin id, e.g. bitcoin, ethereum")
    p.add_argument("--days", type=positive_int, default=365,
                   help="days of history (default 365, the most the public API serves without a key)")
    p.add_argument("--vs", default="usd", help="quote currency (default usd)")
    p.add_argument("--out", metavar="FILE", help="CSV to write (default COIN-daily.csv)")
    p.set_defaults(run=_run_fetch)


def _run_fetch(args) -> int:
    import re

    from .data.coingecko import fetch_notes, fetch_to_csv
    from .errors import ConfigError

    if not re.fullmatch(r"[\w.-]*\w[\w.-]*", args.coin):  # it becomes part of the address
        raise ConfigError(f"{args.coin!r} is not a CoinGecko coin id; ids are words such as bitcoin, ethereum or usd-coin")
    if not re.fullmatch(r"[A-Za-z0-9]+", args.vs):
        raise ConfigError(f"--vs {args.vs!r} is not a currency code; use one such as usd, eur or btc")
    if args.out is not None and not args.out.strip():
        raise ConfigError(f"--out is empty; name the CSV to write, or leave --out out to write {args.coin}-daily.csv")
    out = args.out or f"{args.coin}-daily.csv"
    frame = fetch_to_csv(args.coin, args.days, out, args.vs)
    first, last = frame["date"].iloc[0], frame["date"].iloc[-1]
    say(f"wrote {len(frame)} daily prices of {args.coin} in {args.vs} (each at 00:00 UTC of its date, {first:%Y-%m-%d} to "
        f"{last:%Y-%m-%d}) to {out}")
    for note in fetch_notes(frame, args.days):
        say(f"note: {note}")
    return 0


def _add_gradcheck(sub) -> None:
    from .nn.cells import CELLS
    from .nn.shapes import ENGINES

    p = sub.add_parser(
        "gradcheck",
        help="check a cell's backward against centred finite differences (float64)",
        description=(
            "Builds a random layer of the cell with non-zero biases and initial states, runs its forward and its "
            "hand-written backward through time, and compares every gradient (the weights, x and the initial states) "
            "with centred finite differences in float64. --engine reference (the default) checks the code the docs "
            "derive, scratchlstm/nn/<cell>.py, as it is on disk now: edit it and check your edit. --engine fast checks "
            "the LSTM's speed kernel, --engine compiled its compiled kernel (needs Numba and SciPy); the GRU and the RNN have "
            "none, so for them both run their reference and say so. "
            "Every path that runs is checked: gradients of every step's output and of the final state alone (dhs=None), "
            "the kernel at batch B and at batch 1 (the compiled one also at a batch it cuts into slices), both GRU variants, "
            "the LSTM's one-step functions, the initial states left out (h0=None), and the forwards that prediction and "
            "validation run (without a cache; states left out) against the one checked. "
            "Prints a per-array report for each path, with each gate block and the worst time step; exits 1 on failure, "
            "also when the backward raises or returns NaN, inf or another dtype."
        ),
    )
    p.add_argument("--cell", choices=tuple(CELLS), default="lstm", help="which cell (default lstm)")
    p.add_argument("--engine", choices=ENGINES, default="reference", help="which code to check (default reference)")
    p.add_argument("--reset-after", choices=("true", "false", "both"), default="both",
                   help="the GRU's variant: true (PyTorch's GRU), false (the reset gate before the recurrent product, "
                        "Keras's reset_after=False) or both (default both; --cell gru only)")
    p.add_argument("--steps", type=positive_int, default=6, help="sequence length T (default 6)")
    p.add_argument("--batch", type=positive_int, default=3, help="batch size B (default 3)")
    p.add_argument("--input-size", type=positive_int, default=4, help="input features D (default 4)")
    p.add_argument("--hidden-size", type=positive_int, default=5, help="hidden units H (default 5)")
    p.add_argument("--backend", default="numpy", help="numpy, array_api_strict or cupy (default numpy)")
    p.add_argument("--eps", type=positive_float, default=1e-5, help="finite-difference step (default 1e-5)")
    p.add_argument("--threshold", type=positive_float, default=1e-7, help="pass when every relative error is below this, above 0 and below 1 (default 1e-7)")
    p.add_argument("--max-entries", type=positive_int, default=None, metavar="N",
                   help="compare at most N entries of each array, drawn at random (default: every entry); for large sizes, "
                        "whose finite differences take two forwards per entry")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the weights, inputs and loss projection")
    p.set_defaults(run=_run_gradcheck)


def _run_gradcheck(args) -> int:
    from .backend import get_namespace, host_rng
    from .errors import ConfigError
    from .gradcheck import cell_gradcheck
    from .nn.cells import get_cell

    reset_after = {"true": True, "false": False, "both": "both"}[args.reset_after]
    if args.cell != "gru" and reset_after != "both":
        raise ConfigError(f"--reset-after is a setting of the GRU; leave it out for --cell {args.cell}")
    largest = max(args.steps * args.batch * args.input_size, (args.input_size + args.hidden_size) * 4 * args.hidden_size)
    if largest * 8 > sys.maxsize:  # past what NumPy can index: "Maximum allowed dimension exceeded", which read as a bug
        raise MemoryError(f"an array of {largest:.3g} float64 numbers")
    xp = get_namespace(args.backend)
    rng = host_rng(args.seed)
    cell = get_cell(args.cell)
    params = cell.init(args.input_size, args.hidden_size, seed=rng, xp=xp, dtype="float64")
    if args.cell == "lstm":  # a non-zero forget bias, so that its block is checked away from 0
        params["b"] = params["b"] + xp.asarray(rng.uniform(-0.5, 0.5, 4 * args.hidden_size), dtype=xp.float64)
    x = xp.asarray(rng.standard_normal((args.steps, args.batch, args.input_size)), dtype=xp.float64)
    variant = {} if args.cell != "gru" else {"reset_after": reset_after}
    report = cell_gradcheck(args.cell, params, x, engine=args.engine, seed=args.seed, eps=args.eps, threshold=args.threshold,
                            max_entries=args.max_entries, **variant)
    say(f"{args.cell.upper()} gradient check: T={args.steps} B={args.batch} D={args.input_size} H={args.hidden_size}, "
        f"backend {args.backend}, float64, engine {args.engine}\n")
    say(str(report))
    return 0 if report.passed else EXIT_FAILED_CHECK


# ----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchlstm",
        description="An LSTM written by hand: check its gradients, train it, and forecast prices honestly.",
        epilog="exit codes: 0 done, 1 gradient check failed, 2 bad input, settings or environment, 3 a bug in scratchlstm, "
               "130 interrupted, 143 terminated",
    )
    debug_help = "show the full traceback on errors"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    _add_forecast(sub)
    _add_panel(sub)
    _add_predict(sub)
    _add_fetch(sub)
    _add_gradcheck(sub)
    for command in sub.choices.values():  # also after the command, where people add it when an error says to
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    return parser


def _unknown_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]) -> None:
    """Exit (status 2) naming the arguments no parser took, from the command's parser where there is one, with the
    nearest option it has for a mistyped one (``--epoks``: ``--epochs``)."""
    command = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    owner = command.choices[args.command] if command is not None and args.command in command.choices else parser
    owner.error(_unrecognized(owner, unknown))


def _unrecognized(owner: argparse.ArgumentParser, unknown: list[str]) -> str:
    """'unrecognized arguments: --epoks 3 (did you mean --epochs for --epoks?)'."""
    options = [o for o in owner._option_string_actions if o.startswith("--")]
    near = [f"{m[0]} for {u.split('=')[0]}" for u in unknown if u.startswith("-")
            for m in [difflib.get_close_matches(u.split("=")[0], options, n=1, cutoff=0.75)] if m]
    return f"unrecognized arguments: {' '.join(unknown)}" + (f" (did you mean {', '.join(near)}?)" if near else "")


class _CommandParser(argparse.ArgumentParser):
    """A command's parser. A required option reported missing while an option it does not know was given is most
    likely that option mistyped (``predict --checkpiont m.npz`` said "the following arguments are required:
    --checkpoint"): the unknown option is said instead, with the one it is nearest."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(args) if args is not None else sys.argv[1:]
        return super().parse_known_args(args, namespace)

    def error(self, message):
        if message.startswith("the following arguments are required"):
            unknown = [a for a in getattr(self, "_given", []) if a.startswith("--") and a.split("=")[0] not in self._option_string_actions]
            if unknown:
                message = _unrecognized(self, unknown)
        super().error(message)


def main(argv: Sequence[str] | None = None, *, stops_before: Sequence[int] = ()) -> int:
    """Run the command ``argv`` (this process's arguments by default) and return its exit status. ``stops_before``:
    the stop signals received before, while the package imported (the ``scratchlstm`` launcher's)."""
    # figures are written to files: the command line chooses matplotlib's file backend for itself,
    # whatever MPLBACKEND says (a bogus value would otherwise break every subcommand at import), and
    # puts the variable back afterwards (main may run inside a longer process, a test for one)
    saved_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        return _main(argv, stops_before)
    finally:
        if saved_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved_backend


SMALLER = {  # what to make smaller when a command runs out of memory
    "gradcheck": "use smaller --steps, --batch, --input-size and --hidden-size",
    "forecast": "use a shorter --csv file, a smaller --window, --hidden-sizes or --batch-size",
    "predict": "use a shorter --csv file",
    "fetch": "use fewer --days",
}


def _open_closed_standard_streams() -> None:
    """Point a closed standard stream (``2>&-``) at the null device: otherwise the next file opened
    takes its number, and whatever is said on stderr would be written into that file. Python leaves
    ``sys.stderr`` None for a stream closed at its start, and ``print(file=None)`` would write to
    stdout: it gets a stream on the null device too."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))


def _interrupted_inside(exc: BaseException) -> bool:
    """Whether Ctrl-C (or SIGTERM) caused ``exc``: one landing inside a library's import (matplotlib's, while the
    first figure is prepared) comes out as that import's ImportError or RuntimeError, which is no bug."""
    return any(isinstance(link, KeyboardInterrupt) for link in exception_chain(exc))


def _main(argv: Sequence[str] | None, stops_before: Sequence[int]) -> int:
    _open_closed_standard_streams()
    handlers = {sig: handler for sig, handler in ((signal.SIGTERM, _on_sigterm), (signal.SIGINT, _CtrlC()))
                if _main_thread() and signal.getsignal(sig) is not signal.SIG_IGN}  # (ignored by whoever started us: kept so)
    _stops[:] = stops_before
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        try:
            parser = build_parser()  # imports most of the package: Ctrl-C lands here in the first half second
            stop_if_asked()
        except KeyboardInterrupt as stop:
            return _stopped("scratchlstm", stop)
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said by the command's own parser, with its usage (the top-level one showed 'scratchlstm COMMAND ...')
            _unknown_arguments(parser, args, unknown)
        if args.command is None:
            parser.print_help()
            return EXIT_USER_ERROR
        try:
            return args.run(args)
        except Exception as exc:
            stop = _stop_asked() or (KeyboardInterrupt() if _interrupted_inside(exc) else None)
            if stop is None:
                return _failed(args, exc)
            return _stopped(f"scratchlstm {args.command}", stop)  # (the error came of the stop)
        except KeyboardInterrupt as stop:
            return _stopped(f"scratchlstm {args.command}", stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stopped(who: str, stop: KeyboardInterrupt) -> int:
    """Say that ``who`` stopped on Ctrl-C or SIGTERM (``stop``), and return the status that says so."""
    terminated = isinstance(stop, Terminated)
    _tell(f"{who}: {'terminated' if terminated else 'interrupted'}")
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _failed(args, exc: Exception) -> int:
    """The line and exit status of a command that raised ``exc`` (no stop asked for)."""
    if isinstance(exc, ScratchLSTMError):
        return _fail(args, f"error: {exc}", EXIT_USER_ERROR)
    if isinstance(exc, MemoryError):  # sizes or a file too large for this machine: the user's to change
        detail = f" ({exc})" if str(exc) else ""
        return _fail(args, f"error: out of memory{detail}; {SMALLER.get(args.command, 'use smaller settings')}", EXIT_USER_ERROR)
    if isinstance(exc, OSError):  # the environment: a full disk, a read-only folder, a missing permission
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(args, f"error: {exc.strerror or exc}{where}", EXIT_USER_ERROR)
    # a bug, not the user's fault: say so in one line, traceback with --debug
    return _fail(args, f"internal error: {type(exc).__name__}: {exc}. This is a bug in scratchlstm; rerun with --debug "
                       "and report the traceback", EXIT_INTERNAL_ERROR)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _fail(args, message: str, code: int) -> int:
    if args.debug:
        try:
            traceback.print_exc()
        except (OSError, ValueError):
            pass
    _tell(f"scratchlstm {args.command}: {message}")
    return code


def _tell(text: str) -> None:
    """One line on stderr; a stderr that cannot be written to changes no exit code."""
    try:
        print(text.encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def run(stops_before: Sequence[int] = ()) -> None:
    """The ``scratchlstm`` command: ``main`` on this process's arguments, then exit with its code. Ctrl-C while the
    interpreter shuts down is ignored: the command has ended and its code stands (it ended the process by SIGINT,
    after "interrupted", or after a finished run's "wrote ..."); SIGTERM then ends the process as by default (unless
    it was ignored from the start)."""
    try:
        code = main(stops_before=stops_before)
    except KeyboardInterrupt:  # pressed between main's return and here
        code = EXIT_INTERRUPTED
    if _main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(code)


if __name__ == "__main__":
    run()
