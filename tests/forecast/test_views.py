"""What a person sees of a run: progress suited to where it is shown, a short repr, an HTML view, a metrics frame."""

import sys
import types
import warnings

import numpy as np
import pytest

from scratchlstm import progress
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.train import TrainConfig, train
from tests.helpers import random_walk, series_from


@pytest.fixture(scope="module")
def result():
    return run_forecast(series_from(random_walk(200)), ForecastConfig(window=5, hidden_sizes=(3,), epochs=2, test_size=30,
                                                                      refit_every=15), quiet=True)


def _tiny_training(quiet=False, log_every=0):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4, 1)).astype(np.float32), rng.normal(size=(40, 1)).astype(np.float32)
    train(Model.create(ModelConfig(hidden_sizes=(2,)), seed=0), X, y, config=TrainConfig(epochs=3, quiet=quiet, log_every=log_every))


def test_outside_a_terminal_progress_is_one_line_per_fit_without_carriage_returns(capsys):
    _tiny_training()
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") == 1 and err.startswith("training: 3/3 epochs in ")


def test_log_lines_and_quiet(capsys):
    _tiny_training(log_every=1)
    assert capsys.readouterr().err.count("epoch ") == 3
    _tiny_training(quiet=True, log_every=1)
    assert capsys.readouterr().err == ""


def _fake_notebook(monkeypatch, widgets: bool):
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    real = progress.importlib.util.find_spec
    monkeypatch.setattr(progress.importlib.util, "find_spec", lambda name: (object() if widgets else None) if name == "ipywidgets" else real(name))


def test_in_a_notebook_without_ipywidgets_a_text_bar_and_no_warning(monkeypatch):
    _fake_notebook(monkeypatch, widgets=False)
    assert progress.in_notebook()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = progress.progress_bar(3, "training", unit="epoch")
        bar.update()
        bar.close()
    assert type(bar.bar).__module__ == "tqdm.std"


def test_in_a_notebook_with_ipywidgets_the_notebook_bar(monkeypatch):
    pytest.importorskip("ipywidgets")
    _fake_notebook(monkeypatch, widgets=True)
    bar = progress.progress_bar(3, "training")
    assert type(bar.bar).__module__ == "tqdm.notebook"
    bar.close()


def test_a_short_repr_an_html_view_and_a_metrics_frame(result):
    text = repr(result)
    assert len(text) < 300 and text.startswith("ForecastResult(synthetic, 30 test points, h=1:") and result.verdict in text
    frame = result.metrics_frame()
    assert list(frame.index) == list(result.metrics) and frame.loc["naive", "MAE / naive"] == 1.0
    assert frame.loc["model", "MAE"] == result.metrics["model"]["mae"]
    page = result._repr_html_()
    assert "<table" in page and "verdict:" in page and "MAE / naive" in page and len(page) < 5000


def test_the_signal_line_ends_in_a_whole_phrase():
    """It ended "...spread 0.17x the training returns'", the noun of the possessive missing."""
    moving = run_forecast(series_from(random_walk(200)), ForecastConfig(window=5, hidden_sizes=(3,), epochs=2, test_size=30,
                                                                        refit_every=None, target="price"), quiet=True)
    line = next(line for line in moving.table().splitlines() if line.startswith("signal: "))
    assert line.endswith("x the training returns' spread"), line
