"""Gate study on real prices: what do the gates of a trained LSTM do over a 60-day window?

    python examples/gate_study.py [--out examples-out]

Trains a small LSTM (16 units) on 60-day windows of scaled MSFT log-returns (the embedded series),
then traces every gate over the last window and saves heatmaps of i, f, o, g and c, and the gradient
flow of the trained cell.
"""

import argparse
from pathlib import Path

import numpy as np

from scratchlstm.data import load_embedded
from scratchlstm.nn.model import Model, ModelConfig
from scratchlstm.plots import gate_heatmaps, gradient_flow_plot
from scratchlstm.traces import gradient_flow, lstm_trace
from scratchlstm.train import TrainConfig, train

WINDOW = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="examples-out", help="folder for the figures")
    args = parser.parse_args()
    series = load_embedded()
    r = np.diff(np.log(series.prices.to_numpy(dtype=float)))
    r = r / r[:2500].std()  # scaled by the training part's spread
    X = np.stack([r[t - WINDOW : t] for t in range(WINDOW, len(r))])[:, :, None].astype(np.float32)
    y = r[WINDOW:, None].astype(np.float32)
    model = Model.create(ModelConfig(hidden_sizes=(16,)), seed=0)
    history = train(model, X[:2400], y[:2400], X[2400:2700], y[2400:2700], TrainConfig(epochs=5, lr=3e-3, quiet=True))
    print(f"trained {len(history.train_loss)} epochs; validation MSE {history.val_loss[history.best_epoch]:.4f} "
          f"(predicting 0: {float(np.mean(y[2400:2700] ** 2)):.4f})")

    params = {k: v.astype(np.float64) for k, v in model.layers[0].items()}
    window = X[-1:].transpose(1, 0, 2).astype(np.float64)  # (T, 1, 1): the last 60 days
    trace = lstm_trace(params, window)
    dates = series.frame.index[-WINDOW:].strftime("%Y-%m-%d")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gate_heatmaps(trace, out / "gates.png", dates=[dates[0], dates[-1]], title="LSTM gates on the last 60 days of MSFT returns")
    for name in ("i", "f", "o"):
        values = getattr(trace, name)
        print(f"{name}: mean {values.mean():.3f}, share of units above 0.9: {np.mean(values > 0.9):.1%}")
    print(f"largest |c_t|: {np.abs(trace.c).max():.3f}; h equals the forward outputs: yes (read from its cache)")
    flow = gradient_flow("lstm", params, window.repeat(8, axis=1))
    gradient_flow_plot([flow], out / "gate-study-gradient-flow.png", "trained LSTM on 60 days of returns")
    print(f"gradient of the last output reaching 59 days back: {flow.dh_norm[0] / flow.dh_norm[-1]:.2e} of its size at the end")
    print(f"wrote {out / 'gates.png'} and {out / 'gate-study-gradient-flow.png'}")


if __name__ == "__main__":
    main()
