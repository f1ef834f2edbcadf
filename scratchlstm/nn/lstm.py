r"""The LSTM cell and its backpropagation through time: the reference implementation.

This is the code the docs derive line by line, and what ``lstm_forward`` and ``lstm_backward`` run
by default (``engine="reference"``), on any array library: it is written against the array API, so
the same lines run on NumPy, CuPy and array-api-strict. ``engine="fast"`` runs a speed kernel instead
where the array library has one (``nn/kernels/``: NumPy's fewer, larger calls; CuPy's fused
elementwise kernel), and ``engine="compiled"`` the NumPy kernel with each step's elementwise work
compiled by Numba, each tested against this file; elsewhere they run this file. ``lstm_backward``
follows the engine that made the cache. Edit this file and ``lstm_gradcheck(params, x)`` checks your
edit.

Notation (one symbol per variable, as in the code):

    T steps, B batch, D input features, H hidden units
    x_t     (B, D)     input at step t                    x   (T, B, D) all steps
    h_t     (B, H)     hidden state (the output)          hs  (T, B, H) all steps
    c_t     (B, H)     cell state
    W_x     (D, 4H)    input weights, gate blocks i | f | g | o
    W_h     (H, 4H)    recurrent weights, same blocks
    b       (4H,)      bias, same blocks

Equations (forward, one step; ``*`` is elementwise):

    a   = x_t W_x + h_{t-1} W_h + b        (B, 4H)  gate pre-activations
    i   = sigmoid(a[:, 0H:1H])             input gate
    f   = sigmoid(a[:, 1H:2H])             forget gate
    g   = tanh(a[:, 2H:3H])                candidate
    o   = sigmoid(a[:, 3H:4H])             output gate
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Equations (backward, one step, in reverse order). ``dh`` and ``dc`` are the total gradients of the
loss with respect to h_t and c_t (from the output at t and from step t+1):

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

from dataclasses import dataclass
from typing import Callable

from ..backend import Array, namespace
from . import kernels
from .functional import sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output
from .shapes import (Params, check_cache, check_call, check_engine, check_one_dtype, check_output_gradient, check_state, check_step,
                     copy_out, fused_sizes, zeros_like_state)

GATE_ORDER = ("i", "f", "g", "o")
PARAM_NAMES = ("W_x", "W_h", "b")
StepCache = dict[str, Array]  # one step's x_t, h_prev, c_prev, gates (B, 4H) and tanh(c_t)


def lstm_sizes(params: Params) -> tuple[int, int]:
    """(D, H) of one layer's parameters, after checking that the three arrays fit together."""
    return fused_sizes(params, PARAM_NAMES, 4, "LSTM")


@dataclass
class LSTMCache:
    """What the reference forward keeps for its backward (time first, gates in the public order)."""

    params: Params
    x: Array  # (T, B, D)
    h0: Array  # (B, H)
    c0: Array  # (B, H)
    hs: Array  # (T, B, H) h_t
    cs: Array  # (T, B, H) c_t
    tcs: Array  # (T, B, H) tanh(c_t)
    gates: Array  # (T, B, 4H) activated i | f | g | o

    def gate_values(self) -> Array:
        """Activated gates ``(T, B, 4H)`` in the order i | f | g | o (a copy)."""
        return copy_out(self.gates)

    def cell_states(self) -> Array:
        """Cell states c_1 .. c_T, ``(T, B, H)`` (a copy)."""
        return copy_out(self.cs)


def _kernel(engine: str, x: Array):
    """The speed kernel ``engine`` selects for ``x``, or None when the reference runs."""
    return None if check_engine(engine) == "reference" else kernels.kernel_for(namespace(x), engine)


# ----------------------------------------------------------------------------------------------
# one step


def lstm_cell_forward(params: Params, x_t: Array, h_prev: Array, c_prev: Array) -> tuple[Array, Array, StepCache]:
    """One LSTM step: ``(h_t, c_t, step_cache)`` from ``x_t (B, D)`` and ``h_{t-1}, c_{t-1} (B, H)``."""
    check_step(x_t, lstm_sizes(params), params, h_prev=h_prev, c_prev=c_prev)
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
    # copies, as lstm_forward keeps them: a caller that resets its state in place (h_prev[:] = 0) would change the backward
    return h, c, {"x": copy_out(x_t), "h_prev": copy_out(h_prev), "c_prev": copy_out(c_prev), "gates": gates, "tc": tc}


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


def lstm_cell_backward(params: Params, dh: Array, dc: Array, step_cache: StepCache) -> tuple[Params, Array, Array, Array]:
    """Backward of ``lstm_cell_forward``: ``(grads, dx_t, dh_{t-1}, dc_{t-1})``.

    ``dh`` and ``dc`` are the gradients of the loss with respect to this step's ``h_t`` and ``c_t``.
    """
    check_step(step_cache["x"], lstm_sizes(params), params, dh=dh, dc=dc)
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


def lstm_forward(params: Params, x: Array, h0: Array | None = None, c0: Array | None = None, *, engine: str = "reference",
                 need_cache: bool = True):
    """Run one LSTM layer over a sequence.

    Every array of the call must share one dtype, float32 or float64 (``DtypeError`` otherwise);
    the outputs come back in that dtype, namespace and device, and share no memory with the cache.

    Parameters
    ----------
    params : dict
        ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)``, gate blocks i | f | g | o.
    x : array
        ``(T, B, D)`` input, time first.
    h0, c0 : array, optional
        ``(B, H)`` initial states; zeros when omitted.
    engine : {"reference", "fast", "compiled"}
        ``"reference"`` runs the code of this file on any array library; ``"fast"`` runs the speed
        kernel of NumPy or CuPy arrays (the same numbers, tested against this file), and this file
        elsewhere; ``"compiled"`` runs, for NumPy arrays, the NumPy kernel compiled, the batch's slices
        side by side on the cores (needs Numba and SciPy; float32 numbers differ from ``"fast"``'s in
        the last bits, and are the same on any number of threads), and what
        ``"fast"`` runs elsewhere.
    need_cache : bool
        False when no backward follows (validation, prediction): the forward then keeps only what
        the next step needs, not every step's gates and cell states, and returns None for the cache.
        The outputs are the same numbers, bit for bit.

    Returns
    -------
    hs : array
        ``(T, B, H)`` hidden state at every step.
    final : tuple of array
        ``(h_T, c_T)``, ``(B, H)`` each: the final states (carry them into the next call for stateful runs or
        truncated BPTT).
    cache : LSTMCache or a kernel's cache or None
        What ``lstm_backward`` needs; None when ``need_cache`` is False. It keeps its own copies (both
        engines): changing ``params``, ``x``, ``h0`` or ``c0`` after this call, in place or in the
        dict, does not change what ``lstm_backward`` computes, which is always the gradient of the
        forward that ran.
    """
    D, H = lstm_sizes(params)
    T, B = check_call(x, params, D, H, h0=h0, c0=c0)
    kernel = _kernel(engine, x)
    if kernel is not None:
        return kernel.forward(params, x, h0, c0) if need_cache else (*kernel.forward_without_cache(params, x, h0, c0), None)
    xp = namespace(x, params["W_x"])
    h0 = zeros_like_state(B, H, x) if h0 is None else h0  # (B, H)
    c0 = zeros_like_state(B, H, x) if c0 is None else c0  # (B, H)
    h, c = h0, c0
    hs, cs, tcs, gates = [], [], [], []
    for t in range(T):
        h, c, step = lstm_cell_forward(params, x[t, :, :], h, c)
        hs.append(h)
        if need_cache:
            cs.append(c)
            tcs.append(step["tc"])
            gates.append(step["gates"])
    if not need_cache:
        return xp.stack(hs, axis=0), (h, c), None  # (T, B, H), a new array
    # copies: what the caller changes after this call (in place, or in the dict) cannot change the backward
    cache = LSTMCache(params={name: copy_out(params[name]) for name in PARAM_NAMES}, x=copy_out(x), h0=copy_out(h0), c0=copy_out(c0),
                      hs=xp.stack(hs, axis=0),  # (T, B, H)
                      cs=xp.stack(cs, axis=0),  # (T, B, H)
                      tcs=xp.stack(tcs, axis=0),  # (T, B, H) tanh(c_t)
                      gates=xp.stack(gates, axis=0))  # (T, B, 4H) activated i | f | g | o
    return copy_out(cache.hs), (h, c), cache


def lstm_backward(cache, dhs: Array | None, dh_T: Array | None = None, dc_T: Array | None = None, *,
                  on_step: Callable | None = None):
    """Backpropagation through time for a cache of ``lstm_forward``, with the engine that made it.

    Parameters
    ----------
    cache : LSTMCache or a kernel's cache
        From ``lstm_forward``.
    dhs : array or None
        ``(T, B, H)`` gradient of the loss with respect to every output ``hs``; None for zeros (when
        only the final state feeds the loss).
    dh_T, dc_T : array, optional
        ``(B, H)`` gradients with respect to the final states; zeros when omitted.
    on_step : callable, optional
        ``on_step(t, dh, dc_next)``, called at every step with the total gradient of h_t and the
        gradient reaching c_t from step t+1 (the gradient-flow study uses it; reference caches only).

    Returns
    -------
    grads : dict
        The keys and shapes of ``params``.
    dx : array
        ``(T, B, D)`` gradient with respect to the input.
    dh0 : array
        ``(B, H)`` gradient with respect to the initial hidden state.
    dc0 : array
        ``(B, H)`` gradient with respect to the initial cell state.
    """
    check_cache(cache, (LSTMCache, *kernels.KERNEL_CACHES), "lstm_backward")
    params = cache.params
    _, H = lstm_sizes(params)  # (D, H), after checking the arrays fit together
    T, B = (cache.shape[0], cache.shape[1]) if isinstance(cache, kernels.KERNEL_CACHES) else cache.x.shape[:2]
    check_output_gradient(dhs, T, B, H)
    check_state("dh_T", dh_T, B, H)
    check_state("dc_T", dc_T, B, H)
    check_one_dtype({"the forward": params["W_x"], "dhs": dhs, "dh_T": dh_T, "dc_T": dc_T})
    if isinstance(cache, kernels.KERNEL_CACHES):
        if on_step is not None:
            raise ValueError("on_step needs a cache of the reference engine (lstm_forward(..., engine='reference'))")
        return kernels.kernel_of(cache).backward(cache, dhs, dh_T, dc_T)
    x, hs = cache.x, cache.hs
    xp = namespace(x, hs)
    dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T  # (B, H) flows back from step t+1
    dc_next = zeros_like_state(B, H, x) if dc_T is None else dc_T
    grads = {name: xp.zeros_like(params[name]) for name in PARAM_NAMES}
    dxs = [None] * T
    for t in reversed(range(T)):
        h_prev = hs[t - 1, :, :] if t > 0 else cache.h0
        c_prev = cache.cs[t - 1, :, :] if t > 0 else cache.c0
        dh = dh_next if dhs is None else dhs[t, :, :] + dh_next
        if on_step is not None:
            on_step(t, dh, dc_next)
        step = {"x": x[t, :, :], "h_prev": h_prev, "c_prev": c_prev, "gates": cache.gates[t, :, :], "tc": cache.tcs[t, :, :]}
        step_grads, dxs[t], dh_next, dc_next = lstm_cell_backward(params, dh, dc_next, step)
        grads = {name: grads[name] + step_grads[name] for name in PARAM_NAMES}  # the weights are shared by every step
    return grads, xp.stack(dxs, axis=0), dh_next, dc_next
