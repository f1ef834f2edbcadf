r"""The vanilla (Elman, tanh) RNN and its backpropagation through time, beside the LSTM for comparison.

Notation as in ``lstm.py``: x_t (B, D), h_t (B, H), W_x (D, H), W_h (H, H), b (H,).

Forward, one step:

    a   = x_t W_x + h_{t-1} W_h + b        (B, H)
    h_t = tanh(a)

Backward, one step (``dh`` the total gradient of the loss with respect to h_t):

    da       = dh * (1 - h_t^2)
    dx_t     = da W_x^T
    dh_{t-1} = da W_h^T  (+ the output gradient of step t-1)
    dW_x    += x_t^T da;   dW_h += h_{t-1}^T da;   db += sum over the batch of da

The gradient reaching step t from step T is a product of T - t factors ``diag(1 - h^2) W_h^T``:
it shrinks (or grows) geometrically with the distance, which is the vanishing-gradient problem the
LSTM's additive cell path avoids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..backend import Array, namespace
from .functional import tanh, tanh_grad_from_output
from .shapes import Params, check_cache, check_call, check_one_dtype, check_output_gradient, check_state, copy_out, fused_sizes, zeros_like_state

PARAM_NAMES = ("W_x", "W_h", "b")


def rnn_sizes(params: Params) -> tuple[int, int]:
    """(D, H) of an RNN layer, after checking that its arrays fit together."""
    return fused_sizes(params, PARAM_NAMES, 1, "RNN")


@dataclass
class RNNCache:
    """What ``rnn_forward`` keeps for ``rnn_backward``."""

    params: Params
    x: Array  # (T, B, D)
    h0: Array  # (B, H)
    hs: Array  # (T, B, H)


def rnn_forward(params: Params, x: Array, h0: Array | None = None, *, need_cache: bool = True):
    """Run a tanh RNN layer over ``x (T, B, D)``: ``(hs (T, B, H), (h_T,), cache)``.

    ``h0`` (B, H) defaults to zeros. The state is returned as a one-element tuple, like the LSTM's
    ``(h_T, c_T)``. Every array must share one dtype, float32 or float64. ``need_cache=False`` (no
    backward follows) returns None for the cache.
    """
    D, H = rnn_sizes(params)
    T, B = check_call(x, params, D, H, h0=h0)
    xp = namespace(x)
    h0 = zeros_like_state(B, H, x) if h0 is None else h0
    h, hs = h0, []
    for t in range(T):
        h = tanh(x[t, :, :] @ params["W_x"] + h @ params["W_h"] + params["b"])  # (B, H)
        hs.append(h)
    if not need_cache:
        return xp.stack(hs, axis=0), (h,), None  # (T, B, H), a new array
    # copies: what the caller changes after this call (in place, or in the dict) cannot change the backward
    cache = RNNCache(params={name: copy_out(params[name]) for name in PARAM_NAMES}, x=copy_out(x), h0=copy_out(h0),
                     hs=xp.stack(hs, axis=0))  # hs (T, B, H)
    return copy_out(cache.hs), (h,), cache


def rnn_backward(cache: RNNCache, dhs: Array | None, dh_T: Array | None = None, *, on_step: Callable | None = None):
    """Backpropagation through time for ``rnn_forward``: ``(grads, dx (T, B, D), dh0 (B, H))``.

    ``dhs`` (T, B, H) is the gradient of the loss with respect to every output (None for zeros),
    ``dh_T`` (B, H) with respect to the final state. ``on_step(t, dh)``, when given, sees the total
    gradient with respect to every h_t (used by the gradient-flow study).
    """
    check_cache(cache, (RNNCache,), "rnn_backward")
    params, x, hs, h0 = cache.params, cache.x, cache.hs, cache.h0
    xp = namespace(x, hs)
    T, B, D = x.shape
    H = hs.shape[2]
    check_output_gradient(dhs, T, B, H)
    check_state("dh_T", dh_T, B, H)
    check_one_dtype({"the forward": params["W_x"], "dhs": dhs, "dh_T": dh_T})
    dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T
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
