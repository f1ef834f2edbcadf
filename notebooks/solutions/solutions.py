"""Solutions to the course's exercises, kept apart from the notebooks.

One function per exercise. Each fills the notebook cell tagged ``exercise:<function name>`` (cell
metadata, "tags"): the cell's whole source is replaced by the function below. The tests run every
notebook with these filled in (tests/docs/test_notebooks.py), so they must pass their checkers.

    lstm_cell_forward   01-cell-by-hand.ipynb
    gates_backward      02-backward-by-hand.ipynb, and the paste-in cell of 03-gradcheck-bug-hunt.ipynb
    lstm_forward_loop   02-backward-by-hand.ipynb
    lstm_bptt_loop      02-backward-by-hand.ipynb
    relative_error      03-gradcheck-bug-hunt.ipynb
    truncated_bptt      04-gates-adding-problem.ipynb
    clip_by_norm        04-gates-adding-problem.ipynb
    adam_step           04-gates-adding-problem.ipynb
    gru_cell_forward    05-vanishing-gradients.ipynb
    gru_cell_backward   05-vanishing-gradients.ipynb
    make_windows        06-honest-forecast.ipynb
    diebold_mariano     06-honest-forecast.ipynb

Try the exercise before you read on.
"""

import numpy as np

from scratchlstm import lstm_backward, lstm_forward
from scratchlstm import lstm_cell_backward as cell_backward
from scratchlstm import lstm_cell_forward as cell_forward


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


def lstm_forward_loop(params, x, h0, c0):
    """x (T, B, D), h0 and c0 (B, H) -> hs (T, B, H), h_T (B, H), c_T (B, H)."""
    h, c, hs = h0, c0, []
    for t in range(x.shape[0]):
        h, c, _ = cell_forward(params, x[t], h, c)  # each step starts from the last one's states
        hs.append(h)
    return np.stack(hs), h, c


def lstm_bptt_loop(params, steps, dhs, dh_T, dc_T):
    """steps[t]: step t's step_cache; dhs (T, B, H); dh_T, dc_T (B, H) -> grads, dx (T, B, D), dh0, dc0."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dxs = [None] * len(steps)
    dh_next, dc_next = dh_T, dc_T
    for t in reversed(range(len(steps))):
        g, dxs[t], dh_next, dc_next = cell_backward(params, dhs[t] + dh_next, dc_next, steps[t])
        for k in grads:
            grads[k] = grads[k] + g[k]  # the same weights act at every step: their gradients add up
    return grads, np.stack(dxs), dh_next, dc_next


def truncated_bptt(params, x, chunk, dhs):
    """x (T, B, D), dhs (T, B, H) -> hs (T, B, H), grads summed over the chunks."""
    B, H = x.shape[1], params["W_h"].shape[0]
    h = c = np.zeros((B, H))
    hs, grads = [], {k: np.zeros_like(v) for k, v in params.items()}
    for s in range(0, x.shape[0], chunk):
        out, (h, c), cache = lstm_forward(params, x[s:s + chunk], h, c)  # (h, c) handed on to the next chunk
        g, _, _, _ = lstm_backward(cache, dhs[s:s + chunk])  # no gradient from later chunks: the cut
        grads = {k: grads[k] + g[k] for k in grads}
        hs.append(out)
    return np.concatenate(hs), grads


def clip_by_norm(grads, max_norm):
    """grads: dict of arrays -> (clipped dict, the global norm before clipping)."""
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    """One Adam step on one array; t counts from 1 -> (param, m, v)."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def gru_cell_forward(params, x_t, h_prev):
    """One GRU step (blocks r | z | n): x_t (B, D), h_prev (B, H) -> h_t (B, H)."""
    H = h_prev.shape[1]
    gx = x_t @ params["W_x"] + params["b_x"]  # (B, 3H)
    gh = h_prev @ params["W_h"] + params["b_h"]  # (B, 3H)
    r = 1 / (1 + np.exp(-(gx[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gx[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h_prev


def gru_cell_backward(params, x_t, h_prev, dh):
    """Gradients of one GRU step: dh (B, H) -> grads, dx_t (B, D), dh_prev (B, H)."""
    H = h_prev.shape[1]
    gx = x_t @ params["W_x"] + params["b_x"]
    gh = h_prev @ params["W_h"] + params["b_h"]
    r = 1 / (1 + np.exp(-(gx[:, :H] + gh[:, :H])))
    z = 1 / (1 + np.exp(-(gx[:, H:2 * H] + gh[:, H:2 * H])))
    n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dan = dn * (1 - n**2)  # (B, H) pre-activation of n
    dr = dan * gh[:, 2 * H:]
    dar, daz = dr * r * (1 - r), dz * z * (1 - z)
    dgx = np.concatenate([dar, daz, dan], axis=1)  # (B, 3H)
    dgh = np.concatenate([dar, daz, dan * r], axis=1)  # the reset multiplies the recurrent part of n's block
    grads = {"W_x": x_t.T @ dgx, "W_h": h_prev.T @ dgh, "b_x": dgx.sum(axis=0), "b_h": dgh.sum(axis=0)}
    return grads, dgx @ params["W_x"].T, dgh @ params["W_h"].T + dh * z


def relative_error(analytic, numeric, floor):
    """The gradient check's error of one array: max_k |a_k - n_k| / max(|a_k|, |n_k|, floor)."""
    diff = np.abs(analytic - numeric)
    size = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return float(np.max(diff / size))


def make_windows(series, window, horizon):
    """series (n,) -> X (M, window) ending at each origin, Y (M, horizon) after it."""
    origins = range(window - 1, len(series) - horizon)  # a full window before, a full target after
    X = np.array([series[o - window + 1 : o + 1] for o in origins])  # ends at the origin: the past only
    Y = np.array([series[o + 1 : o + horizon + 1] for o in origins])  # starts after it
    return X, Y


def diebold_mariano(errors_a, errors_b, horizon):
    """The Diebold-Mariano statistic on absolute errors, with the h - 1 lags of an h-step forecast."""
    d = np.abs(errors_a) - np.abs(errors_b)
    n, dc = len(d), d - d.mean()
    s = dc @ dc / n
    for k in range(1, horizon):
        s += 2 * (1 - k / horizon) * (dc[k:] @ dc[:-k]) / n
    return float(d.mean() / np.sqrt(s / n))
