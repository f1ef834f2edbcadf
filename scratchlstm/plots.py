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


def forecast_plot(dates, actual, model, naive, path: str | Path, title: str = "") -> None:
    """Actual prices, the model's forecasts and the naive forecast over the test span.

    Naive is drawn beside the model on purpose: a model that copies yesterday's price looks
    convincing alone and identical to the naive line next to it.
    """
    fig, ax = plt.subplots(figsize=(11, 4.5))
    ax.plot(dates, actual, color="black", lw=1.4, label="actual")
    ax.plot(dates, naive, color="tab:gray", lw=1.0, ls="--", label="naive (last value)")
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
