r"""The vanilla (Elman, tanh) RNN and its backpropagation through time, beside the LSTM for comparison.

Notation as in ``lstm.py``: x_t (B, D), h_t (B, H), W_x (D, H), W_h (H, H), b (H,).

Forward, one step::

    a   = x_t W_x + h_{t-1} W_h + b        (B, H)
    h_t = tanh(a)

Backward, one step (``dh`` the total gradient of the loss with respect to h_t)::

    da       = dh * (1 - h_t^2)
    dx_t     = da W_x^T
    dh_{t-1} = da W_h^T  (+ the output gradient of step t-1)
    dW_x    += x_t^T da;   dW_h += h_{t-1}^T da;   db += sum over the batch of da

The gradient reaching step t from step T is a product of T - t factors ``diag(1 - h^2) W_h^T``:
it shrinks (or grows) geometrically with the distance, which is the vanishing-gradient problem the
LSTM's additive cell path avoids.
"""

from __future__ import annotations

from typing import Callable

from ..backend import Array, namespace
from .functional import tanh, tanh_grad_from_output
from .lstm import _initial_state

Params = dict[str, Array]


def rnn_sizes(params: Params) -> tuple[int, int]:
    """(D, H) of an RNN layer, after checking that its arrays fit together."""
    D, H = params["W_x"].shape
    if tuple(params["W_h"].shape) != (H, H) or tuple(params["b"].shape) != (H,):
        raise ValueError(f"RNN params do not fit: expected W_x (D, H), W_h (H, H), b (H,), got W_x {tuple(params['W_x'].shape)}, "
                         f"W_h {tuple(params['W_h'].shape)}, b {tuple(params['b'].shape)}")
    return D, H


def _start(x: Array, h0: Array | None, D: int, H: int):
    """``(xp, T, h0)`` after checking ``x (T, B, D)`` and ``h0 (B, H)`` (zeros when None)."""
    if len(x.shape) != 3:
        raise ValueError(f"x must have shape (T, B, D), got {tuple(x.shape)}")
    T, B, D_x = x.shape
    if D_x != D:
        raise ValueError(f"x has {D_x} features per step but W_x expects D = {D}")
    xp = namespace(x)
    return xp, T, _initial_state(xp, h0, B, H, x, "h0")


def rnn_forward(params: Params, x: Array, h0: Array | None = None):
    """``(hs (T, B, H), h_T (B, H), cache)`` for ``x (T, B, D)``; ``h0`` defaults to zeros."""
    xp, T, h0 = _start(x, h0, *rnn_sizes(params))
    h, hs = h0, []
    for t in range(T):
        h = tanh(x[t, :, :] @ params["W_x"] + h @ params["W_h"] + params["b"])  # (B, H)
        hs.append(h)
    hs = xp.stack(hs, axis=0)  # (T, B, H)
    return hs, h, {"params": params, "x": x, "h0": h0, "hs": hs}


def rnn_backward(cache, dhs: Array | None, dh_T: Array | None = None, on_step: Callable | None = None):
    """``(grads, dx (T, B, D), dh0 (B, H))`` for a cache of :func:`rnn_forward`.

    ``on_step(t, dh)``, when given, sees the total gradient with respect to every h_t (used by the
    gradient-flow study).
    """
    params, x, hs, h0 = cache["params"], cache["x"], cache["hs"], cache["h0"]
    xp = namespace(x, hs)
    T, B, D = x.shape
    H = hs.shape[2]
    dh_next = _initial_state(xp, dh_T, B, H, x, "dh_T")
    das, dxs = [None] * T, [None] * T
    for t in reversed(range(T)):
        dh = dh_next if dhs is None else dhs[t, :, :] + dh_next
        if on_step is not None:
            on_step(t, dh)
        da = dh * tanh_grad_from_output(hs[t, :, :])  # (B, H)
        dxs[t] = da @ params["W_x"].T
        dh_next = da @ params["W_h"].T
        das[t] = da
    da_all = xp.reshape(xp.stack(das, axis=0), (T * B, H))
    h_prev = xp.reshape(xp.concat([h0[None, :, :], hs[: T - 1, :, :]], axis=0), (T * B, H))
    grads = {"W_x": xp.reshape(x, (T * B, D)).T @ da_all, "W_h": h_prev.T @ da_all, "b": xp.sum(da_all, axis=0)}
    return grads, xp.stack(dxs, axis=0), dh_next
