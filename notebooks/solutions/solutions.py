"""Solutions to the course's exercises, kept apart from the notebooks.

One function per exercise. Each fills the notebook cell tagged ``exercise:<function name>`` (cell
metadata, "tags"): the cell's whole source is replaced by the function below. The tests run every
notebook with these filled in (tests/docs/test_notebooks.py), so they must pass their checkers.

    lstm_cell_forward   01-cell-by-hand.ipynb
    gates_backward      02-backward-by-hand.ipynb, and the paste-in cell of 03-gradcheck-bug-hunt.ipynb

Try the exercise before you read on.
"""

import numpy as np


def lstm_cell_forward(params, x_t, h_prev, c_prev):
    """One LSTM step: x_t (B, D), h_prev and c_prev (B, H) -> h (B, H), c (B, H), step_cache."""
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    H = W_h.shape[0]
    a = x_t @ W_x + h_prev @ W_h + b  # (B, 4H), blocks i | f | g | o
    i = 1 / (1 + np.exp(-a[:, 0 * H : 1 * H]))  # (B, H) each
    f = 1 / (1 + np.exp(-a[:, 1 * H : 2 * H]))
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = 1 / (1 + np.exp(-a[:, 3 * H : 4 * H]))
    c = f * c_prev + i * g
    tc = np.tanh(c)
    h = o * tc
    gates = np.concatenate([i, f, g, o], axis=1)  # (B, 4H)
    return h, c, {"gates": gates, "tc": tc}


def gates_backward(dh, dc, gates, c_prev, tc):
    """Elementwise part of one backward step: dh, dc (B, H) -> da (B, 4H), dc_prev (B, H)."""
    H = tc.shape[1]
    i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))  # (B, H) each
    do = dh * tc
    dc = dc + dh * o * (1 - tc**2)  # the path through h_t = o * tanh(c_t) joins the one from c_{t+1}
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    dc_prev = dc * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1)  # (B, 4H)
    return da, dc_prev
