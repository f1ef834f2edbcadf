"""The forecaster's settings: one flat dataclass, each field declared once with its help and rules.

``ForecastConfig`` is what ``run_forecast`` takes, what ``--config`` files hold and what the command
line's flags are generated from (``scratchlstm forecast --help`` lists every field). The knobs it
shares with the model and the trainer are inherited from ``ModelConfig`` and ``TrainConfig`` by
name (default, help and rules), and the model's and trainer's configurations are derived from it by
field name (``model_config``, ``train_config``). Where the forecaster deliberately differs from the
library's defaults (``epochs``, ``patience``), the difference is declared here with its reason.

Settings whose value is None (``auto`` on the command line) are chosen for each series by
``automatic.adapt_to_series``, from its length and its season, and every choice is reported: the test
span, the window, the validation block, the season and the number of epochs.

``tbptt`` is a trainer setting for long sequences with a target at every step; the forecaster's
windows are short and have one target, so it is not a forecast setting.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Sequence

from ..backend import BACKENDS
from ..errors import ConfigError
from ..nn.model import ModelConfig
from ..settings import check_fields, flag_of, from_mapping, inherit, pick, setting
from ..train import TrainConfig
from .baselines import INSTALL_PEERS
from .executors import INSTALL_DASK

TARGETS = ("returns", "price")
DTYPES = ("float32", "float64")


def _test_size_problem(value) -> str | None:
    if isinstance(value, float) and value == 1:  # 1.0: all of the series, or one test point?
        return "is ambiguous: a fraction of the series must be below 1; for one test point write 1"
    if isinstance(value, float) and not (0 < value < 1 or (value >= 1 and value == int(value))):
        return "must be a whole number of test points (at least 1) or a fraction in (0, 1)"
    if isinstance(value, int) and value < 1:
        return "must be a whole number of test points (at least 1) or a fraction in (0, 1)"
    return None


def _interval_levels_problem(levels: tuple[int, ...]) -> str | None:
    if not all(1 <= level <= 99 for level in levels):
        return "must be whole percentages between 1 and 99, such as [80, 95] (--interval-levels 80,95 on the command line)"
    repeated = next((level for k, level in enumerate(levels) if level in levels[:k]), None)
    if repeated is not None:
        return f"gives the level {repeated} twice; give each level once, such as [80, 95] (--interval-levels 80,95 on the command line)"
    return None


@dataclass(frozen=True)
class ForecastConfig:
    """Everything a forecast run needs; each field is also a command-line flag."""

    # the protocol
    window: int | None = setting(None, "past steps the model sees; auto: 30, or two seasons (8 to 60 steps) on a seasonal "
                                 "series", at_least=1, none_word="auto", group="protocol")
    horizon: int = setting(1, "steps ahead to forecast (direct multi-step when above 1)", at_least=1, group="protocol")
    target: str = setting("returns", "what the model predicts: log-returns (scaled by their training spread) or price "
                          "levels (standardised)", choices=TARGETS, group="protocol")
    test_size: int | float | None = setting(None, "walk-forward test points, or a fraction of the usable origins when below "
                                            "1; auto: a quarter of the rows, at most 250", check=_test_size_problem,
                                            none_word="auto", group="protocol")
    refit_every: int | None = setting(125, "refit the model every this many test points; 'none': fit once", at_least=1,
                                      none_word="none", group="protocol")
    val_fraction: float | None = setting(None, "last part of each fit's training windows used for early stopping and the "
                                         "keep-or-revert test; auto: 10% of the first fit's, at least 40 windows, at most "
                                         "a third", at_least=0.0, below=0.5, none_word="auto", group="protocol")
    season: int | None = setting(None, "season length in steps, 1 for none; auto: from the calendar (12 for monthly, 4 "
                                 "quarterly, 7 daily, ...) when the data before the test span confirm it", at_least=1,
                                 none_word="auto", group="protocol")
    deseasonalise: bool = setting(True, "on a seasonal series, the model learns the series divided by its seasonal index "
                                  "(fitted up to each cutoff and origin)", group="protocol")
    smooth_level: bool = setting(True, "on a seasonal series, the forecast starts from the adjusted series' exponentially "
                                 "smoothed level (its constant chosen on the values up to each origin) rather than its "
                                 "last value, and the model learns that level's one-step errors", group="protocol")
    classical: bool = setting(False, f"also run AutoETS, AutoARIMA and AutoTheta on the same points; needs {INSTALL_PEERS}",
                              group="protocol")
    interval_levels: tuple[int, ...] = setting((80, 95), "levels (%) of the split-conformal prediction intervals, calibrated "
                                               "on the residuals known before each test point",
                                               check=_interval_levels_problem, group="protocol")
    # the model
    cell: str = inherit(ModelConfig, "cell")
    hidden_sizes: tuple[int, ...] = inherit(ModelConfig, "hidden_sizes")
    dropout: float = inherit(ModelConfig, "dropout")
    init: str = inherit(ModelConfig, "init")
    # training
    epochs: int | None = inherit(TrainConfig, "epochs", default=None, none_word="auto",
                                 why="auto: about 1,500 optimizer steps per fit, 30 to 400 epochs, enough to converge")
    batch_size: int = inherit(TrainConfig, "batch_size")
    optimizer: str = inherit(TrainConfig, "optimizer")
    lr: float = inherit(TrainConfig, "lr")
    weight_decay: float = inherit(TrainConfig, "weight_decay")
    loss: str = inherit(TrainConfig, "loss")
    clip_norm: float | None = inherit(TrainConfig, "clip_norm")
    patience: int | None = inherit(TrainConfig, "patience", default=5, why="for 30 epochs; scaled with automatic epochs")
    schedule: str = inherit(TrainConfig, "schedule")
    step_every: int = inherit(TrainConfig, "step_every")
    shuffle: bool = inherit(TrainConfig, "shuffle")
    seed: int = inherit(TrainConfig, "seed", help="seed of the initial weights, the shuffling and the dropout masks")
    seeds: int = setting(1, "train this many models (seeds seed, seed+1, ...) and report their spread and their averaged "
                         "forecast", at_least=1, group="training")
    # where and how it runs
    engine: str = inherit(TrainConfig, "engine", group="run")
    backend: str = setting("numpy", "array library", choices=BACKENDS, group="run")
    dtype: str = setting("float32", "floating-point precision of the weights and data", choices=DTYPES, group="run")
    log_every: int = inherit(TrainConfig, "log_every", group="run")

    def __post_init__(self):
        check_fields(self)

    def automatic(self) -> list[str]:
        """The settings left to ``adapt_to_series`` (None)."""
        return [name for name in ("window", "test_size", "val_fraction", "season", "epochs") if getattr(self, name) is None]

    def model_config(self, input_size: int) -> ModelConfig:
        """The model's architecture: this config's model fields, plus what the protocol decides."""
        # returns target: a zero head makes the untrained model forecast "no change", i.e. exactly naive,
        # so that whatever it learns is measured from naive rather than from a random drift
        return pick(ModelConfig, self, input_size=input_size, output_size=self.horizon, head="last",
                    head_init="zeros" if self.target == "returns" else "glorot")

    def train_config(self, quiet: bool = False) -> TrainConfig:
        """The trainer's configuration: this config's training fields, by name."""
        return pick(TrainConfig, self, quiet=quiet)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes), "interval_levels": list(self.interval_levels)}

    def updated(self, **changes) -> "ForecastConfig":
        """A copy with ``changes`` applied (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


# The tutorial pipelines, each as the tutorial built it (on the series as it is: no seasonal
# adjustment); the report then adds what they did not show.
PRESETS: dict[str, dict[str, Any]] = {
    # 1. two LSTM layers of 32 units, Adam, MSE, CoinGecko daily prices, loss printed every 10 epochs
    "coingecko-2x32": dict(hidden_sizes=(32, 32), optimizer="adam", loss="mse", epochs=50, log_every=10, target="price", window=30,
                           deseasonalise=False),
    # 2. 60 days -> the 61st: LSTM(50) -> dropout .2 -> LSTM(100) -> dropout .2 -> dense(1), RMSprop, MSE, 50 epochs, batch 64
    "btc-60": dict(window=60, hidden_sizes=(50, 100), dropout=0.2, optimizer="rmsprop", loss="mse", epochs=50, batch_size=64, target="price",
                   patience=None, deseasonalise=False),
    # 3. a 7-day window with gradient clipping, 200 epochs, 80/20 split (CryptoDataDownload CSV)
    "cdd-7day": dict(window=7, clip_norm=1.0, epochs=200, test_size=0.2, refit_every=None, target="price", patience=20, deseasonalise=False),
    # 4. 25 units, 240-step window, batch 240, dropout 0.1, Adam, 50/50 split, RMSE (Yahoo stock CSV)
    "yahoo-240": dict(window=240, hidden_sizes=(25,), batch_size=240, dropout=0.1, optimizer="adam", test_size=0.5, refit_every=None,
                      target="price", epochs=30, deseasonalise=False),
}


def preset(name: str) -> ForecastConfig:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return ForecastConfig(**PRESETS[name])


def _no_constants(word: str):
    raise ValueError(f"{word} is not a number a setting can take")


def load_config_file(path: str | Path, base: ForecastConfig | None = None, *, flags_only: Sequence[tuple[type, str]] = ()) -> ForecastConfig:
    """A ``ForecastConfig`` from a JSON file of field names and values, on top of ``base``.

    Every value is checked as the field's type, with no silent conversion: ``"hidden_sizes": "32"``
    is refused (a list such as ``[32]`` is expected), as are unknown keys, NaN and infinities.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc})") from None
    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    _refuse_command_line_only(doc, path, flags_only)
    return from_mapping(ForecastConfig, doc, base=base, source=f"config file {path}")


def _refuse_command_line_only(doc: Any, path, flags_only: Sequence[tuple[type, str]]) -> None:
    """Refuse the keys of the settings that ``--help`` lists beside the forecast's but that are flags only, naming each
    flag with the file's value. ``flags_only`` holds the command line's other settings classes (how the price file is
    read, how the run is spread), each with a remark for its flags ("" or "scratchlstm panel only"). They were refused
    as unknown keys, though --help listed them."""
    if not isinstance(doc, dict):
        return  # from_mapping says what a config file must be
    own = {f.name for f in fields(ForecastConfig)}
    remarks: dict[str, list[str]] = {}
    flag_of_key = {}
    for options, remark in flags_only:
        for f in fields(options):
            flag_of_key[f.name] = f
            remarks.setdefault(f.name, []).append(remark)
    found = [key for key in doc if key not in own and key in flag_of_key]
    if not found:
        return
    flags = " ".join(_as_flag(flag_of_key[key], doc[key]) + ("" if "" in remarks[key] else f" ({remarks[key][0]})")
                     for key in found)
    what = f"{found[0]!r} is a command-line setting" if len(found) == 1 else \
        f"{', '.join(map(repr, found[:-1]))} and {found[-1]!r} are command-line settings"
    raise ConfigError(f"config file {path}: {what} (how the price file is read, how the run is spread), which a config file "
                      f"does not hold; it holds the forecast settings ({', '.join(sorted(own))}). Pass "
                      f"{'it as a flag' if len(found) == 1 else 'them as flags'} instead: {flags}")


def _as_flag(field, value) -> str:
    """The command-line flag of ``field`` with the value a config file gave it (``--decimal ','``, ``--global``)."""
    flag = flag_of(field)
    if isinstance(value, bool):
        return flag if value else "--no-" + flag.removeprefix("--")
    if isinstance(value, (str, int, float)):
        return f"{flag} {shlex.quote(str(value))}"
    return flag


@dataclass(frozen=True)
class RunOptions:
    """How a forecast runs, not what it computes; each field is also a flag of ``scratchlstm forecast``."""

    jobs: int | None = setting(None, "the walk-forward's fits run side by side on this many local processes, this one "
                               "included, with the same results; auto: one per core", at_least=1, none_word="auto", group="run")

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class PanelOptions:
    """How a panel runs; each field is also a flag of ``scratchlstm panel``."""

    global_model: bool = setting(False, "also train one LSTM across the series that share a window length (each normalised "
                                 "by its own season and return spread; a series alone with its window keeps its own model); "
                                 "each series keeps it, fit by fit, only where it beats its untrained version and the series' "
                                 "own model (its first seed's) on validation; one seed, --seed", flag="--global", group="run")
    jobs: int | None = setting(None, "series run in parallel on this many local processes; auto: one per core", at_least=1,
                               none_word="auto", group="run")
    scheduler: str | None = setting(None, "address of a Dask scheduler (tcp://host:8786) whose workers run the series instead; "
                                    f"needs {INSTALL_DASK}", group="run")

    def __post_init__(self):
        check_fields(self)
        if self.scheduler is not None and not self.scheduler.strip():  # --scheduler "$EMPTY": no scheduler, local cores
            object.__setattr__(self, "scheduler", None)
