"""Every forecast setting, from a real command line or a --config file, reaches the run, and --help documents it.

Each field gets a value other than its default; a tiny real run records what the trainer was given
(the model, its windows, its configuration) and what came out, and the test finds the value there.
"""

import dataclasses
import json
import math

import numpy as np
import pytest

import scratchlstm.forecast.protocol as protocol
from scratchlstm.cli import build_parser, forecast_config_from_args
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.settings import flag_of
from tests.helpers import random_walk, series_from

# a value other than the default for every field, and how it is written on a command line
VALUES = {
    "window": (7, "7"), "horizon": (2, "2"), "target": ("price", "price"), "test_size": (12, "12"),
    "refit_every": (5, "5"), "val_fraction": (0.2, "0.2"), "cell": ("gru", "gru"), "hidden_sizes": ((3, 2), "3,2"),
    "dropout": (0.1, "0.1"), "init": ("pytorch", "pytorch"), "epochs": (2, "2"), "batch_size": (16, "16"),
    "optimizer": ("sgd", "sgd"), "lr": (0.01, "0.01"), "weight_decay": (0.001, "0.001"), "loss": ("mae", "mae"),
    "clip_norm": (None, "none"), "patience": (3, "3"), "schedule": ("cosine", "cosine"), "step_every": (5, "5"),
    "shuffle": (False, None), "seed": (3, "3"), "seeds": (2, "2"), "engine": ("reference", "reference"),
    "backend": ("array_api_strict", "array_api_strict"), "dtype": ("float64", "float64"), "log_every": (1, "1"),
    "season": (1, "1"), "deseasonalise": (False, None), "smooth_level": (False, None),
    "classical": (True, None),
    "interval_levels": ((50, 90), "50,90"),
}
BASE = ForecastConfig(window=5, hidden_sizes=(2,), epochs=1, test_size=10, refit_every=None, batch_size=32, val_fraction=0.1,
                      season=7)


def test_every_field_has_a_test_value():
    assert set(VALUES) == {f.name for f in dataclasses.fields(ForecastConfig)}
    for f in dataclasses.fields(ForecastConfig):
        assert VALUES[f.name][0] != f.default, f.name


def _argv(name):
    field = {f.name: f for f in dataclasses.fields(ForecastConfig)}[name]
    value, text = VALUES[name]
    if text is None:  # a boolean: --shuffle / --no-shuffle
        return [flag_of(field) if value else "--no-" + flag_of(field)[2:]]
    return [flag_of(field), text]


def _from_command_line(name, tmp_path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps({**BASE.to_dict()}))
    args = build_parser().parse_args(["forecast", "--config", str(base), *_argv(name)])
    return forecast_config_from_args(args)


def _from_config_file(name, tmp_path):
    value = VALUES[name][0]
    doc = {**BASE.to_dict(), name: list(value) if isinstance(value, tuple) else value}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return forecast_config_from_args(build_parser().parse_args(["forecast", "--config", str(path)]))


def _run_and_record(config, monkeypatch):
    """Run the forecast, recording every call of the trainer."""
    calls = []
    real = protocol.train

    def recording(model, X, y, X_val=None, y_val=None, config=None, **kwargs):
        calls.append({"model": model, "X": X, "X_val": X_val, "train": config})
        return real(model, X, y, X_val, y_val, config, **kwargs)

    monkeypatch.setattr(protocol, "train", recording)
    result = run_forecast(series_from(random_walk(160, seed=1)), config)
    return calls, result


def _reached(name, value, calls, result) -> bool:
    first = calls[0]
    model_config, train_config = first["model"].config, first["train"]
    if name in {f.name for f in dataclasses.fields(type(model_config))}:
        return all(getattr(c["model"].config, name) == value for c in calls)
    if name in {f.name for f in dataclasses.fields(type(train_config))}:
        return all(getattr(c["train"], name) == value for c in calls)
    fits_per_seed = math.ceil(result.config.test_size / (result.config.refit_every or result.config.test_size))
    checks = {
        "window": lambda: first["X"].shape[1] == value,
        "horizon": lambda: model_config.output_size == value and result.config.horizon == value,
        "target": lambda: model_config.head_init == "glorot",  # price levels: no zero head
        "test_size": lambda: len(result.actual) == value,
        "refit_every": lambda: len(calls) == math.ceil(BASE.test_size / value),
        "val_fraction": lambda: first["X_val"].shape[0] == int((first["X"].shape[0] + first["X_val"].shape[0]) * value),
        "seeds": lambda: len(calls) == value * fits_per_seed and len(result.seed_forecasts) == value,
        "backend": lambda: "array_api_strict" in type(first["X"]).__module__,
        "dtype": lambda: str(first["X"].dtype).endswith(value),
        "season": lambda: result.season == value and result.fits[0].seasonal.season == 1,
        "deseasonalise": lambda: result.season == 7 and result.fits[0].seasonal.season == 1,  # season 7, nothing removed
        # season 7 removed, and the forecasts start from the last adjusted value: the untrained LSTM is the adjusted naive
        "smooth_level": lambda: result.fits[0].seasonal.season == 7 and result.untrained_name == "adjusted_naive"
        and all(f.level.alpha == 1.0 for f in result.fits),
        "classical": lambda: {"AutoETS", "AutoARIMA", "AutoTheta"} <= set(result.forecasts)
        or any("not installed" in n for n in result.notes),
        "interval_levels": lambda: result.intervals.levels == value and "model_lower_90" in result.predictions_frame().columns
        and list(result.report()["intervals"]["forecasters"]["naive"]) == ["50", "90"],
    }
    return checks[name]()


@pytest.mark.parametrize("source", [_from_command_line, _from_config_file], ids=["flag", "config-file"])
@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_setting_reaches_the_model_or_the_trainer(name, source, tmp_path, monkeypatch):
    if name == "backend":
        pytest.importorskip("array_api_strict")
    value = VALUES[name][0]
    config = source(name, tmp_path)
    assert getattr(config, name) == value
    changed = {f.name for f in dataclasses.fields(ForecastConfig) if getattr(config, f.name) != getattr(BASE, f.name)}
    assert changed == {name}, changed  # nothing else moved
    with np.errstate(all="ignore"):
        calls, result = _run_and_record(config, monkeypatch)
    assert calls and _reached(name, value, calls, result), name


def test_help_documents_every_field(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["forecast", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(ForecastConfig):
        assert flag_of(f) in text, f.name
        first_words = " ".join(f.metadata["help"].split()[:4])
        assert first_words in text, (f.name, first_words)
