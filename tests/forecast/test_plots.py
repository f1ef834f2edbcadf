"""Figures are values: each plot function returns its Figure, writes a PNG only when given a path,
and importing the package leaves matplotlib alone. The forecast and loss figures say what they show."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from scratchlstm import plots  # noqa: E402
from scratchlstm.traces import gradient_flow, lstm_trace  # noqa: E402
from scratchlstm.nn.init import init_lstm_params, init_rnn_params  # noqa: E402


def _history(train, val):
    return SimpleNamespace(train_loss=list(train), val_loss=list(val))


def _prices(n=120):
    dates = pd.date_range("2022-01-03", periods=n, freq="D")
    actual = 100 + np.cumsum(np.random.default_rng(0).standard_normal(n))
    naive = np.concatenate([[actual[0]], actual[:-1]])  # yesterday's price
    return dates, actual, naive


def _every_figure():
    dates, actual, naive = _prices()
    x = np.random.default_rng(1).standard_normal((12, 2, 2))
    trace = lstm_trace(init_lstm_params(2, 3, dtype="float64"), x)
    flow = gradient_flow("rnn", init_rnn_params(2, 3, dtype="float64"), x)
    return {
        "forecast_plot": lambda path: plots.forecast_plot(dates, actual, actual + 0.5, naive, path),
        "loss_plot": lambda path: plots.loss_plot([_history([1.0, 0.5, 0.3], [1.1, 0.6, 0.7])], path=path),
        "gate_heatmaps": lambda path: plots.gate_heatmaps(trace, path, inputs=x[:, 0, :], marks=[3]),
        "gradient_flow_plot": lambda path: plots.gradient_flow_plot([flow], path),
        "cell_diagram": lambda path: plots.cell_diagram(path),
    }


@pytest.mark.parametrize("name", list(_every_figure()))
def test_plot_returns_an_open_figure_and_writes_nothing_without_a_path(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = _every_figure()[name](None)
    assert isinstance(fig, Figure)
    assert plt.fignum_exists(fig.number), "without a path the figure stays open for the caller"
    assert list(tmp_path.iterdir()) == []
    plt.close(fig)


@pytest.mark.parametrize("name", list(_every_figure()))
def test_plot_with_a_path_writes_a_png_and_closes_the_figure(name, tmp_path):
    path = tmp_path / "sub" / f"{name}.png"
    fig = _every_figure()[name](path)
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file is left beside it"


IMPORT_ALONE = """
import sys
import scratchlstm, scratchlstm.forecast, scratchlstm.plots
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib")
assert not loaded, f"importing scratchlstm imported {loaded[:3]}"
"""

AFTER_MATPLOTLIB = """
import matplotlib
backend = dict.__getitem__(matplotlib.rcParams, "backend")  # as the user left it, unresolved
import scratchlstm.forecast, scratchlstm.plots
assert dict.__getitem__(matplotlib.rcParams, "backend") is backend
matplotlib.use("svg")  # a user's own choice survives drawing a figure
scratchlstm.plots.forecast_plot([0, 1, 2], [1.0, 2.0, 3.0], [1.0, 1.0, 2.0], [1.0, 1.0, 2.0])
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
"""


@pytest.mark.parametrize("code", [IMPORT_ALONE, AFTER_MATPLOTLIB], ids=["import-alone", "after-matplotlib"])
def test_importing_the_package_leaves_matplotlib_alone(code):
    """In a fresh interpreter: pytest has already imported matplotlib and chosen a backend."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_forecast_plot_says_when_the_model_is_the_naive_forecast():
    dates, actual, naive = _prices()
    fig = plots.forecast_plot(dates, actual, naive.copy(), naive, title="BTC: h=1 forecasts",
                              subtitle="does not beat naive: " + "a long explanation " * 12)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "naive (last price) = model at every point" in labels
    assert fig._suptitle.get_text() == "BTC: h=1 forecasts"
    verdict = fig.axes[0].get_title(loc="left")
    assert verdict.startswith("does not beat naive") and "\n" in verdict, "the verdict is a wrapped subtitle"
    assert tuple(fig.get_size_inches()) == plots.FORECAST_SIZE
    plt.close(fig)


@pytest.mark.parametrize("factor, said", [(1.0, "smoothed level = model at every point"),
                                           (1.0004, "smoothed level; model within 0.04% of it at every point"),
                                           (1.05, "smoothed level")])
def test_forecast_plot_says_when_the_model_hides_the_untrained_lstms_line(factor, said):
    """The green dashed line of the untrained LSTM lay under the red model line, listed in the legend and unseen."""
    dates, actual, naive = _prices()
    level = naive * 0.99
    fig = plots.forecast_plot(dates, actual, level * factor, naive, untrained=level, untrained_label="smoothed level")
    assert said in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_forecast_plot_names_a_model_that_differs_from_naive_plainly():
    dates, actual, naive = _prices()
    fig = plots.forecast_plot(dates, actual, naive * 1.05, naive)
    assert "naive (last price)" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_forecast_plot_zooms_on_the_last_points_where_a_one_step_lag_shows():
    dates, actual, naive = _prices(250)
    fig = plots.forecast_plot(dates, actual, naive, naive, zoom_points=30)
    whole, last = fig.axes[:2]
    shown = [line.get_xdata() for line in last.get_lines()]
    assert all(len(x) == 30 for x in shown)
    assert pd.Timestamp(shown[0][0]) == dates[-30] and pd.Timestamp(shown[0][-1]) == dates[-1]
    assert all(len(line.get_xdata()) == 250 for line in whole.get_lines())
    plt.close(fig)


@pytest.mark.parametrize("n", [20, 30])
def test_forecast_plot_draws_a_test_span_no_longer_than_the_zoom_once(n):
    """A test span of 30 points or fewer was drawn twice: a top panel shaded from end to end and the
    same points again below."""
    dates, actual, naive = _prices(n)
    fig = plots.forecast_plot(dates, actual, naive * 1.01, naive, subtitle="the verdict", zoom_points=30)
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    assert len(ax.patches) == 0 and not any("shaded" in t.get_text() for t in ax.texts)  # nothing shaded, no zoom title
    assert ax.get_title(loc="left") == "the verdict"
    assert all(len(line.get_xdata()) == n and line.get_marker() == "o" for line in ax.get_lines()[1:])  # actual and model
    plt.close(fig)


def _rendered_labels(fig, axis) -> list[str]:
    fig.canvas.draw()
    ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    return [t.label1.get_text() for t in ticks if t.label1.get_visible() and t.label1.get_text()]


@pytest.mark.parametrize("train", [[0.2, 0.03, 0.015, 0.012, 0.011, 0.010, 0.009], [1.02, 1.01, 1.015, 1.012]])
def test_loss_plot_ticks_are_whole_epochs_and_plain_numbers(train):
    val = [v * 1.3 for v in train]
    fig = plots.loss_plot([_history(train, val)])
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    epochs = [v for v in ax.get_xticks() if lo <= v <= hi]
    assert epochs and all(float(v).is_integer() for v in epochs)
    labels = _rendered_labels(fig, ax.yaxis)
    assert labels and all(_is_plain_number(text) for text in labels), labels
    plt.close(fig)


def _is_plain_number(text: str) -> bool:
    try:
        float(text.replace("\N{MINUS SIGN}", "-"))
    except ValueError:
        return False
    return "e" not in text.lower()


def test_loss_plot_legend_stays_outside_the_curves():
    fig = plots.loss_plot([_history([1.0, 0.5, 0.2], [1.2, 0.6, 0.3]), _history([0.9, 0.4], [1.0, 0.5])],
                          labels=["fit at 2021-12-11", "fit at 2022-04-15"], kept_epochs=[3, 2])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend, axes = fig.legends[0].get_window_extent(renderer), fig.axes[0].get_window_extent(renderer)
    assert not legend.overlaps(axes)
    plt.close(fig)


def test_loss_plot_marks_the_kept_epoch_of_each_fit():
    first = _history([1.0, 0.5, 0.3, 0.25], [1.1, 0.6, 0.4, 0.45])
    second = _history([0.9, 0.8], [0.7, 0.75])
    fig = plots.loss_plot([first, second], labels=["fit A", "fit B"], kept_epochs=[3, 0], untrained_losses=[None, 0.65])
    marks = [(tuple(line.get_xdata()), tuple(line.get_ydata())) for line in fig.axes[0].get_lines()
             if line.get_linestyle() == "None"]
    assert ((3,), (0.4,)) in marks, "fit A kept epoch 3: marked on its validation loss"
    assert ((0,), (0.65,)) in marks, "fit B kept its untrained weights: marked at epoch 0 on their validation loss"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "fit A: kept epoch 3" in labels
    assert "fit B: kept the untrained weights" in labels
    plt.close(fig)


def test_loss_plot_refuses_kept_epochs_that_do_not_fit():
    with pytest.raises(ValueError, match="kept epoch 5 is outside 0..3"):
        plots.loss_plot([_history([1.0, 0.5, 0.3], [1.1, 0.6, 0.4])], kept_epochs=[5])
    with pytest.raises(ValueError, match="kept_epochs has 2 entries for 1 histories"):
        plots.loss_plot([_history([1.0], [1.1])], kept_epochs=[1, 1])
    plt.close("all")


def test_forecast_plot_refuses_series_of_different_lengths():
    dates, actual, naive = _prices(20)
    with pytest.raises(ValueError, match="same number of points .* got 20, 19, 20 and 20"):
        plots.forecast_plot(dates, actual[1:], naive, naive)
    plt.close("all")


def test_cell_diagram_names_every_array_with_the_codes_symbols():
    fig = plots.cell_diagram()
    text = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    for symbol in ("x_t", "h_{t-1}", "c_{t-1}", "a =", "$i$", "$f$", "$g$", "$o$", "c_t =", "h_t =", "W_x", "W_h", "$b$"):
        assert symbol in text, f"the diagram does not name {symbol}"
    for block in ("a[:, 0H:1H]", "a[:, 1H:2H]", "tanh(a[:, 2H:3H])", "a[:, 3H:4H]", "(B, 4H)", "(B, D)"):
        assert block in text, f"the diagram does not show {block}"
    plt.close(fig)


def test_forecast_plot_shades_the_intervals_and_draws_the_untrained_lstm():
    dates, actual, naive = _prices()
    model = naive * 1.01
    lower80, upper80, lower95, upper95 = model * 0.98, model * 1.02, model * 0.96, model * 1.04
    lower95[:3] = upper95[:3] = np.nan  # too few errors known yet: a gap, not a band
    fig = plots.forecast_plot(dates, actual, model, naive, bands=[(95, lower95, upper95), (80, lower80, upper80)],
                              untrained=naive * 1.005, untrained_label="smoothed level x seasonal index (the untrained LSTM)")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95% prediction interval (conformal)" in labels and "80% prediction interval (conformal)" in labels
    assert "smoothed level x seasonal index (the untrained LSTM)" in labels
    bands = [c for c in fig.axes[0].collections if c.get_label().endswith("(conformal)")]
    assert [b.get_label()[:3] for b in bands] == ["95%", "80%"]
    ys = np.concatenate([p.vertices[:, 1] for p in bands[1].get_paths()])
    assert ys.min() == pytest.approx(np.min(lower80)) and ys.max() == pytest.approx(np.max(upper80))
    assert bands[0].get_alpha() < bands[1].get_alpha(), "the wider band is the lighter"
    plt.close(fig)


def _legend_markers(fig) -> set[str]:
    return {t.get_text() for t in fig.legends[0].get_texts()} & {"kept epoch", "untrained weights (epoch 0)", "validation loss"}


def _drawn_markers(fig) -> set[str]:
    return {line.get_marker() for line in fig.axes[0].get_lines() if line.get_linestyle() == "None"}


@pytest.mark.parametrize("kept, untrained, expected", [
    ([0], [None], set()),  # kept the untrained weights, whose loss is unknown: nothing drawn, nothing listed
    ([0], [0.65], {"untrained weights (epoch 0)"}),
    ([2], [None], {"kept epoch"}),
])
def test_loss_plot_legend_lists_only_markers_that_are_drawn(kept, untrained, expected):
    fig = plots.loss_plot([_history([1.0, 0.5], [1.1, 0.6])], kept_epochs=kept, untrained_losses=untrained)
    listed = _legend_markers(fig) - {"validation loss"}
    drawn = {{"*": "kept epoch", "o": "untrained weights (epoch 0)"}[m] for m in _drawn_markers(fig)}
    assert listed == drawn == expected, (listed, drawn)
    plt.close(fig)


def test_loss_plot_says_why_validation_can_sit_below_training():
    fig = plots.loss_plot([_history([1.0, 0.5], [0.6, 0.4])])
    text = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert "dropout" in text and "scale" in text and "validation loss" in _legend_markers(fig)
    plt.close(fig)
    no_val = plots.loss_plot([_history([1.0, 0.5], [])])
    text = " ".join(t.get_text() for t in no_val.findobj(matplotlib.text.Text))
    assert "dropout" not in text and "validation loss" not in _legend_markers(no_val)  # no validation curve drawn
    plt.close(no_val)


def test_a_gradient_that_reaches_zero_in_float64_says_where_in_its_legend():
    """On a log axis an exact 0 is not drawn: the curve fell out of the figure, which read as a cliff at that step."""
    flow = gradient_flow("rnn", init_rnn_params(2, 3, dtype="float64"), np.random.default_rng(1).standard_normal((12, 2, 2)))
    vanished = SimpleNamespace(kind="rnn", distance=flow.distance, dh_norm=np.where(flow.distance >= 7, 0.0, flow.dh_norm),
                               dc_norm=None)
    labels = [t.get_text() for t in plots.gradient_flow_plot([flow, vanished], labels=["kept", "vanished"]).legends[0].get_texts()]
    plt.close("all")
    assert labels == ["kept: ||dL/dh_t||", "vanished: ||dL/dh_t|| (0 in float64 from distance 7)"]
