"""Forecast settings: one dataclass, sensible defaults, and the tutorial pipelines as presets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..nn.model import ModelConfig
from ..train import TrainConfig

TARGETS = ("returns", "price")


@dataclass(frozen=True)
class ForecastConfig:
    """Everything a forecast run needs; each field is also a command-line flag."""

    # protocol (None: chosen from the series' length and season by protocol.adapt_to_series, and said so)
    window: int | None = None  # past steps the model sees
    horizon: int = 1  # steps ahead to forecast (direct multi-step when > 1)
    target: str = "returns"  # "returns" (log-returns, scaled by their training spread) or "price" (standardised levels)
    test_size: int | float | None = None  # walk-forward test points (a fraction of the usable origins when < 1)
    refit_every: int | None = 125  # refit the model every this many test points (None: fit once)
    val_fraction: float | None = None  # last part of each training span used for early stopping and the keep-or-revert test
    season: int | None = None  # season length; None: from the calendar when the data confirm it; 1: no season
    deseasonalise: bool = True  # the model sees the series divided by its seasonal index (fitted up to each cutoff)
    classical: bool = False  # also run AutoETS, AutoARIMA and AutoTheta on the same points (pip install 'scratchlstm[classic]')
    # model
    hidden_sizes: tuple[int, ...] = (32,)  # LSTM layer sizes, e.g. (50, 100)
    dropout: float = 0.0  # after every LSTM layer while training
    # training
    epochs: int | None = None  # None: about STEP_BUDGET optimizer steps, at least 30 epochs
    schedule: str = "constant"  # learning-rate schedule: constant, cosine, step
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    loss: str = "mse"
    clip_norm: float | None = 1.0
    patience: int | None = 5
    log_every: int = 0
    seed: int = 0
    seeds: int = 1  # train this many models (seeds seed, seed+1, ...) and report their spread and their average
    # where the arrays live
    backend: str = "numpy"
    dtype: str = "float32"

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        if self.window is not None and self.window < 1:
            raise ConfigError(f"window must be at least 1, got {self.window}")
        if self.horizon < 1:
            raise ConfigError(f"horizon must be at least 1, got {self.horizon}")
        if self.target not in TARGETS:
            raise ConfigError(f"unknown target {self.target!r}; choose one of {', '.join(TARGETS)}")
        if self.test_size is not None and not (self.test_size >= 1 or 0 < self.test_size < 1):
            raise ConfigError(f"test_size must be a count >= 1 or a fraction in (0, 1), got {self.test_size}")
        if self.refit_every is not None and self.refit_every < 1:
            raise ConfigError(f"refit_every must be at least 1 or None, got {self.refit_every}")
        if self.season is not None and self.season < 1:
            raise ConfigError(f"season must be at least 1 (1: no season) or None to detect it, got {self.season}")
        if self.val_fraction is not None and not 0.0 <= self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction must be in [0, 0.5), got {self.val_fraction}")
        if self.seeds < 1:
            raise ConfigError(f"seeds must be at least 1, got {self.seeds}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"unknown dtype {self.dtype!r}; choose float32 or float64")
        self.model_config(1)
        self.train_config()

    def model_config(self, input_size: int) -> ModelConfig:
        # returns target: a zero head makes the untrained model forecast "no change", i.e. exactly naive,
        # so that whatever it learns is measured from naive rather than from a random drift
        head_init = "zeros" if self.target == "returns" else "glorot"
        return ModelConfig(input_size=input_size, hidden_sizes=self.hidden_sizes, output_size=self.horizon,
                           dropout=self.dropout, head_init=head_init)

    def train_config(self, quiet: bool = False) -> TrainConfig:
        # returns target: the untrained model (zero head) is exactly naive, and early stopping keeps it
        # unless training beats it on the validation block: a model that learned nothing does no harm
        return TrainConfig(epochs=self.epochs or 30, schedule=self.schedule, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr, loss=self.loss,
                           clip_norm=self.clip_norm, patience=self.patience, seed=self.seed, log_every=self.log_every,
                           keep_initial=self.target == "returns", quiet=quiet)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes)}

    def updated(self, **changes) -> "ForecastConfig":
        """A copy with ``changes`` applied (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


# The tutorial pipelines, each as the tutorial built it (on the series as it is: no seasonal adjustment);
# the report then adds what it did not show.
PRESETS: dict[str, dict[str, Any]] = {
    # 1. two LSTM layers of 32 units, Adam, MSE, CoinGecko daily prices, loss printed every 10 epochs
    "coingecko-2x32": dict(deseasonalise=False, hidden_sizes=(32, 32), optimizer="adam", loss="mse", epochs=50, log_every=10, target="price", window=30),
    # 2. 60 days -> the 61st: LSTM(50) -> dropout .2 -> LSTM(100) -> dropout .2 -> dense(1), RMSprop, MSE, 50 epochs, batch 64
    "btc-60": dict(deseasonalise=False, window=60, hidden_sizes=(50, 100), dropout=0.2, optimizer="rmsprop", loss="mse", epochs=50, batch_size=64, target="price", patience=None),
    # 3. a 7-day window with gradient clipping, 200 epochs, 80/20 split (CryptoDataDownload CSV)
    "cdd-7day": dict(deseasonalise=False, window=7, clip_norm=1.0, epochs=200, test_size=0.2, refit_every=None, target="price", patience=20),
    # 4. 25 units, 240-step window, batch 240, dropout 0.1, Adam, 50/50 split, RMSE (Yahoo stock CSV)
    "yahoo-240": dict(deseasonalise=False, window=240, hidden_sizes=(25,), batch_size=240, dropout=0.1, optimizer="adam", test_size=0.5, refit_every=None, target="price", epochs=30),
}


def preset(name: str) -> ForecastConfig:
    """The preset called ``name``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return ForecastConfig(**PRESETS[name])


def load_config_file(path: str | Path, base: ForecastConfig | None = None) -> ForecastConfig:
    """A :class:`ForecastConfig` from a JSON file of field names and values, on top of ``base``."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    known = {f.name for f in fields(ForecastConfig)}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"config file {path} has unknown keys {unknown}; known keys: {', '.join(sorted(known))}")
    return replace(base or ForecastConfig(), **doc)
