"""Figures saved to files (matplotlib, no screen needed). Each is written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .io import atomic_path  # noqa: E402


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def forecast_plot(dates, actual, model, naive, path: str | Path, title: str = "", seasonal_naive=None, season: int = 1) -> None:
    """Actual prices, the model's forecasts and the naive forecast over the test span (and the
    seasonal naive forecast, when given).

    Naive is drawn beside the model on purpose: a model that copies yesterday's price looks
    convincing alone and identical to the naive line next to it.
    """
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(dates, actual, color="black", lw=1.4, label="actual")
    ax.plot(dates, naive, color="tab:gray", lw=1.0, ls="--", label="naive (last value)")
    if seasonal_naive is not None:
        ax.plot(dates, seasonal_naive, color="tab:blue", lw=1.0, ls=":", label=f"seasonal naive (value {season} steps earlier)")
    ax.plot(dates, model, color="tab:red", lw=1.0, label="LSTM forecast")
    ax.set_ylabel("price")
    ax.set_title(title or "walk-forward forecasts")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    _save(fig, path)


def loss_plot(histories: Sequence, path: str | Path, labels: Sequence[str] | None = None) -> None:
    """Training and validation loss per epoch, one pair of curves per fit."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, h in enumerate(histories):
        label = labels[k] if labels else f"fit {k + 1}"
        line, = ax.plot(range(1, len(h.train_loss) + 1), h.train_loss, lw=1.2, label=f"{label} training")
        if h.val_loss:
            ax.plot(range(1, len(h.val_loss) + 1), h.val_loss, lw=1.2, ls="--", color=line.get_color(), label=f"{label} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)


def gate_heatmaps(trace, path: str | Path, batch: int = 0, dates=None, title: str = "") -> None:
    """Heatmaps (units x time) of the input, forget, output gates, the candidate and the cell state."""
    panels = [("i (input gate)", trace.i, "viridis", (0, 1)), ("f (forget gate)", trace.f, "viridis", (0, 1)),
              ("o (output gate)", trace.o, "viridis", (0, 1)), ("g (candidate)", trace.g, "coolwarm", (-1, 1)),
              ("c (cell state)", trace.c, "coolwarm", None)]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 2.2 * len(panels)), sharex=True)
    for ax, (name, values, cmap, limits) in zip(axes, panels):
        data = values[:, batch, :].T  # (H, T)
        vmin, vmax = limits if limits else (-abs(data).max(), abs(data).max())
        im = ax.imshow(data, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_ylabel(name, fontsize=9)
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[-1].set_xlabel("step t" if dates is None else f"step t ({dates[0]} to {dates[-1]})")
    fig.suptitle(title or "LSTM gates over time")
    _save(fig, path)


def gradient_flow_plot(flows: Sequence, path: str | Path, title: str = "") -> None:
    """||dL/dh_t|| against the distance from the loss, one curve per cell (log scale)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for flow in flows:
        ax.semilogy(flow.distance, flow.dh_norm, lw=1.5, label=f"{flow.kind.upper()}: ||dL/dh_t||")
        if flow.dc_norm is not None:
            ax.semilogy(flow.distance, flow.dc_norm, lw=1.0, ls="--", label=f"{flow.kind.upper()}: ||dL/dc_t||")
    ax.set_xlabel("distance from the loss (T - 1 - t)")
    ax.set_ylabel("gradient norm")
    ax.set_title(title or "gradient flow back through time")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    _save(fig, path)
