r"""The LSTM cell and its backpropagation through time: the reference implementation.

This is the code the docs derive line by line. It is written against the array API, so the same
lines run on NumPy, CuPy and array-api-strict. The public :func:`lstm_forward` and
:func:`lstm_backward` at the end of this file run it for every other library; NumPy arrays go to
the fast path in ``lstm_fast.py`` (the same numbers with fewer, larger calls) and CuPy arrays to
``lstm_fused.py`` (one matrix product and one fused elementwise kernel per step), both tested
against this file. ``with reference_only():`` turns both off.

Notation (one symbol per variable, as in the code)::

    T steps, B batch, D input features, H hidden units
    x_t     (B, D)     input at step t                    x   (T, B, D) all steps
    h_t     (B, H)     hidden state (the output)          hs  (T, B, H) all steps
    c_t     (B, H)     cell state
    W_x     (D, 4H)    input weights, gate blocks i | f | g | o
    W_h     (H, 4H)    recurrent weights, same blocks
    b       (4H,)      bias, same blocks

Equations (forward, one step; ``*`` is elementwise)::

    a   = x_t W_x + h_{t-1} W_h + b        (B, 4H)  gate pre-activations
    i   = sigmoid(a[:, 0H:1H])             input gate
    f   = sigmoid(a[:, 1H:2H])             forget gate
    g   = tanh(a[:, 2H:3H])                candidate
    o   = sigmoid(a[:, 3H:4H])             output gate
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Equations (backward, one step, in reverse order). ``dh`` and ``dc`` are the total gradients of the
loss with respect to h_t and c_t (from the output at t and from step t+1)::

    tc       = tanh(c_t)                   saved by forward
    do       = dh * tc
    dc       = dc + dh * o * (1 - tc^2)
    di       = dc * g
    df       = dc * c_{t-1}
    dg       = dc * i
    dc_{t-1} = dc * f
    da       = [di * i(1-i) | df * f(1-f) | dg * (1-g^2) | do * o(1-o)]     (B, 4H)
    dx_t     = da W_x^T
    dh_{t-1} = da W_h^T  (+ the output gradient of step t-1)
    dW_x    += x_t^T da;   dW_h += h_{t-1}^T da;   db += sum over the batch of da

The gate order i, f, g, o is the same as PyTorch's ``nn.LSTM``; Keras uses i, f, c, o, which is the
same order under another name for the candidate.
"""

from __future__ import annotations

from typing import Any

from ..backend import Array, device_of, is_cupy, is_numpy, namespace
from .functional import sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output

GATE_ORDER = ("i", "f", "g", "o")
PARAM_NAMES = ("W_x", "W_h", "b")

Params = dict[str, Array]
Cache = dict[str, Any]


# ----------------------------------------------------------------------------------------------
# shapes


def lstm_sizes(params: Params) -> tuple[int, int]:
    """(D, H) of one layer's parameters, after checking that the three arrays fit together."""
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise KeyError(f"LSTM params need keys {PARAM_NAMES}; missing {missing}")
    D, H4 = params["W_x"].shape
    H = params["W_h"].shape[0]
    if H4 != 4 * H or tuple(params["W_h"].shape) != (H, 4 * H) or tuple(params["b"].shape) != (4 * H,):
        raise ValueError(
            "LSTM params do not fit together: expected W_x (D, 4H), W_h (H, 4H), b (4H,), got "
            f"W_x {tuple(params['W_x'].shape)}, W_h {tuple(params['W_h'].shape)}, b {tuple(params['b'].shape)}"
        )
    return D, H


def _initial_state(xp, state: Array | None, B: int, H: int, like: Array, name: str) -> Array:
    if state is None:
        return xp.zeros((B, H), dtype=like.dtype, device=device_of(like))  # (B, H)
    if tuple(state.shape) != (B, H):
        raise ValueError(f"{name} must have shape (B, H) = ({B}, {H}), got {tuple(state.shape)}")
    return state


def _check_inputs(params: Params, x: Array, h0: Array | None, c0: Array | None) -> tuple[int, int, int, int]:
    """(T, B, D, H) after checking every shape, with messages that say what to change."""
    if len(x.shape) != 3:
        raise ValueError(f"x must have shape (T, B, D), got {tuple(x.shape)}; use batch_first in the LSTM class for (B, T, D)")
    D, H = lstm_sizes(params)
    T, B, D_x = x.shape
    if D_x != D:
        raise ValueError(f"x has {D_x} features per step but W_x expects D = {D}")
    if T == 0:
        raise ValueError("x has no time steps (T = 0)")
    for name, state in (("h0", h0), ("c0", c0)):
        if state is not None and tuple(state.shape) != (B, H):
            raise ValueError(f"{name} must have shape (B, H) = ({B}, {H}), got {tuple(state.shape)}")
    return T, B, D, H


def check_output_gradient(dhs: Array | None, T: int, B: int, H: int) -> None:
    """Raise a ValueError naming the expected shape unless ``dhs`` is None or (T, B, H) (every backward uses this)."""
    if dhs is not None and tuple(dhs.shape) != (T, B, H):
        raise ValueError(f"dhs must have shape (T, B, H) = ({T}, {B}, {H}), got {tuple(dhs.shape)}")


# ----------------------------------------------------------------------------------------------
# one step


def lstm_cell_forward(params: Params, x_t: Array, h_prev: Array, c_prev: Array) -> tuple[Array, Array, Cache]:
    """One LSTM step: ``(h_t, c_t, step_cache)`` from ``x_t (B, D)`` and ``h_{t-1}, c_{t-1} (B, H)``."""
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    H = W_h.shape[0]
    xp = namespace(x_t, h_prev, c_prev, W_x)
    a = x_t @ W_x + h_prev @ W_h + b  # (B, 4H)
    i = sigmoid(a[:, 0 * H : 1 * H])  # (B, H)
    f = sigmoid(a[:, 1 * H : 2 * H])
    g = tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H : 4 * H])
    c = f * c_prev + i * g
    tc = tanh(c)
    h = o * tc
    gates = xp.concat([i, f, g, o], axis=1)  # (B, 4H), activated, order i | f | g | o
    return h, c, {"x": x_t, "h_prev": h_prev, "c_prev": c_prev, "gates": gates, "tc": tc}


def _gates_backward(dh: Array, dc: Array, gates: Array, c_prev: Array, tc: Array) -> tuple[Array, Array]:
    """Elementwise part of one backward step: ``(da (B, 4H), dc_{t-1} (B, H))``."""
    xp = namespace(dh, gates)
    H = tc.shape[1]
    i = gates[:, 0 * H : 1 * H]
    f = gates[:, 1 * H : 2 * H]
    g = gates[:, 2 * H : 3 * H]
    o = gates[:, 3 * H : 4 * H]
    do = dh * tc
    dc = dc + dh * o * tanh_grad_from_output(tc)
    di = dc * g
    df = dc * c_prev
    dg = dc * i
    dc_prev = dc * f
    da = xp.concat(
        [
            di * sigmoid_grad_from_output(i),
            df * sigmoid_grad_from_output(f),
            dg * tanh_grad_from_output(g),
            do * sigmoid_grad_from_output(o),
        ],
        axis=1,
    )  # (B, 4H)
    return da, dc_prev


def lstm_cell_backward(params: Params, dh: Array, dc: Array, step_cache: Cache) -> tuple[Params, Array, Array, Array]:
    """Backward of :func:`lstm_cell_forward`: ``(grads, dx_t, dh_{t-1}, dc_{t-1})``.

    ``dh`` and ``dc`` are the gradients of the loss with respect to this step's ``h_t`` and ``c_t``.
    """
    xp = namespace(dh, dc)
    da, dc_prev = _gates_backward(dh, dc, step_cache["gates"], step_cache["c_prev"], step_cache["tc"])
    grads = {
        "W_x": step_cache["x"].T @ da,  # (D, 4H)
        "W_h": step_cache["h_prev"].T @ da,  # (H, 4H)
        "b": xp.sum(da, axis=0),  # (4H,)
    }
    dx_t = da @ params["W_x"].T  # (B, D)
    dh_prev = da @ params["W_h"].T  # (B, H)
    return grads, dx_t, dh_prev, dc_prev


# ----------------------------------------------------------------------------------------------
# a whole sequence


def lstm_forward_reference(params: Params, x: Array, h0: Array | None = None, c0: Array | None = None):
    """Run one LSTM layer over a sequence (the reference implementation).

    Parameters
    ----------
    params : dict with ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)``
    x : (T, B, D) input, time first
    h0, c0 : (B, H) initial states; zeros when omitted

    Returns
    -------
    hs : (T, B, H) hidden state at every step
    (h_T, c_T) : (B, H) each, the final states (carry them into the next call for stateful runs
        or truncated BPTT)
    cache : what :func:`lstm_backward_reference` needs

    All arrays come back in the namespace, device and dtype of ``x``.
    """
    T, B, D, H = _check_inputs(params, x, h0, c0)
    xp = namespace(x, params["W_x"])
    h0 = _initial_state(xp, h0, B, H, x, "h0")  # (B, H)
    c0 = _initial_state(xp, c0, B, H, x, "c0")  # (B, H)
    h, c = h0, c0
    hs, cs, tcs, gates = [], [], [], []
    for t in range(T):
        h, c, step = lstm_cell_forward(params, x[t, :, :], h, c)
        hs.append(h)
        cs.append(c)
        tcs.append(step["tc"])
        gates.append(step["gates"])
    cache = {
        "params": params,
        "x": x,  # (T, B, D)
        "h0": h0,  # (B, H)
        "c0": c0,  # (B, H)
        "hs": xp.stack(hs, axis=0),  # (T, B, H)
        "cs": xp.stack(cs, axis=0),  # (T, B, H)
        "tcs": xp.stack(tcs, axis=0),  # (T, B, H) tanh(c_t)
        "gates": xp.stack(gates, axis=0),  # (T, B, 4H) activated i | f | g | o
    }
    return cache["hs"], (h, c), cache


def lstm_backward_reference(cache: Cache, dhs: Array | None, dh_T: Array | None = None, dc_T: Array | None = None,
                            on_step=None):
    """Backpropagation through time for :func:`lstm_forward_reference` (the reference implementation).

    Parameters
    ----------
    cache : from :func:`lstm_forward_reference`
    dhs : (T, B, H) gradient of the loss with respect to every output ``hs``; None for zeros
        (when only the final state feeds the loss)
    dh_T, dc_T : (B, H) gradients with respect to the final states; None for zeros
    on_step : optional ``on_step(t, dh, dc_next)`` called at every step with the total gradient of
        h_t and the gradient reaching c_t from step t+1 (the gradient-flow study uses it)

    Returns
    -------
    grads : dict with the keys and shapes of ``params``
    dx : (T, B, D) gradient with respect to the input
    dh0, dc0 : (B, H) gradients with respect to the initial states
    """
    params, x, hs = cache["params"], cache["x"], cache["hs"]
    xp = namespace(x, hs)
    T, B, D = x.shape
    H = hs.shape[2]
    check_output_gradient(dhs, T, B, H)
    dh_next = _initial_state(xp, dh_T, B, H, x, "dh_T")  # (B, H) flows back from step t+1
    dc_next = _initial_state(xp, dc_T, B, H, x, "dc_T")
    W_x, W_h = params["W_x"], params["W_h"]
    das = [None] * T
    dxs = [None] * T
    for t in reversed(range(T)):
        c_prev = cache["cs"][t - 1, :, :] if t > 0 else cache["c0"]
        dh = dh_next if dhs is None else dhs[t, :, :] + dh_next
        if on_step is not None:
            on_step(t, dh, dc_next)
        da, dc_next = _gates_backward(dh, dc_next, cache["gates"][t, :, :], c_prev, cache["tcs"][t, :, :])
        dxs[t] = da @ W_x.T  # (B, D)
        dh_next = da @ W_h.T  # (B, H)
        das[t] = da
    da_all = xp.reshape(xp.stack(das, axis=0), (T * B, 4 * H))  # (T*B, 4H)
    h_prev_all = xp.concat([cache["h0"][None, :, :], hs[: T - 1, :, :]], axis=0)  # (T, B, H) h_{t-1}
    grads = {
        "W_x": xp.reshape(x, (T * B, D)).T @ da_all,  # (D, 4H)
        "W_h": xp.reshape(h_prev_all, (T * B, H)).T @ da_all,  # (H, 4H)
        "b": xp.sum(da_all, axis=0),  # (4H,)
    }
    return grads, xp.stack(dxs, axis=0), dh_next, dc_next


# ----------------------------------------------------------------------------------------------
# the public functions: the NumPy fast path or the CuPy fused path where they apply, the reference
# everywhere else

_FAST_PATHS = [True]


class reference_only:
    """Context manager that makes :func:`lstm_forward` use the reference code for every backend."""

    def __enter__(self):
        self._saved = _FAST_PATHS[0]
        _FAST_PATHS[0] = False
        return self

    def __exit__(self, *exc):
        _FAST_PATHS[0] = self._saved
        return False


def lstm_forward(params: Params, x: Array, h0: Array | None = None, c0: Array | None = None):
    """Run one LSTM layer over ``x (T, B, D)``: ``(hs (T, B, H), (h_T, c_T), cache)``.

    ``params`` holds ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)``; ``h0``, ``c0`` are (B, H) initial
    states (zeros when omitted). Outputs come back in the namespace, device and dtype of ``x``. The
    equations are those of :func:`lstm_forward_reference`; NumPy input runs the fast path and CuPy
    input the fused-kernel path.
    """
    xp = namespace(x, params["W_x"])
    if _FAST_PATHS[0] and is_numpy(xp):
        _check_inputs(params, x, h0, c0)
        from .lstm_fast import lstm_forward_numpy

        return lstm_forward_numpy(params, x, h0, c0)
    if _FAST_PATHS[0] and is_cupy(xp):
        _check_inputs(params, x, h0, c0)
        from .lstm_fused import lstm_forward_fused

        return lstm_forward_fused(params, x, h0, c0)
    return lstm_forward_reference(params, x, h0, c0)


def lstm_backward(cache: Cache, dhs: Array | None, dh_T: Array | None = None, dc_T: Array | None = None):
    """Backpropagation through time: ``(grads, dx (T, B, D), dh0, dc0)`` for a cache of :func:`lstm_forward`.

    ``dhs (T, B, H)`` is the gradient of the loss with respect to every output (None for zeros);
    ``dh_T``, ``dc_T`` with respect to the final states (None for zeros). ``grads`` has the keys and
    shapes of ``params``.
    """
    if cache.get("fast"):
        from .lstm_fast import lstm_backward_numpy

        return lstm_backward_numpy(cache, dhs, dh_T, dc_T)
    if cache.get("fused"):
        from .lstm_fused import lstm_backward_fused

        return lstm_backward_fused(cache, dhs, dh_T, dc_T)
    return lstm_backward_reference(cache, dhs, dh_T, dc_T)
