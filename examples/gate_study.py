"""Gate study: what an LSTM's gates do once it has learned something, and what they do when it has not.

    python examples/gate_study.py [--out examples-out]

1. gates.png: an LSTM of 8 units trained on the adding problem (T = 40, 600 minibatches of 32,
   seed 1: a second or two). Each step carries a value and a marker; the target is the sum of the
   two marked values. On one sequence the input gate i, the candidate g and the output gate o light
   up at the two marked steps, the forget gate f dips there, and the cell state c of one unit settles
   at a level set by the first marked value and keeps it until the second mark.
2. gates-msft.png: a 16-unit LSTM trained on 60-day windows of MSFT log-returns (the embedded
   series), whose validation error is no better than predicting 0: what a model that learned
   nothing looks like. Its gates barely move with the input and nothing is stored.

The numbers printed are measured on 1000 fresh sequences (adding problem) or the last window (MSFT).
"""

import argparse
from pathlib import Path

import numpy as np

from scratchlstm.data import load_embedded
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.plots import gate_heatmaps
from scratchlstm.traces import lstm_trace
from scratchlstm.train import TrainConfig, train
from scratchlstm.vanishing import adding_batch, train_adding

LENGTH = 40  # adding problem: steps per sequence
UNITS, STEPS, SEED = 8, 600, 1  # 8 units keep the picture legible; this seed stores the value in one unit
WINDOW = 60  # MSFT: days per window
C_RANGE = 1.0  # one colour scale for c in both figures, so they compare


def adding_study() -> tuple[dict, object]:
    """Train and trace the adding-problem LSTM; return the numbers the docs state and the figure."""
    stats: dict = {}
    result, params = train_adding("lstm", LENGTH, hidden=UNITS, steps=STEPS, seed=SEED)
    stats["test_mse"] = result.test_mse
    print(f"adding problem, T = {LENGTH}: test MSE {result.test_mse:.4f} (predicting the mean: 0.167), "
          f"trained in {result.seconds:.1f} s")

    x, _ = adding_batch(np.random.default_rng(1), LENGTH, 1000)  # (T, B, 2): value, marker
    trace = lstm_trace(params, x)
    marked = x[:, :, 1] == 1  # (T, B)
    for name in ("i", "f", "g", "o"):
        values = np.abs(getattr(trace, name)) if name == "g" else getattr(trace, name)  # (T, B, H)
        at_marks, elsewhere = values[marked].mean(axis=0), values[~marked].mean(axis=0)  # (H,) each
        change = at_marks - elsewhere
        unit = int(np.argmin(change) if name == "f" else np.argmax(change))  # f dips at the marks, the others rise
        label = "|g|" if name == "g" else name
        stats[name] = (unit, float(at_marks[unit]), float(elsewhere[unit]))
        print(f"{label}: unit {unit} is {at_marks[unit]:.2f} at the marked steps, {elsewhere[unit]:.2f} elsewhere "
              f"(mean of all units: {at_marks.mean():.2f} vs {elsewhere.mean():.2f})")

    # which unit's cell state carries the first marked value to just before the second mark?
    first, second = (np.argmax(marked, axis=0), LENGTH - 1 - np.argmax(marked[::-1], axis=0))  # (B,) each
    columns = np.arange(x.shape[1])
    held = trace.c[second - 1, columns, :]  # (B, H): c one step before the second mark
    first_value = x[first, columns, 0]  # (B,)
    slope = [np.polyfit(first_value, held[:, k], 1)[0] for k in range(held.shape[1])]  # c per unit of the value
    keeper = int(np.argmax(np.abs(slope)))
    r = np.corrcoef(first_value, held[:, keeper])[0, 1]
    stats["keeper"] = (keeper, float(slope[keeper]), float(r))
    print(f"c of unit {keeper} one step before the second mark: {slope[keeper]:+.2f} per unit of the first marked "
          f"value, correlation {r:+.2f} over 1000 sequences (first mark at steps {first.min()}-{first.max()}, "
          f"second at {second.min()}-{second.max()})")

    far_apart = second - first > LENGTH // 2
    b = int(np.argmax(np.where(far_apart, first_value, 0.0)))  # the clearest sequence: a large first value held long
    steps = [int(first[b]), int(second[b])]
    fig = gate_heatmaps(trace, batch=b, inputs=x[:, b, :], input_labels=["value", "marker"], marks=steps, c_range=C_RANGE,
                        title=f"LSTM trained on the adding problem (T = {LENGTH}): target = "
                              f"{x[steps[0], b, 0]:.2f} + {x[steps[1], b, 0]:.2f} = {x[steps, b, 0].sum():.2f}")
    c_panel = next(ax for ax in fig.axes if ax.get_ylabel().startswith("c "))
    c_panel.annotate(f"unit {keeper} keeps the first value", xy=(steps[0] + 1, keeper), xytext=(steps[0] + 4, keeper),
                     va="center", fontsize=8, arrowprops=dict(arrowstyle="->", lw=0.8))
    return stats, fig


def msft_study() -> tuple[dict, object]:
    """Train and trace the MSFT-returns LSTM; return the numbers the docs state and the figure."""
    series = load_embedded()
    r = np.diff(np.log(series.prices.to_numpy(dtype=float)))
    r = r / r[:2500].std()  # scaled by the training part's spread
    X = np.stack([r[t - WINDOW : t] for t in range(WINDOW, len(r))])[:, :, None].astype(np.float32)  # (N, T, 1)
    y = r[WINDOW:, None].astype(np.float32)
    model = Model.create(ModelConfig(hidden_sizes=(16,)), seed=0)
    history = train(model, X[:2400], y[:2400], X[2400:2700], y[2400:2700], TrainConfig(epochs=5, lr=3e-3, quiet=True))
    val_mse, zero_mse = history.val_loss[history.best_epoch], float(np.mean(y[2400:2700] ** 2))
    stats = {"val_mse": float(val_mse), "zero_mse": zero_mse}
    print(f"MSFT returns: validation MSE {val_mse:.4f}, predicting 0: {zero_mse:.4f} -> learned nothing usable")

    params = {k: v.astype(np.float64) for k, v in model.layers[0].items()}
    window = X[-1:].transpose(1, 0, 2).astype(np.float64)  # (T, 1, 1): the last 60 days
    trace = lstm_trace(params, window)
    for name in ("i", "f", "o"):
        values = getattr(trace, name)[:, 0, :]  # (T, H)
        stats[name] = (float(values.mean()), float(np.ptp(values, axis=0).max()))
        print(f"{name}: mean {values.mean():.2f}, largest change along the window {np.ptp(values, axis=0).max():.2f}")
    stats["c_max"] = float(np.abs(trace.c).max())
    print(f"largest |c_t|: {np.abs(trace.c).max():.2f}")
    dates = series.frame.index[-WINDOW:].strftime("%Y-%m-%d")
    fig = gate_heatmaps(trace, inputs=window[:, 0, :], input_labels=["scaled log-return"],
                  dates=[dates[0], dates[-1]], c_range=C_RANGE,
                  title=f"What a model that learned nothing looks like: LSTM on MSFT returns "
                        f"(validation MSE {val_mse:.3f}, predicting 0: {zero_mse:.3f})")
    return stats, fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="examples-out", help="folder for the figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    adding_study()[1].savefig(out / "gates.png", dpi=120)
    msft_study()[1].savefig(out / "gates-msft.png", dpi=120)
    print(f"wrote {out / 'gates.png'} and {out / 'gates-msft.png'}")


if __name__ == "__main__":
    main()
