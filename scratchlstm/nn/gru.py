r"""The GRU with PyTorch's equations, and its backpropagation through time.

Notation as in ``lstm.py``, with gate blocks r | z | n (PyTorch's order):

    W_x (D, 3H), W_h (H, 3H), b_x (3H,), b_h (3H,)

Two biases, because PyTorch's candidate applies the reset gate to ``h W_hn + b_hn`` (not to h
alone), so ``b_hn`` cannot be merged into ``b_xn``.

Forward, one step:

    gx  = x_t W_x + b_x                    (B, 3H)  input part of every gate
    gh  = h_{t-1} W_h + b_h                (B, 3H)  recurrent part
    r   = sigmoid(gx[:, 0H:1H] + gh[:, 0H:1H])      reset gate
    z   = sigmoid(gx[:, 1H:2H] + gh[:, 1H:2H])      update gate
    n   = tanh(gx[:, 2H:3H] + r * gh[:, 2H:3H])     candidate
    h_t = (1 - z) * n + z * h_{t-1}

Backward, one step (``dh`` the total gradient with respect to h_t):

    dn       = dh * (1 - z)
    dz       = dh * (h_{t-1} - n)
    da_n     = dn * (1 - n^2)
    dr       = da_n * gh[:, 2H:3H]
    da_r     = dr * r (1 - r);   da_z = dz * z (1 - z)
    dgx      = [da_r | da_z | da_n]                  gradient of gx
    dgh      = [da_r | da_z | da_n * r]              gradient of gh
    dx_t     = dgx W_x^T;   dh_{t-1} = dh * z + dgh W_h^T
    dW_x    += x_t^T dgx;  dW_h += h_{t-1}^T dgh;  db_x += sum dgx;  db_h += sum dgh

``reset_after=False``: the reset gate before the recurrent product (the GRU of Cho et al. 2014,
Keras's ``GRU(reset_after=False)``). Same arrays; r and z as above; the candidate reads the reset
state q instead of h_{t-1}:

    gh  = h_{t-1} W_h[:, 0H:2H] + b_h[0H:2H]    (B, 2H)  recurrent part of r and z only
    q   = r * h_{t-1}                           (B, H)   reset state
    n   = tanh(gx[:, 2H:3H] + q W_h[:, 2H:3H] + b_h[2H:3H])

Here ``b_h`` only ever adds to ``b_x`` (Keras has one bias, ``b_x + b_h``). Backward, the lines that
change:

    dq       = da_n W_h[:, 2H:3H]^T                  (B, H)
    dr       = dq * h_{t-1}
    dgh      = [da_r | da_z | da_n]
    dh_{t-1} = dh * z + [da_r | da_z] W_h[:, 0H:2H]^T + dq * r
    dW_h[:, 0H:2H] += h_{t-1}^T [da_r | da_z];   dW_h[:, 2H:3H] += q^T da_n
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..backend import Array, namespace
from ..errors import ConfigError
from .functional import sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output
from .shapes import Params, check_cache, check_call, check_one_dtype, check_output_gradient, check_state, copy_out, fused_sizes, zeros_like_state

GATE_ORDER = ("r", "z", "n")
PARAM_NAMES = ("W_x", "W_h", "b_x", "b_h")


def gru_sizes(params: Params) -> tuple[int, int]:
    """(D, H) of a GRU layer, after checking that its arrays fit together."""
    return fused_sizes(params, PARAM_NAMES, 3, "GRU")


@dataclass
class GRUCache:
    """What ``gru_forward`` keeps for ``gru_backward``; every per-step array is (T, B, H)."""

    params: Params
    x: Array  # (T, B, D)
    h0: Array  # (B, H)
    hs: Array  # h_t
    r: Array  # reset gate
    z: Array  # update gate
    n: Array  # candidate
    gh_n: Array | None  # reset after: h_{t-1} W_hn + b_hn, the recurrent part the reset gate multiplies
    q: Array | None  # reset before: r * h_{t-1}, the reset state the candidate reads
    reset_after: bool


def gru_forward(params: Params, x: Array, h0: Array | None = None, *, reset_after: bool = True, need_cache: bool = True):
    """Run a GRU layer over ``x (T, B, D)``: ``(hs (T, B, H), (h_T,), cache)``.

    ``h0`` (B, H) defaults to zeros. The state is returned as a one-element tuple, like the LSTM's
    ``(h_T, c_T)``. Every array must share one dtype, float32 or float64. ``reset_after=False`` runs
    the variant that resets h_{t-1} before the recurrent product (Keras's ``reset_after=False``); the
    cache remembers it for ``gru_backward``. ``need_cache=False`` (no backward follows) keeps only
    the outputs and returns None for the cache.
    """
    if reset_after not in (True, False):  # "false" is a true string: it ran the other variant
        raise ConfigError(f"reset_after must be True or False, got {reset_after!r}")
    D, H = gru_sizes(params)
    T, B = check_call(x, params, D, H, h0=h0)
    xp = namespace(x)
    h0 = zeros_like_state(B, H, x) if h0 is None else h0
    kept = ("hs", "r", "z", "n", "gh_n" if reset_after else "q") if need_cache else ("hs",)
    h, steps = h0, {name: [] for name in kept}
    for t in range(T):
        gx = x[t, :, :] @ params["W_x"] + params["b_x"]  # (B, 3H)
        if reset_after:
            gh = h @ params["W_h"] + params["b_h"]  # (B, 3H)
        else:
            gh = h @ params["W_h"][:, 0 * H : 2 * H] + params["b_h"][0 * H : 2 * H]  # (B, 2H): r and z only
        r = sigmoid(gx[:, 0 * H : 1 * H] + gh[:, 0 * H : 1 * H])
        z = sigmoid(gx[:, 1 * H : 2 * H] + gh[:, 1 * H : 2 * H])
        if reset_after:
            n = tanh(gx[:, 2 * H : 3 * H] + r * gh[:, 2 * H : 3 * H])
            if need_cache:
                steps["gh_n"].append(gh[:, 2 * H : 3 * H])
        else:
            q = r * h  # (B, H)
            n = tanh(gx[:, 2 * H : 3 * H] + q @ params["W_h"][:, 2 * H : 3 * H] + params["b_h"][2 * H : 3 * H])
            if need_cache:
                steps["q"].append(q)
        h = (1 - z) * n + z * h
        for name, value in (("hs", h), ("r", r), ("z", z), ("n", n)):
            if name in steps:
                steps[name].append(value)
    if not need_cache:
        return xp.stack(steps["hs"], axis=0), (h,), None  # (T, B, H), a new array
    stacked = {name: xp.stack(v, axis=0) for name, v in steps.items()}  # each (T, B, H)
    # copies: what the caller changes after this call (in place, or in the dict) cannot change the backward
    cache = GRUCache(params={name: copy_out(params[name]) for name in PARAM_NAMES}, x=copy_out(x), h0=copy_out(h0),
                     reset_after=reset_after, **{"gh_n": None, "q": None, **stacked})
    return copy_out(cache.hs), (h,), cache


def gru_backward(cache: GRUCache, dhs: Array | None, dh_T: Array | None = None, *, on_step: Callable | None = None):
    """Backpropagation through time for ``gru_forward``: ``(grads, dx (T, B, D), dh0 (B, H))``.

    ``dhs`` (T, B, H) is the gradient of the loss with respect to every output (None for zeros),
    ``dh_T`` (B, H) with respect to the final state. ``on_step(t, dh)``, when given, sees the total
    gradient with respect to every h_t.
    """
    check_cache(cache, (GRUCache,), "gru_backward")
    params, x, hs, h0 = cache.params, cache.x, cache.hs, cache.h0
    xp = namespace(x, hs)
    T, B, D = x.shape
    H = hs.shape[2]
    check_output_gradient(dhs, T, B, H)
    check_state("dh_T", dh_T, B, H)
    check_one_dtype({"the forward": params["W_x"], "dhs": dhs, "dh_T": dh_T})
    dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T
    W_h = params["W_h"]
    dgxs, dghs, dxs = [None] * T, [None] * T, [None] * T
    for t in reversed(range(T)):
        r, z, n = cache.r[t, :, :], cache.z[t, :, :], cache.n[t, :, :]
        h_prev = hs[t - 1, :, :] if t > 0 else h0
        dh = dh_next if dhs is None else dhs[t, :, :] + dh_next
        if on_step is not None:
            on_step(t, dh)
        dn = dh * (1 - z)
        dz = dh * (h_prev - n)
        da_n = dn * tanh_grad_from_output(n)
        if cache.reset_after:
            dr = da_n * cache.gh_n[t, :, :]
        else:
            dq = da_n @ W_h[:, 2 * H : 3 * H].T  # (B, H)
            dr = dq * h_prev
        da_r = dr * sigmoid_grad_from_output(r)
        da_z = dz * sigmoid_grad_from_output(z)
        dgx = xp.concat([da_r, da_z, da_n], axis=1)  # (B, 3H)
        dxs[t] = dgx @ params["W_x"].T
        if cache.reset_after:
            dgh = xp.concat([da_r, da_z, da_n * r], axis=1)  # (B, 3H)
            dh_next = dh * z + dgh @ W_h.T
        else:
            dgh = dgx  # the recurrent parts have the same gradients as the input parts here
            dh_next = dh * z + dgh[:, 0 * H : 2 * H] @ W_h[:, 0 * H : 2 * H].T + dq * r
        dgxs[t], dghs[t] = dgx, dgh
    dgx_all = xp.reshape(xp.stack(dgxs, axis=0), (T * B, 3 * H))
    dgh_all = xp.reshape(xp.stack(dghs, axis=0), (T * B, 3 * H))
    h_prev = xp.reshape(xp.concat([h0[None, :, :], hs[: T - 1, :, :]], axis=0), (T * B, H))
    if cache.reset_after:
        dW_h = h_prev.T @ dgh_all
    else:
        q = xp.reshape(cache.q, (T * B, H))  # what W_h[:, 2H:3H] multiplied
        dW_h = xp.concat([h_prev.T @ dgh_all[:, 0 * H : 2 * H], q.T @ dgh_all[:, 2 * H : 3 * H]], axis=1)  # (H, 3H)
    grads = {
        "W_x": xp.reshape(x, (T * B, D)).T @ dgx_all,
        "W_h": dW_h,
        "b_x": xp.sum(dgx_all, axis=0),
        "b_h": xp.sum(dgh_all, axis=0),
    }
    return grads, xp.stack(dxs, axis=0), dh_next
