"""The NumPy speed kernel of the LSTM (``engine="fast"``): the reference's numbers with fewer, larger calls.

The reference (``scratchlstm/nn/lstm.py``) is what the docs derive and what runs by default; this
file reorganises the same arithmetic for NumPy and is tested against it, against finite
differences and against PyTorch. ``lstm_forward(..., engine="fast")`` runs it for NumPy arrays, and
``lstm_backward`` follows the cache it made (``NumpyLSTMCache``).

What changes, and why each helps on a CPU:

1. Feature-major layout. Inside, every per-step array is (features, B): the gate pre-activations
   are ``A_t (4H, B)``, so each gate is one contiguous block of H*B numbers and every elementwise
   call runs over contiguous memory.
2. Gate order i, f, o, g inside (the public order is i, f, g, o), so the three sigmoid gates form
   one block ``A_t[0:3H]`` and the candidate the block ``A_t[3H:4H]``.
3. The three sigmoid gates in one pass: their forward weights are pre-negated, so the block holds
   -z and ``1 / (1 + exp(-z))`` takes three calls over 3H rows. (The cheaper float32 form
   0.5 + 0.5 tanh(z / 2) loses all relative accuracy for negative z: a forget gate at z = -20 comes
   out exactly 0 instead of 2.1e-9. The exp form keeps every gate within 2.2e-7 of the sigmoid
   computed in float64, and costs 1.7 to 8.4 us more per step: ``python -m benchmarks.sigmoid_forms``.)
4. Input and bias folded into the step's product: the state is kept as the augmented column
   ``Z_t = [h_{t-1}; x_t; 1]  (H + D + 1, B)`` and the weights as ``W (4H, H + D + 1) = [W_h^T |
   W_x^T | b]``, so ``A_t = W Z_t`` is one matrix product with no separate input product (which is
   very slow with an inner dimension of 1 when D = 1) and no bias add. Backward reads ``dh_{t-1}``
   and ``dx_t`` from one product ``W^T dA_t``, and all weight gradients come from one product
   after the loop, ``dW = sum_t dA_t Z_t^T``.
5. Every elementwise step writes into preallocated arrays with ``out=``; h_t is written straight
   into the next step's ``Z_{t+1}``.
6. Backward computes every factor that does not wait for the recurrence for all steps at once
   (``_local_gate_gradients``), in the public gate order so that the three gradients that
   multiply dc are one block; that leaves 7 NumPy calls per step instead of 17. At a small
   batch a step is a few hundred numbers and the cost is the number of calls, not the arithmetic:
   this halves backward's time at B = 1.
7. Per-call overheads count at small batches too: scalars are 0-d arrays (a Python float is
   converted on every call), the per-step views come from iterating over the leading axis rather
   than slicing in the loop, and a single column (B = 1) uses ``np.dot``, the cheaper call there.
8. Backward's internal work arrays are reused between calls (see ``_work_array``).
9. BLAS runs on one thread when a step's product is small (``threads.py``): at the sizes a
   forecaster trains the second thread costs more than it brings.
10. NumPy's ufunc buffer is held to one (H, B) block (``ufunc_buffer_within_blocks``). An elementwise
    call over all T steps of one gate, a (T, H, B) view whose H*B blocks lie 4H*B numbers apart,
    is otherwise copied through the 8192-number buffer to make longer inner loops: 2.4x the time of
    the same call on contiguous memory in isolation, and 6 to 8% of a training step at B=64, T=30, H=32
    (the backward's local factors 0.36 -> 0.24 ms). Elementwise results do not depend on the buffer.
"""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass

import numpy as np

from ..shapes import Params, check_output_gradient
from .threads import small_products_on_one_thread

NUMPY_BUFFER = 8192  # NumPy's default ufunc buffer, in numbers
BUFFERED_BELOW = 1024  # numbers in an (H, B) block: below this no gain was measured (B=1, H=50: 0.74 ms either way)


def ufunc_buffer_within_blocks(sizes):
    """Decorate a kernel function so that NumPy's ufunc buffer is at most one (H, B) block while it runs, when that
    block holds at least ``BUFFERED_BELOW`` numbers; ``sizes(*args)`` gives its (B, D, H). The previous size is
    restored afterwards (errors included)."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            B, _, H = sizes(*args)
            if H * B < BUFFERED_BELOW:
                return fn(*args, **kwargs)
            previous = np.setbufsize(min(NUMPY_BUFFER, H * B // 16 * 16))  # a multiple of 16, as NumPy requires
            try:
                return fn(*args, **kwargs)
            finally:
                np.setbufsize(previous)
        return run
    return decorate


# public gate blocks are i | f | g | o; the fast layout is i | f | o | g
_TO_FAST = (0, 1, 3, 2)


def _reorder_gates(m: np.ndarray, H: int, axis: int) -> np.ndarray:
    """Swap the g and o blocks of the 4H gates along ``axis``: public i, f, g, o <-> fast i, f, o, g
    (the swap is its own inverse)."""
    lead = (slice(None),) * axis  # slicing, not np.take: no index arrays, no extra copy
    blocks = [m[lead + (slice(k * H, (k + 1) * H),)] for k in _TO_FAST]
    return np.concatenate(blocks, axis=axis)


# Work arrays that live only inside one backward call are kept between calls, one set per thread.
# A fresh large array costs a page fault per 4 KiB on first touch, and whether NumPy's memory comes
# back fresh from the system depends on the allocator's history: measured here, backward at B=64,
# H=50 took 1,700 page faults and twice the time per call in some processes, and none in others.
# Keyed by shape too, so the layers of a stack (which differ in D) each keep theirs.
_work = threading.local()
_WORK_MAX_BYTES = 64 * 2**20  # larger arrays are allocated per call (their page faults are cheap next to the work)
_WORK_MAX_ARRAYS = 16  # the oldest goes first beyond this


def _work_array(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array for ``name`` of this shape and dtype, the same one on every call."""
    arrays = _work.__dict__.setdefault("arrays", {})
    key = (name, shape, np.dtype(dtype).str)
    a = arrays.get(key)
    if a is None:
        a = np.empty(shape, dtype=dtype)
        if a.nbytes <= _WORK_MAX_BYTES:
            arrays[key] = a
            if len(arrays) > _WORK_MAX_ARRAYS:
                del arrays[next(iter(arrays))]
    return a


@dataclass
class NumpyLSTMCache:
    """What ``forward`` keeps for ``backward``, in the kernel's feature-major layout.

    ``W (4H, K)`` the step weights ``[W_h^T | W_x^T | b]`` with gate rows i | f | o | g; ``Z (K, T+1, B)``
    the augmented states ``Z_t = [h_{t-1}; x_t; 1]`` (``Z[:H, T]`` is h_T); ``S (T, 5H, B)`` each step's
    activated gates i | f | o | g (``A``, its first 4H rows) and tanh(c_t) (``TC``, its last H rows), one
    block (see ``_steps_block``); ``C (T+1, H, B)`` the cell states (``C[0]`` = c_0); ``shape`` is
    ``(T, B, D, H)``. K = H + D + 1.
    """

    params: Params
    W: np.ndarray
    Z: np.ndarray
    S: np.ndarray
    C: np.ndarray
    shape: tuple[int, int, int, int]

    @property
    def A(self) -> np.ndarray:
        """The activated gates i | f | o | g, ``(T, 4H, B)`` (a view of ``S``)."""
        return self.S[:, : 4 * self.shape[3]]

    @property
    def TC(self) -> np.ndarray:
        """tanh(c_t), ``(T, H, B)`` (a view of ``S``)."""
        return self.S[:, 4 * self.shape[3] :]

    def gate_values(self) -> np.ndarray:
        """Activated gates ``(T, B, 4H)`` in the public order i | f | g | o (a copy)."""
        H = self.shape[3]
        return _reorder_gates(self.A, H, axis=1).transpose(0, 2, 1).copy()

    def cell_states(self) -> np.ndarray:
        """Cell states c_1 .. c_T, ``(T, B, H)`` (a copy)."""
        return self.C[1:].transpose(0, 2, 1).copy()


def _steps_block(T: int, H: int, B: int, dtype) -> np.ndarray:
    """``S (T, 5H, B)``: each step's activated gates (``S[t, :4H]``) and tanh(c_t) (``S[t, 4H:]``) in one array.

    Why one block, not two arrays: a compiled loop over one contiguous block per step runs over 8 or 16
    numbers at once, and it cannot prove that of views with strides it does not know. And memory:
    glibc's malloc returns the top of its heap to the system once more than twice the largest block
    freed so far is free there. With A and TC apart, the largest block is A
    (4HTB numbers) and a forward's arrays, outputs included, add up to just over 8HTB, so every
    forward-only call (validation, prediction) gave its memory back and took it again: 1,500 page
    faults per call and 3.6x the time at B=64, T=60, H=50. With 5HTB as the largest block the
    threshold is 10HTB and the memory stays.
    """
    return np.empty((T, 5 * H, B), dtype=dtype)


def _step_inputs(params: Params, x: np.ndarray, h0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The step weights ``W (4H, K)`` (gate rows i | f | o | g), the same with the sigmoid rows
    negated for the forward's product, and ``Z (K, T + 1, B)`` holding every x_t, the 1s and h_0."""
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    T, B, D = x.shape
    H = W_h.shape[0]
    K = H + D + 1
    dtype = np.result_type(x, W_x)
    W = _reorder_gates(np.concatenate([W_h.T, W_x.T, b[:, None]], axis=1), H, axis=0).astype(dtype, copy=False)  # (4H, K)
    W_fwd = W.copy()
    W_fwd[: 3 * H] *= -1.0  # the sigmoid rows give -z, so that sigmoid(z) = 1 / (1 + exp(-z))
    # Z[:, t, :] = [h_{t-1}; x_t; 1] (K, B); Z[:H, T, :] = h_T. Step-minor so that after the loop
    # the first T*B columns of Z.reshape(K, (T + 1) * B) are every Z_t side by side, with no copy.
    Z = np.empty((K, T + 1, B), dtype=dtype)
    Z[H : H + D, :T, :] = x.transpose(2, 0, 1)
    Z[K - 1, :, :] = 1.0
    Z[:H, 0, :] = 0.0 if h0 is None else h0.T
    return W, W_fwd, Z


def _recurrence(W_fwd: np.ndarray, Z: np.ndarray, S: np.ndarray, C: np.ndarray) -> None:
    """The forward's loop over time: writes every h_t into ``Z`` and each step's gates, tanh(c_t) and c_t into
    ``S`` and ``C``, which hold either every step or a ring of buffers that the steps reuse.

    Step t writes its gates into ``S[t % len(S), :4H]``, tanh(c_t) into ``S[t % len(S), 4H:]``, reads c_{t-1}
    from ``C[t % len(C)]`` and writes c_t into ``C[(t + 1) % len(C)]``. ``forward`` hands it the cache's arrays
    (T and T + 1 steps); ``forward_without_cache`` one step's block and two cell states that swap roles every
    step. One loop for both, so that the two compute the same numbers.
    """
    K, T1, B = Z.shape
    H = W_fwd.shape[0] // 4
    dtype = Z.dtype
    gate_steps = itertools.cycle([_gate_views(a, H) for a in S[:, : 4 * H]])
    cell_steps = itertools.cycle([(C[k], C[(k + 1) % len(C)]) for k in range(min(len(C), T1 - 1))])
    tc_steps = itertools.cycle(S[:, 4 * H :])
    one = np.asarray(1.0, dtype)  # a 0-d array: a Python float costs a conversion per call
    product = np.dot if B == 1 else np.matmul  # for a single column np.dot is the cheaper call
    ig = np.empty((H, B), dtype=dtype)
    Zt = Z.transpose(1, 0, 2)  # (T + 1, K, B): Zt[t] = Z_t, Zt[t + 1, :H] is where h_t goes
    # the per-step views, made by iterating rather than by slicing inside the loop (cheaper); Z's T steps end the zip
    steps = zip(Zt[: T1 - 1], Zt[1:, :H], gate_steps, cell_steps, tc_steps)
    with np.errstate(over="ignore"):  # exp(-z) = inf for z < -709 gives sigmoid = 1 / inf = 0, exactly right
        for z, h, (a, s, i, f, o, g), (c_prev, c), tc in steps:
            product(W_fwd, z, out=a)  # a = W Z_t, pre-activations (negated in the sigmoid rows)
            np.exp(s, out=s)
            np.add(s, one, out=s)
            np.divide(one, s, out=s)  # cheaper than np.reciprocal, and the same correctly rounded quotient
            np.tanh(g, out=g)
            # c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
            np.multiply(f, c_prev, out=c)
            np.multiply(i, g, out=ig)
            np.add(c, ig, out=c)
            np.tanh(c, out=tc)
            np.multiply(o, tc, out=h)


def _gate_views(a: np.ndarray, H: int) -> tuple[np.ndarray, ...]:
    """``(a, sigmoid block, i, f, o, g)`` of gate blocks ``a (..., 4H, B)`` in the fast order i | f | o | g."""
    return (a, a[..., : 3 * H, :], a[..., :H, :], a[..., H : 2 * H, :], a[..., 2 * H : 3 * H, :], a[..., 3 * H :, :])


def _call_sizes(params: Params, x: np.ndarray, *states) -> tuple[int, int, int]:
    return x.shape[1], x.shape[2], params["W_h"].shape[0]  # B, D, H


@small_products_on_one_thread(_call_sizes)
@ufunc_buffer_within_blocks(_call_sizes)
def forward(params: Params, x: np.ndarray, h0=None, c0=None, *, recurrence=None, cache_type=None):
    """The reference forward's ``(hs, (h_T, c_T), cache)``, computed the fast way (inputs already checked).

    ``recurrence`` runs the loop over time (``_recurrence``'s arguments) and ``cache_type`` holds the
    result (``NumpyLSTMCache``): the compiled kernel passes its own and shares the rest. None means
    this module's, looked up at each call, so that a loop replaced in the module (a planted bug, a
    test that watches the steps) is the one that runs.
    """
    T, B, D = x.shape
    H = params["W_h"].shape[0]
    W, W_fwd, Z = _step_inputs(params, x, h0)
    S = _steps_block(T, H, B, Z.dtype)  # (T, 5H, B): the activated gates i | f | o | g, then tanh(c_t)
    C = np.empty((T + 1, H, B), dtype=Z.dtype)  # C[t + 1] = c_t; C[0] = c_0
    C[0] = 0.0 if c0 is None else c0.T
    (recurrence or _recurrence)(W_fwd, Z, S, C)
    # the outputs are copies (the caller may edit them; the cache must not change), taken in the
    # cache's own order and returned as transposed views: a transposing copy reads Z with a stride of
    # (T + 1) B numbers and measured 2.5 ms at B=64, H=50 (the whole forward is 2 ms)
    hs = Z[:H, 1:, :].copy().transpose(1, 2, 0)  # (T, B, H)
    cache = (cache_type or NumpyLSTMCache)(dict(params), W, Z, S, C, (T, B, D, H))  # W and Z are copies already; the dict gives the sizes
    return hs, (Z[:H, T, :].copy().T, C[T].copy().T), cache


@small_products_on_one_thread(_call_sizes)
def forward_without_cache(params: Params, x: np.ndarray, h0=None, c0=None, *, recurrence=None):
    """``forward``'s ``(hs, (h_T, c_T))`` for when no backward follows (validation, prediction): the same loop
    and the same numbers, bit for bit, with one step's gates, c_t and tanh(c_t) in buffers that every
    step reuses (they stay in the CPU's cache) instead of a (T, 5H, B) block and (T + 1, H, B) cell states."""
    T, B, D = x.shape
    H = params["W_h"].shape[0]
    _, W_fwd, Z = _step_inputs(params, x, h0)
    S = _steps_block(1, H, B, Z.dtype)  # the step's gates i | f | o | g, then tanh(c_t)
    C = np.empty((2, H, B), dtype=Z.dtype)  # c_{t-1} and c_t, two buffers that swap roles every step
    C[0] = 0.0 if c0 is None else c0.T
    (recurrence or _recurrence)(W_fwd, Z, S, C)
    hs = Z[:H, 1:, :].transpose(1, 2, 0)  # (T, B, H): a view of Z, which nothing else holds
    return hs, (Z[:H, T, :].copy().T, C[T % 2].T)


def _local_gate_gradients(A, C_prev, TC, h, P, dc_gain, H: int) -> None:
    """The part of backward that does not wait for the recurrence, for all T steps at once.

    With the gradients reaching step t written dh (into h_t) and dc (into c_t, total), the step is

        dc  += dh * o (1 - tc^2)
        da_i = dc * g s'(i)        da_f = dc * c_{t-1} s'(f)
        da_o = dh * tc s'(o)       da_g = dc * i (1 - g^2)        s'(s) = s (1 - s) = s - s^2

    Only dh and dc come from later steps; each multiplies a factor that the forward already fixed.
    From ``A (T, 4H, B)`` (activated i | f | o | g), ``C_prev``, ``TC`` and ``h`` (each (T, H, B)),
    this writes those factors into ``P (T, 4H, B)`` in the public order i | f | g | o (so that the
    three that multiply dc are one block) and ``o (1 - tc^2) = o - h * tc`` (as h = o * tc)
    into ``dc_gain (T, H, B)``, so that each step is left with a few products: 7 calls in all, where
    the step-by-step form needs 17 (which is what costs time at small batches).
    """
    i, f, o, g = (A[:, k * H : (k + 1) * H] for k in range(4))  # A in the fast order i | f | o | g
    P_i, P_f, P_g, P_o = (P[:, k * H : (k + 1) * H] for k in range(4))  # P in the public order i | f | g | o
    # i | f are the first 2H rows in both orders: their s'(s) in one pass each, o's apart
    for s, out in ((A[:, : 2 * H], P[:, : 2 * H]), (o, P_o)):
        np.multiply(s, s, out=out)
        np.subtract(s, out, out=out)  # s'(s) = s - s^2
    for factor, out in ((g, P_i), (C_prev, P_f), (TC, P_o)):
        np.multiply(out, factor, out=out)
    np.multiply(g, g, out=P_g)
    np.subtract(1.0, P_g, out=P_g)
    np.multiply(P_g, i, out=P_g)
    np.multiply(h, TC, out=dc_gain)
    np.subtract(o, dc_gain, out=dc_gain)


def _backward_loop(cache: NumpyLSTMCache, WT, dZ, dhs, dh_T, dc) -> np.ndarray:
    """Backward's loop over time, from the last step to the first; returns every step's gate gradients,
    ``dA_all (4H, T*B)``, step-minor like ``Z`` for the weight gradients' one product.

    Each step's gate gradients (public order i | f | g | o) are the local factors of
    ``_local_gate_gradients``, computed for all steps first, times its dc and dh; ``W^T dA_t`` goes into
    ``dZ[t]``. ``WT (K, 4H)``; ``dhs (T, H, B)`` the gradients into each step's output or None; ``dh_T``
    and ``dc (H, B)`` the gradients into the final states; ``dc`` ends as dc_0.
    """
    T, B, D, H = cache.shape
    A, C, TC, Z = cache.A, cache.C, cache.TC, cache.Z
    dtype = A.dtype
    # dA (T, 4H, B): gate pre-activation gradients, public order i | f | g | o. It first holds the
    # local factors from _local_gate_gradients, which each step then multiplies in place by its dc and dh.
    dA = _work_array("dA", (T, 4 * H, B), dtype)
    dc_gain = _work_array("dc_gain", (T, H, B), dtype)
    _local_gate_gradients(A, C[:T], TC, Z[:H, 1:, :].transpose(1, 0, 2), dA, dc_gain, H)
    dh = np.empty((H, B), dtype=dtype)
    tmp = np.empty((H, B), dtype=dtype)
    dh_next = dh_T
    gates = dA.reshape(T, 4, H, B)
    # the per-step views, made by iterating over the leading axis as in forward
    steps = zip(range(T), dA, gates[:, :3], gates[:, 3], dc_gain, A[:, H : 2 * H], dZ)
    for t, da, da_ifg, da_o, gain, f, dz in reversed(list(steps)):
        if dhs is None:
            dh = dh_next
        else:
            np.add(dhs[t], dh_next, out=dh)
        np.multiply(dh, gain, out=tmp)
        np.add(dc, tmp, out=dc)  # dc_t, total
        np.multiply(da_ifg, dc, out=da_ifg)  # da_i, da_f and da_g, each times dc
        np.multiply(da_o, dh, out=da_o)
        np.multiply(dc, f, out=dc)  # now dc_{t-1}
        np.dot(WT, da, out=dz)  # [dh_{t-1}; dx_t; d(1)] = W^T da_t
        dh_next = dz[:H]
    if B == 1:
        return dA.reshape(T, 4 * H).T  # (4H, T), already step-minor
    dA_steps = _work_array("dA_steps", (4 * H, T, B), dtype)
    np.copyto(dA_steps, dA.transpose(1, 0, 2))  # step-minor like Z
    return dA_steps.reshape(4 * H, T * B)


def _weight_product(dA_all: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """All weight gradients in one product: ``dW^T (4H, K) = sum over t and b of dA_t Z_t^T = dA_all (4H, T*B) @
    Z_all^T``, with ``Z_all (K, T*B)`` the first T*B columns of ``Z``'s rows, every Z_t side by side (this
    orientation measured faster than ``Z_all @ dA_all.T``)."""
    K, T1, B = Z.shape
    Z_all = Z.reshape(K, T1 * B)[:, : (T1 - 1) * B]  # (K, T*B) strided view, no copy
    return dA_all @ Z_all.T


def _cache_sizes(cache: NumpyLSTMCache, *gradients) -> tuple[int, int, int]:
    return cache.shape[1:]  # B, D, H


@small_products_on_one_thread(_cache_sizes)
@ufunc_buffer_within_blocks(_cache_sizes)
def backward(cache: NumpyLSTMCache, dhs=None, dh_T=None, dc_T=None, *, backward_loop=None, weight_product=None):
    """The reference backward's ``(grads, dx, dh0, dc0)`` for a cache of ``forward`` (inputs already checked).

    ``backward_loop`` runs the loop over time (``_backward_loop``'s arguments) and ``weight_product`` the weight
    gradients' product (``_weight_product``'s); the compiled kernel passes its own.
    """
    T, B, D, H = cache.shape
    W, Z = cache.W, cache.Z
    K = H + D + 1
    dtype = cache.A.dtype
    check_output_gradient(dhs, T, B, H)
    WT = np.ascontiguousarray(_reorder_gates(W, H, axis=0).T)  # (K, 4H), gates in the public order like dA
    dZ = _work_array("dZ", (T, K, B), dtype)  # dZ[t] = [dh_{t-1}; dx_t; d(1)]
    dc = np.zeros((H, B), dtype=dtype) if dc_T is None else np.array(dc_T.T, dtype=dtype, order="C")
    dh_T = np.zeros((H, B), dtype=dtype) if dh_T is None else np.ascontiguousarray(dh_T.T, dtype=dtype)
    dhs_fm = None
    if dhs is not None:  # feature-major like everything else here, in one pass rather than one per step
        dhs_fm = _work_array("dhs", (T, H, B), dtype)
        np.copyto(dhs_fm, dhs.transpose(0, 2, 1))
    dA_all = (backward_loop or _backward_loop)(cache, WT, dZ, dhs_fm, dh_T, dc)  # (4H, T*B)
    dW = (weight_product or _weight_product)(dA_all, Z).T  # (K, 4H), public gate order
    grads = {"W_x": np.ascontiguousarray(dW[H : H + D]), "W_h": np.ascontiguousarray(dW[:H]), "b": dW[K - 1].copy()}
    dx = dZ[:, H : H + D, :].transpose(0, 2, 1).copy()  # (T, B, D), out of the reused dZ
    return grads, dx, dZ[0, :H, :].T.copy(), dc.T.copy()
