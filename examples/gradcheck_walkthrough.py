"""Gradient check walkthrough: a correct backward passes, a planted bug is found and located.

    python examples/gradcheck_walkthrough.py

1. Check the package's LSTM backward against centred finite differences (float64).
2. Plant a classic bug, dropping the forget gate from the cell-state gradient
   (dc_{t-1} = dc instead of dc * f), and see the report flag the arrays it breaks.
"""

import numpy as np

import scratchlstm as sl
from scratchlstm.nn import lstm as lstm_module


def main() -> int:
    rng = np.random.default_rng(0)
    params = sl.init_lstm_params(3, 4, seed=1, dtype="float64", forget_bias=1.0)
    x = rng.standard_normal((5, 2, 3))

    print("1. the package's backward")
    good = sl.lstm_gradcheck(params, x)
    print(good, "\n")

    print("2. a planted bug: dc_{t-1} = dc * f replaced by dc (the forget gate ignored)")
    original = lstm_module._gates_backward

    def buggy_gates_backward(dh, dc, gates, c_prev, tc):
        da, dc_prev = original(dh, dc, gates, c_prev, tc)
        H = tc.shape[1]
        f = gates[:, H : 2 * H]
        return da, dc_prev / f  # undo the multiplication by f: the classic slip

    lstm_module._gates_backward = buggy_gates_backward
    try:  # lstm_gradcheck checks the reference code as it is now: the patched helper runs
        bad = sl.lstm_gradcheck(params, x)
    finally:
        lstm_module._gates_backward = original
    print(bad)
    print("\nThe rows marked FAIL are the arrays whose gradients flow through c_{t-1}; the worst entry")
    print("shows the analytic and numeric values side by side, so the bug can be traced to its line.")
    return 0 if good.passed and not bad.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
