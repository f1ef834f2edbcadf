"""Figures of a forecast run and of a cell's insides, returned as matplotlib Figures.

Every function returns its ``Figure``: a notebook shows it inline (assign it, or end the line with
``;``, to see it once), a script can change it or call ``plt.show()``. Given ``path``, the function
also writes a PNG (atomically: the old file or the new one, never half of one) and closes the figure.

Nothing here chooses a matplotlib backend, and matplotlib is imported only when a figure is drawn,
so ``import scratchlstm.forecast`` neither pays for matplotlib nor turns off a notebook's inline
plots. Figures have a fixed size, so PNGs of different runs line up.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .io import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 120
FORECAST_SIZE = (11.0, 7.5)  # inches: 1320 x 900 pixels at DPI
LOSS_SIZE = (10.0, 4.5)
ZOOM_POINTS = 30  # the forecast's zoom panel: about six weeks of trading days


def prepare() -> None:
    """Import pyplot now (about 0.3 s) rather than when the first figure is drawn: the forecast command does it
    while worker processes finish their fits."""
    import matplotlib.pyplot  # noqa: F401


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    """Write ``fig`` to ``path`` (PNG, atomically) and close it; without a path, leave it open."""
    if path is not None:
        import matplotlib.pyplot as plt

        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
        plt.close(fig)
    return fig


def _date_axis(ax: Axes, x: np.ndarray) -> None:
    """Short date labels that fit without rotation (dates only; step numbers keep the default)."""
    if np.issubdtype(x.dtype, np.datetime64):
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _hidden_label(model: np.ndarray, other: np.ndarray, label: str) -> str:
    """The legend entry of a line the model's may hide (naive's, the untrained LSTM's), saying when it does."""
    if np.array_equal(model, other):
        return f"{label} = model at every point"
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or missing price: no "within" claim
        gap = float(np.max(np.abs(model - other) / np.abs(other)))
    if gap < 1e-3:
        return f"{label}; model within {gap:.2%} of it at every point"
    return label


def forecast_plot(dates, actual, model, naive, path: str | Path | None = None, title: str = "walk-forward forecasts",
                  subtitle: str = "", zoom_points: int = ZOOM_POINTS, seasonal_naive=None, season: int = 1,
                  model_label: str = "LSTM forecast", bands=(), untrained=None,
                  untrained_label: str = "adjusted naive (last price x seasonal index: the untrained LSTM)") -> Figure:
    """Actual prices, the model's forecasts and the naive forecast over the test span, and a zoom.

    Naive is drawn beside the model on purpose: a model that copies yesterday's price looks
    convincing alone and identical to the naive line next to it. Naive is a wide grey band under
    the model's thin line, so it stays visible where the two coincide (the legend says when they
    do at every point). At 250 points a forecast that trails the price by a step looks like the
    price; the lower panel shows the last ``zoom_points`` points, one marker each, where it does not.
A test span of ``zoom_points`` or fewer is drawn once, in one panel with a marker per point.

    Parameters
    ----------
    dates : array_like, (N,)
        Target dates of the test points (or step numbers).
    actual : array_like, (N,)
        The prices at those dates.
    model : array_like, (N,)
        The model's forecasts of them.
    naive : array_like, (N,)
        The naive forecasts: the last price the forecaster saw.
    path : str or Path, optional
        Where to write the PNG; without it nothing is written and the figure stays open.
    title : str
        A short title.
    subtitle : str
        A longer line under the title, wrapped: the run's verdict.
    zoom_points : int
        How many of the last points the lower panel shows.
    seasonal_naive : array_like, (N,), optional
        The seasonal naive forecasts (the value one season earlier), drawn dotted when given.
    season : int
        The season length, for the legend.
    model_label : str
        The model's name in the legend (say what it really is when the LSTM kept its untrained weights).
    untrained : array_like, (N,), optional
        The untrained LSTM's forecasts on a seasonal series (the smoothed level, or the last price, moved
        by the seasonal index), drawn dashed when given, so that what the trained LSTM changed is visible.
    untrained_label : str
        Their name in the legend.
    bands : sequence of (level, lower, upper)
        The model's prediction intervals, each drawn as a red shaded band (the widest first, lightest);
        NaN bounds (too few errors known yet) leave a gap; a band without a finite point is neither drawn nor
        listed in the legend.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    x = np.asarray(dates)
    actual, model, naive = (np.asarray(a, dtype=float) for a in (actual, model, naive))
    n = len(x)
    if n == 0 or not len(actual) == len(model) == len(naive) == n:
        raise ValueError(f"forecast_plot: dates, actual, model and naive need the same number of points (> 0), "
                         f"got {n}, {len(actual)}, {len(model)} and {len(naive)}")
    zoom = min(zoom_points, n)
    naive_label = _hidden_label(model, naive, "naive (last price)")
    if untrained is not None:
        untrained = np.asarray(untrained, dtype=float)
        untrained_label = _hidden_label(model, untrained, untrained_label)
    markers = dict(marker="o", ms=3.5)
    if n <= zoom_points:  # a zoom would repeat the whole span: one panel, with the zoom's markers
        fig, whole = plt.subplots(figsize=(FORECAST_SIZE[0], FORECAST_SIZE[1] * 0.65), layout="constrained")
        last, panels = whole, ((whole, slice(None), markers),)
    else:
        fig, (whole, last) = plt.subplots(2, 1, figsize=FORECAST_SIZE, layout="constrained", height_ratios=(3, 2))
        panels = ((whole, slice(None), {}), (last, slice(n - zoom, None), markers))
    for ax, span, points in panels:
        ax.plot(x[span], naive[span], color="tab:gray", lw=5, alpha=0.4, solid_capstyle="butt",
                label=naive_label)
        ax.plot(x[span], actual[span], color="black", lw=1.3, label="actual", **points)
        if seasonal_naive is not None:
            ax.plot(x[span], np.asarray(seasonal_naive, dtype=float)[span], color="tab:blue", lw=1.0, ls=":",
                    label=f"seasonal naive (the value {season} steps earlier)")
        if untrained is not None:
            ax.plot(x[span], untrained[span], color="tab:green", lw=1.0, ls="--", label=untrained_label)
        for k, (level, lower, upper) in enumerate(bands):
            lower, upper = np.asarray(lower, dtype=float)[span], np.asarray(upper, dtype=float)[span]
            if not np.any(np.isfinite(lower) & np.isfinite(upper)):  # no point had the errors this level needs: no band, no legend entry
                continue
            ax.fill_between(x[span], lower, upper, color="tab:red", alpha=0.12 + 0.12 * k, lw=0,
                            label=f"{level}% prediction interval (conformal)")
        ax.plot(x[span], model[span], color="tab:red", lw=1.1, label=model_label, **points)
        ax.set_ylabel("price")
        ax.grid(alpha=0.3)
        _date_axis(ax, x)
    if last is not whole:
        whole.axvspan(x[n - zoom], x[-1], color="tab:blue", alpha=0.08, lw=0)
        last.set_title(f"the last {zoom} points (shaded above), one marker per point", fontsize=9.5, loc="left")
    fig.suptitle(title, fontsize=13, fontweight="bold")
    if subtitle:
        whole.set_title(textwrap.fill(subtitle, 130), fontsize=9.5, loc="left")
    handles, labels = last.get_legend_handles_labels()
    fig.legend(handles[1:] + handles[:1], labels[1:] + labels[:1], loc="outside lower center", ncols=3, fontsize=9,
               frameon=False)
    return _finish(fig, path)


VAL_BELOW_TRAIN_NOTE = ("Validation can sit below training: training loss is the epoch's mean, with dropout active (when set) and the "
                        "weights still moving;\nvalidation is measured after the epoch, without dropout, on another span "
                        "of the series, whose scale differs.")


def loss_plot(histories: Sequence, labels: Sequence[str] | None = None, kept_epochs: Sequence[int] | None = None,
              path: str | Path | None = None, untrained_losses: Sequence[float | None] | None = None) -> Figure:
    """Training and validation loss per epoch, one colour per fit, the kept epoch of each marked.

    The legend lists only what is drawn (a marker style appears when some fit drew it). When a
    validation curve is drawn, a note under the axes says why it can lie below the training curve:
    the training loss is the mean over an epoch's minibatches with dropout active and the weights
    still moving, the validation loss is measured after the epoch without dropout, and on a
    different span of the series, whose scale (how much it moves) differs.

    Parameters
    ----------
    histories : sequence of History
        One per fit; ``train_loss`` and ``val_loss`` (possibly empty) are drawn.
    labels : sequence of str, optional
        One per fit (default "fit 1", "fit 2", ...).
    kept_epochs : sequence of int, optional
        ``kept_epochs[k]`` is the 1-based epoch whose weights fit ``k`` kept, or 0 when it kept the
        untrained weights. Without it nothing is marked.
    path : str or Path, optional
        Where to write the PNG; without it nothing is written and the figure stays open.
    untrained_losses : sequence of float, optional
        Each fit's validation loss with its untrained weights, drawn at epoch 0 when it kept them.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    _check_per_fit("labels", labels, histories)
    _check_per_fit("kept_epochs", kept_epochs, histories)
    _check_per_fit("untrained_losses", untrained_losses, histories)
    fig, ax = plt.subplots(figsize=LOSS_SIZE, layout="constrained")
    fits, losses, drawn = [], [], set()
    for k, h in enumerate(histories):
        color = f"C{k % 10}"
        name = labels[k] if labels is not None else f"fit {k + 1}"
        ax.plot(range(1, len(h.train_loss) + 1), h.train_loss, color=color, lw=1.4)
        ax.plot(range(1, len(h.val_loss) + 1), h.val_loss, color=color, lw=1.4, ls="--")
        losses += list(h.train_loss) + list(h.val_loss)
        if kept_epochs is not None:
            untrained = None if untrained_losses is None else untrained_losses[k]
            name += _mark_kept_epoch(ax, h, kept_epochs[k], color, losses, untrained, drawn)
        fits.append(Line2D([], [], color=color, lw=2.5, label=name))
    has_val = any(len(h.val_loss) for h in histories)
    styles = [Line2D([], [], color="black", lw=1.4, label="training loss")]
    if has_val:
        styles.append(Line2D([], [], color="black", lw=1.4, ls="--", label="validation loss"))
    if "kept" in drawn:
        styles.append(Line2D([], [], ls="none", marker="*", ms=11, color="white", mec="black", label="kept epoch"))
    if "untrained" in drawn:
        styles.append(Line2D([], [], ls="none", marker="o", ms=7, color="white", mec="black",
                             label="untrained weights (epoch 0)"))
    fig.legend(handles=fits + styles, loc="outside right upper", fontsize=8.5, frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    _plain_loss_axis(ax, np.asarray(losses, dtype=float))
    ax.grid(alpha=0.3, which="major")
    ax.set_title("loss per epoch", loc="left", fontsize=11)
    if has_val:
        fig.supxlabel(VAL_BELOW_TRAIN_NOTE, fontsize=8.5, color="0.3", x=0.02, ha="left")
    return _finish(fig, path)


def _check_per_fit(name: str, values: Sequence | None, histories: Sequence) -> None:
    if values is not None and len(values) != len(histories):
        raise ValueError(f"loss_plot: {name} has {len(values)} entries for {len(histories)} histories; give one per fit")


def _mark_kept_epoch(ax: Axes, history, epoch: int, color: str, losses: list[float], initial: float | None,
                     drawn: set[str]) -> str:
    """Mark the epoch whose weights were kept (adding "kept" or "untrained" to ``drawn`` when a marker
    is drawn); return what the fit's legend entry adds."""
    if not 0 <= epoch <= len(history.train_loss):
        raise ValueError(f"loss_plot: kept epoch {epoch} is outside 0..{len(history.train_loss)} (0 = untrained weights)")
    if epoch == 0:
        if initial is not None:
            ax.plot([0], [initial], ls="none", marker="o", ms=7, color="white", mec=color, mew=1.8, zorder=3)
            losses.append(initial)
            drawn.add("untrained")
        return ": kept the untrained weights"
    curve = history.val_loss or history.train_loss
    ax.plot([epoch], [curve[epoch - 1]], ls="none", marker="*", ms=13, color=color, mec="black", mew=0.6, zorder=3)
    drawn.add("kept")
    return f": kept epoch {epoch}"


def _plain_loss_axis(ax: Axes, losses: np.ndarray) -> None:
    """Log scale when the losses span more than a factor of 3, labelled with plain numbers (0.02, 0.1)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    finite = losses[np.isfinite(losses)]
    if len(finite) == 0 or finite.min() <= 0 or finite.max() / finite.min() < 3:
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        return
    ax.set_yscale("log")
    decades = np.log10(finite.max() / finite.min())
    subs = (1.0, 2.0, 5.0) if decades < 3 else (1.0,)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def gate_heatmaps(trace, path: str | Path | None = None, batch: int = 0, dates=None, title: str = "",
                  inputs=None, input_labels: Sequence[str] | None = None, marks: Sequence[int] = (),
                  c_range: float | None = None) -> Figure:
    """Heatmaps (units x steps) of the input, forget and output gates, the candidate and the cell state.

    Parameters
    ----------
    trace : LSTMTrace
        From ``scratchlstm.traces.lstm_trace``; every field (T, B, H).
    path : str or Path, optional
        Where to write the PNG; without it nothing is written and the figure stays open.
    batch : int
        Which sequence of the batch to draw.
    dates : pair of str, optional
        The first and last step's dates, written under the step axis.
    title : str
        The figure's title.
    inputs : array_like, (T, D), optional
        The sequence's inputs, drawn above the gates, one line per feature.
    input_labels : sequence of str, optional
        The D features' names.
    marks : sequence of int
        Steps to mark with a line through every panel (say, where the input carries a signal).
    c_range : float, optional
        The cell state's colours run from ``-c_range`` to ``c_range``; give the same value to
        figures that are compared. Default: the largest ``|c|`` drawn, which makes small values vivid.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    panels = [("i (input gate)", trace.i, "viridis", (0, 1)), ("f (forget gate)", trace.f, "viridis", (0, 1)),
              ("g (candidate)", trace.g, "coolwarm", (-1, 1)), ("o (output gate)", trace.o, "viridis", (0, 1)),
              ("c (cell state)", trace.c, "coolwarm", None if c_range is None else (-c_range, c_range))]
    T = trace.i.shape[0]
    rows = len(panels) + (inputs is not None)
    fig = plt.figure(figsize=(10, 1.6 * rows + 1.0), layout="constrained")
    # a narrow second column holds the colour bars, so every panel's step axis lines up with the others
    grid = fig.add_gridspec(rows, 2, width_ratios=(60, 1))
    axes = [fig.add_subplot(grid[0, 0])]
    axes += [fig.add_subplot(grid[r, 0], sharex=axes[0]) for r in range(1, rows)]
    if inputs is not None:
        x_in = np.asarray(inputs, dtype=float).reshape(T, -1)  # (T, D)
        names = input_labels or [f"x[{d}]" for d in range(x_in.shape[1])]
        for d in range(x_in.shape[1]):
            axes[0].step(np.arange(T), x_in[:, d], where="mid", lw=1.3, label=names[d])
        axes[0].set_ylabel("input", fontsize=9)
        axes[0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=x_in.shape[1], fontsize=8, frameon=False,
                       borderaxespad=0.1)
        axes[0].grid(alpha=0.3)
    for row, (name, values, cmap, limits) in enumerate(panels, start=rows - len(panels)):
        data = values[:, batch, :].T  # (H, T)
        vmin, vmax = limits if limits else (-np.abs(data).max(), np.abs(data).max())
        im = axes[row].imshow(data, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                              extent=(-0.5, T - 0.5, data.shape[0] - 0.5, -0.5))
        axes[row].set_ylabel(f"{name}\nunit", fontsize=9)
        fig.colorbar(im, cax=fig.add_subplot(grid[row, 1]))
    for ax in axes:
        for step in marks:
            ax.axvline(step, color="tab:red", lw=1.0, ls=":", alpha=0.9)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlim(-0.5, T - 0.5)
    axes[-1].set_xlabel("step t" if dates is None else f"step t ({dates[0]} to {dates[-1]})")
    fig.suptitle(title or "LSTM gates over time")
    return _finish(fig, path)


def gradient_flow_plot(flows: Sequence, path: str | Path | None = None, title: str = "",
                       labels: Sequence[str] | None = None) -> Figure:
    """||dL/dh_t|| against the distance from the loss, one curve per cell (log scale).

    Parameters
    ----------
    flows : sequence of GradientFlow
        From ``scratchlstm.traces.gradient_flow``; the LSTM's ||dL/dc_t|| is drawn dashed.
    path : str or Path, optional
        Where to write the PNG; without it nothing is written and the figure stays open.
    title : str
        The figure's title.
    labels : sequence of str, optional
        One name per flow (default: the cell's kind, "RNN", "GRU", "LSTM").

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if labels is not None and len(labels) != len(flows):
        raise ValueError(f"gradient_flow_plot: labels has {len(labels)} entries for {len(flows)} flows; give one per flow")
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    for k, flow in enumerate(flows):
        name = labels[k] if labels is not None else flow.kind.upper()
        line, = ax.semilogy(flow.distance, flow.dh_norm, lw=1.5, label=f"{name}: ||dL/dh_t||" + _underflow(flow))
        if flow.dc_norm is not None:
            ax.semilogy(flow.distance, flow.dc_norm, lw=1.0, ls="--", color=line.get_color(), label=f"{name}: ||dL/dc_t||")
    ax.set_xlabel("distance from the loss (T - 1 - t)")
    ax.set_ylabel("gradient norm")
    ax.set_title(title or "gradient flow back through time")
    fig.legend(loc="outside right upper", fontsize=9, frameon=False)
    ax.grid(alpha=0.3, which="both")
    return _finish(fig, path)


def _underflow(flow) -> str:
    """Where a norm reaches exactly 0 (below float64's smallest number), which a log axis cannot draw: the curve
    drops out of the figure there, and would read as a cliff in the gradient rather than the end of the numbers."""
    zero = np.flatnonzero(np.asarray(flow.dh_norm) == 0)
    return "" if len(zero) == 0 else f" (0 in float64 from distance {int(np.asarray(flow.distance)[zero].min())})"


CELL_SIZE = (11.0, 6.6)  # inches: 1320 x 792 pixels at DPI


def cell_diagram(path: str | Path | None = None) -> Figure:
    """One LSTM step as boxes and arrows, labelled with the code's own symbols and shapes.

    What ``lstm_cell_forward`` (``scratchlstm/nn/lstm.py``) computes: ``x_t`` (B, D) and ``h_{t-1}``
    (B, H) enter one fused product ``a = x_t W_x + h_{t-1} W_h + b`` (B, 4H); its four column blocks,
    in the order i | f | g | o, become the gates i, f, o (sigmoid) and the candidate g (tanh), each
    (B, H). The cell state runs along the top, ``c_t = f * c_{t-1} + i * g``, and
    ``h_t = o * tanh(c_t)`` leaves on the right (``*`` is elementwise). The gates are drawn in the
    order f, i, g, o so that no arrow crosses another; each box names its block of ``a``.

    Parameters
    ----------
    path : str or Path, optional
        Where to write the PNG; without it nothing is written and the figure stays open.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, FancyBboxPatch

    fig, ax = plt.subplots(figsize=CELL_SIZE, layout="constrained")
    ax.set_xlim(-0.2, 13.4)
    ax.set_ylim(-0.2, 8.0)
    ax.set_aspect("equal")
    ax.axis("off")
    line = dict(color="0.15", lw=1.4)
    R = 0.3  # radius of an operator's circle

    def arrow(*points):
        """A polyline through ``points`` with an arrowhead at the last one."""
        xs, ys = zip(*points)
        ax.plot(xs[:-1], ys[:-1], solid_capstyle="butt", **line)
        ax.annotate("", xy=points[-1], xytext=points[-2],
                    arrowprops=dict(arrowstyle="-|>", shrinkA=0, shrinkB=0, mutation_scale=14, **line))

    def box(x, y, w, h, text, color, size=10.5):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=color, ec="0.25", lw=1.1))
        ax.text(x, y, text, ha="center", va="center", fontsize=size, linespacing=1.5)

    def operator(x, y, symbol):
        ax.add_patch(Circle((x, y), R, fc="white", ec="0.15", lw=1.3, zorder=3))
        ax.text(x, y, symbol, ha="center", va="center", fontsize=15, zorder=4)

    sigmoid_color, tanh_color = "#d6e6f5", "#fbe3c8"
    CELL_Y, GATE_Y, A_Y = 7.0, 3.7, 1.9  # heights of the cell-state line, the gates and the product a
    GATE_H = 1.0
    FORGET, PLUS, BRANCH, OUT = 3.0, 6.0, 10.9, 10.9  # x of the forget product, the sum, the tanh branch, the output product

    # the product a, fed by x_t from below and h_{t-1} from the left
    box(6.0, A_Y, 8.6, 0.9, r"$a = x_t\,W_x + h_{t-1}\,W_h + b$" + "      (B, 4H), column blocks i | f | g | o",
        "0.9", size=11)
    ax.text(1.25, A_Y, r"$h_{t-1}$" + "\n(B, H)", ha="right", va="center", fontsize=11)
    arrow((1.35, A_Y), (1.7, A_Y))
    arrow((3.0, 0.45), (3.0, A_Y - 0.45))
    ax.text(3.0, 0.25, r"$x_t$" + "  (B, D)", ha="center", va="center", fontsize=11)
    ax.text(7.9, 0.8, r"$W_x$ (D, 4H),  $W_h$ (H, 4H),  $b$ (4H,)", ha="center", va="center", fontsize=10, color="0.25")

    # the four gates, each one block of a
    gates = [(FORGET, "$f$  forget gate\n" + r"$\sigma$(a[:, 1H:2H])", sigmoid_color),
             (5.0, "$i$  input gate\n" + r"$\sigma$(a[:, 0H:1H])", sigmoid_color),
             (7.0, "$g$  candidate\ntanh(a[:, 2H:3H])", tanh_color),
             (9.0, "$o$  output gate\n" + r"$\sigma$(a[:, 3H:4H])", sigmoid_color)]
    for x, text, color in gates:
        arrow((x, A_Y + 0.45), (x, GATE_Y - GATE_H / 2))
        box(x, GATE_Y, 1.85, GATE_H, text, color, size=9.5)
    ax.text(FORGET - 1.05, GATE_Y, "each\n(B, H)", ha="right", va="center", fontsize=10)

    # the cell state: c_t = f * c_{t-1} + i * g
    ax.text(1.25, CELL_Y, r"$c_{t-1}$" + "\n(B, H)", ha="right", va="center", fontsize=11)
    arrow((1.35, CELL_Y), (FORGET - R, CELL_Y))
    arrow((FORGET + R, CELL_Y), (PLUS - R, CELL_Y))
    arrow((PLUS + R, CELL_Y), (12.3, CELL_Y))
    ax.text(12.4, CELL_Y, r"$c_t$" + "\n(B, H)", ha="left", va="center", fontsize=11)
    operator(FORGET, CELL_Y, r"$\times$")
    operator(PLUS, CELL_Y, "+")
    arrow((FORGET, GATE_Y + GATE_H / 2), (FORGET, CELL_Y - R))
    operator(PLUS, 5.45, r"$\times$")
    arrow((5.0, GATE_Y + GATE_H / 2), (5.0, 5.45), (PLUS - R, 5.45))
    arrow((7.0, GATE_Y + GATE_H / 2), (7.0, 5.45), (PLUS + R, 5.45))
    arrow((PLUS, 5.45 + R), (PLUS, CELL_Y - R))
    ax.text(PLUS, CELL_Y + 0.6, r"$c_t = f * c_{t-1} + i * g$", ha="center", va="center", fontsize=12)

    # the output: h_t = o * tanh(c_t)
    ax.plot([BRANCH], [CELL_Y], marker="o", ms=6, color="0.15")
    arrow((BRANCH, CELL_Y), (BRANCH, 6.05))
    box(BRANCH, 5.65, 1.5, 0.8, r"tanh($c_t$)" + "\n(tc in the code)", tanh_color, size=9.5)
    operator(OUT, GATE_Y, r"$\times$")
    arrow((BRANCH, 5.25), (OUT, GATE_Y + R))
    arrow((9.0 + 1.85 / 2, GATE_Y), (OUT - R, GATE_Y))
    arrow((OUT + R, GATE_Y), (12.3, GATE_Y))
    ax.text(12.4, GATE_Y, r"$h_t$" + "\n(B, H)", ha="left", va="center", fontsize=11)
    ax.text(OUT + 0.5, GATE_Y - 0.65, r"$h_t = o * \tanh(c_t)$", ha="left", va="center", fontsize=12)

    ax.text(13.4, -0.15, r"$*$ and $\times$: elementwise product;  $\sigma$: sigmoid;  B: batch, D: input features, "
            "H: hidden units", ha="right", va="bottom", fontsize=8.5, color="0.3")
    ax.set_title("One LSTM step, as lstm_cell_forward computes it", loc="left", fontsize=12)
    return _finish(fig, path)
