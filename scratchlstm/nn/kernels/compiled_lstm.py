"""The compiled LSTM kernel (``engine="compiled"``): the NumPy kernel's layout and arithmetic, with every step of
a slice of the batch in one compiled call, and the slices side by side on the cores.

``numpy_lstm`` makes one matrix product and nine elementwise NumPy calls per forward step, and one product
and five calls per backward step. Each call is a pass over the step's memory and a fixed cost of its own,
and at the sizes a forecaster trains (B = 64, H = 50: 12,800 gate numbers a step) the calls, not the
arithmetic, are most of the time. Here one function that Numba compiles runs all T steps: each step's
product (BLAS, called from the compiled code: ``compiled_blas.py``) and one loop that reads each number
once and keeps the step's gates in registers:

    forward, per element (j, b):   i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)
                                   c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)
    backward, per element (j, b):  dh = dh_t + dh_next;   dc += dh * o (1 - tanh(c_t)^2)
                                   da_i, da_f, da_g *= dc;   da_o *= dh;   dc_{t-1} = dc f

The rows of a batch never meet in the recurrence (row b's h_t needs only row b's h_{t-1}), so each function
runs the steps of a slice of the batch's columns, ``b0:b1``, and the slices (``threads.batch_slices``: 32
rows or more each, chosen by the sizes alone) run side by side on Numba's threads with no meeting point until the
last step. The weight gradients' product is cut the same way, by blocks of gate rows. The slices are the
same on one thread and on many, so the numbers are too (tested, bit for bit).

Everything else (the layout, the cache, the inputs and outputs) is ``numpy_lstm``'s, called with this file's
loops. The backward computes the local factors too, in the NumPy kernel's order of operations, so from
the same cache it gives the same gradients, bit for bit, where the batch is one slice; with more, BLAS
may sum a slice's products, and a block of gate rows of the weight product, in another order than the
whole batch's (OpenBLAS's AVX2 kernels did not in float64 up to two slices; its AVX-512 ones did), and
the gradients differ in the last bits (tested within 1e-14 of the largest in float64, 2e-6 in float32). BLAS runs on one thread in every call (the slices are the threads): a product that BLAS
splits over its own threads sums in yet another order, which would tie the numbers to the cores.

The forward's float32 ``exp`` and ``tanh`` are written below as polynomials (the minimax coefficients of
Cephes' ``expf`` and ``tanhf``), because a call to the C library's functions stops the compiler from
running the loop over 8 numbers at once, and that is where the time goes. Each is within 1 ulp of the
correctly rounded value (``tests/core/test_compiled_kernel.py`` checks every 257th float32 number),
like NumPy's own. float64 uses the C library's ``exp`` and ``tanh``. So the forward's float32 numbers
differ from the NumPy kernel's in the last bits, as two correctly-rounding-within-an-ulp libraries do;
the tests compare both with the reference at float32's precision and check the gradients with finite
differences in float64.

Numba compiles each loop on its first call for a dtype (about 5 s for the first forward and backward),
and keeps the machine code in ``__pycache__`` (or the user's cache folder, or ``NUMBA_CACHE_DIR``) for later
processes, which load it in about 0.3 s; where no such folder can be written, each process compiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from . import numpy_lstm, threads
from .compiled_blas import BLAS_AT, matmul_into
from .numpy_lstm import NumpyLSTMCache
from .threads import batch_slices, equal_parts, slice_threads

threads.forget_blas_libraries()  # SciPy's BLAS, which the loops call, is held to one thread with NumPy's

F32 = np.float32


def _can_keep_machine_code() -> bool:
    """Whether Numba finds a folder it can write its compiled code to (``__pycache__`` beside this file, else
    the user's cache folder or ``NUMBA_CACHE_DIR``); where none is writable it refuses ``cache=True``."""
    try:
        numba.njit(cache=True)(lambda: None)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return False
    return True


# error_model: IEEE division (no ZeroDivisionError check per number); cache: compile once per machine, not per process
COMPILE = dict(error_model="numpy", cache=_can_keep_machine_code())


@dataclass
class CompiledLSTMCache(NumpyLSTMCache):
    """``NumpyLSTMCache``, made by this kernel: ``lstm_backward`` runs this kernel's backward on it."""


# ----------------------------------------------------------------------------------------------
# float32 exp and tanh the compiler can vectorise

_LOG2E = F32(1.44269504088896341)
_LN2_HI, _LN2_LO = F32(0.693359375), F32(-2.12194440e-4)  # ln 2 in two parts: n * _LN2_HI is exact for |n| < 2^9
_EXP_POLY = tuple(F32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                   1.6666665459e-1, 5.0000001201e-1))
_EXP_MIN = F32(-86.9)  # exp(-86.9) < 2e-38: below it exp32 stays there (1 + exp(x) is 1 either way)
_EXP_MAX = F32(88.72283)  # ln of float32's largest number: above it exp is inf
_TANH_POLY = tuple(F32(c) for c in (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
                                    -3.33332819422e-1))
_TANH_SMALL = F32(0.625)  # below this |x| the odd polynomial; above it the exp form (no cancellation there)
_ZERO, _HALF, _ONE, _TWO, _INF = F32(0.0), F32(0.5), F32(1.0), F32(2.0), F32(np.inf)


@intrinsic
def _float32_with_bits(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits`` (a reinterpretation, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@numba.njit(**COMPILE)
def exp32(x):
    """exp(x) in float32, within 1 ulp: x = n ln 2 + r with |r| <= ln(2) / 2, exp(r) by Cephes' polynomial,
    times 2^n built from its bits. NaN stays NaN; above ``_EXP_MAX`` inf; below ``_EXP_MIN`` exp(_EXP_MIN), a
    number under 2e-38 (this kernel only ever adds exp's result to 1)."""
    x_in = _EXP_MIN if x < _EXP_MIN else x  # written so that NaN (every comparison False) passes through
    x_in = _EXP_MAX if x_in > _EXP_MAX else x_in
    n = np.floor(x_in * _LOG2E + _HALF)
    r = x_in - n * _LN2_HI - n * _LN2_LO
    p0, p1, p2, p3, p4, p5 = _EXP_POLY
    p = ((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5
    e_r = p * (r * r) + r + _ONE  # NaN for NaN
    # 2^n as 2 * 2^(n - 1): n reaches 128 at _EXP_MAX, one past float32's largest exponent
    n = n if n == n else _ZERO  # NaN has no integer; e_r carries it
    e = e_r * _TWO * _float32_with_bits((np.int32(n) + np.int32(126)) << np.int32(23))
    return _INF if x > _EXP_MAX else e


@numba.njit(**COMPILE)
def tanh32(x):
    """tanh(x) in float32, within 1 ulp: Cephes' odd polynomial for |x| < 0.625, 1 - 2 / (exp(2|x|) + 1)
    with the sign of x above (where it has no cancellation)."""
    z = x * x
    t0, t1, t2, t3, t4 = _TANH_POLY
    small = ((((t0 * z + t1) * z + t2) * z + t3) * z + t4) * z * x + x
    large = _ONE - _TWO / (exp32(_TWO * abs(x)) + _ONE)
    large = -large if x < _ZERO else large
    small = x if z == _ZERO else small  # tanh(x) = x where x^2 underflows; keeps the sign of -0.0
    return small if abs(x) < _TANH_SMALL else large


def _sigmoid_of_negated(a):
    """sigmoid(z) = 1 / (1 + exp(a)) from a = -z (the kernel keeps the sigmoid rows' pre-activations negated)."""
    raise NotImplementedError("compiled code only")


def _tanh(x):
    """tanh(x) in the dtype of x."""
    raise NotImplementedError("compiled code only")


@overload(_sigmoid_of_negated)
def _sigmoid_of_negated_for(a):
    if a == types.float32:
        return lambda a: _ONE / (_ONE + exp32(a))
    return lambda a: 1.0 / (1.0 + math.exp(a))  # exp(a) = inf for a > 709 gives 0, exactly right


@overload(_tanh)
def _tanh_for(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: math.tanh(x)


# ----------------------------------------------------------------------------------------------
# the loops: every step of one slice of the batch's columns, in one compiled call each

@numba.njit(nogil=True, **COMPILE)
def _forward_columns(blas_at, W_fwd, Z, S, C, b0, b1):
    """Every step of the batch columns ``b0:b1`` (``numpy_lstm._recurrence``'s arrays and rings): per step t,
    the pre-activations ``a = W Z_t (4H, n)`` by BLAS into ``S[t % len(S), :4H]``, then per element (j, b)

        i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)      (sigmoid rows hold -z)
        c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)

    written back into ``a`` (activated), ``S[t % len(S), 4H:]`` (tanh(c_t)), ``C[(t + 1) % len(C)]`` and
    ``Z[:H, t + 1]``."""
    K, T1, B = Z.shape
    H = W_fwd.shape[0] // 4
    lo, hi = np.uint64(b0), np.uint64(b1)  # unsigned: no test for a negative index per number, and the loop vectorises
    scratch, scalars = np.empty(8, np.int32), np.empty(2, Z.dtype)
    for t in range(T1 - 1):
        s, c_prev, c = S[t % S.shape[0]], C[t % C.shape[0]], C[(t + 1) % C.shape[0]]  # (5H, B), (H, B), (H, B)
        # a (4H, n) = W_fwd (4H, K) @ Z_t (K, n), n = b1 - b0: blocks of S, W_fwd and Z, by first number and row stride
        matmul_into(blas_at, scratch, scalars, 4 * H, b1 - b0, K,
                    S, (t % S.shape[0]) * 5 * H * B + b0, B, W_fwd, 0, K, Z, t * B + b0, T1 * B)
        for j in range(H):
            for b in range(lo, hi):
                i = _sigmoid_of_negated(s[j, b])
                f = _sigmoid_of_negated(s[H + j, b])
                o = _sigmoid_of_negated(s[2 * H + j, b])
                g = _tanh(s[3 * H + j, b])
                c_t = f * c_prev[j, b] + i * g
                tc_t = _tanh(c_t)
                s[j, b], s[H + j, b], s[2 * H + j, b], s[3 * H + j, b] = i, f, o, g
                c[j, b] = c_t
                s[4 * H + j, b] = tc_t
                Z[j, t + 1, b] = o * tc_t


def _one_minus_square(g):
    """1 - g^2 in the dtype of g (tanh's derivative from its output)."""
    raise NotImplementedError("compiled code only")


@overload(_one_minus_square)
def _one_minus_square_for(g):
    if g == types.float32:
        return lambda g: _ONE - g * g
    return lambda g: 1.0 - g * g


@numba.njit(nogil=True, **COMPILE)
def _backward_columns(blas_at, WT, dZ, da, dA_steps, dc, dh_T, dhs, S, C, Z, b0, b1):
    """Every step back of the batch columns ``b0:b1``, from t = T - 1 to 0 (the equations of
    ``numpy_lstm._local_gate_gradients``, then its loop's step, in the same order): per element (j, b)

        dh = dhs_t + dh_next;   dc += dh * o (1 - tanh(c_t)^2)
        da_i = s'(i) g dc;   da_f = s'(f) c_{t-1} dc;   da_g = (1 - g^2) i dc;   da_o = s'(o) tanh(c_t) dh
        dc = dc f   (now dc_{t-1})

    into ``da (4H, B)`` and ``dA_steps[:, t]`` (public order i | f | g | o), then ``[dh_{t-1}; dx_t; d(1)] =
    W^T da`` by BLAS into ``dZ[t] (K, n)``. ``dhs (T, H, B)`` is the output gradients or None, ``dh_T`` the
    gradient into h_T; ``S`` holds the activated gates (i | f | o | g) and tanh(c_t), ``C`` the cell states
    and ``Z[:H, t + 1]`` h_t."""
    K, T1, B = Z.shape
    T = T1 - 1
    H = dc.shape[0]
    lo, hi = np.uint64(b0), np.uint64(b1)
    scratch, scalars = np.empty(8, np.int32), np.empty(2, Z.dtype)
    for t in range(T - 1, -1, -1):
        s, c_prev = S[t], C[t]
        dh_next = dh_T if t == T - 1 else dZ[t + 1]  # its first H rows
        for j in range(H):
            for b in range(lo, hi):
                i, f, o, g = s[j, b], s[H + j, b], s[2 * H + j, b], s[3 * H + j, b]
                tc_t = s[4 * H + j, b]
                dh = dh_next[j, b] if dhs is None else dhs[t, j, b] + dh_next[j, b]
                dc_t = dc[j, b] + dh * (o - Z[j, t + 1, b] * tc_t)  # dc_t, total: o (1 - tc^2) = o - h tc
                da_i = (i - i * i) * g * dc_t  # s'(s) = s - s^2
                da_f = (f - f * f) * c_prev[j, b] * dc_t
                da_g = _one_minus_square(g) * i * dc_t
                da_o = (o - o * o) * tc_t * dh
                da[j, b], da[H + j, b], da[2 * H + j, b], da[3 * H + j, b] = da_i, da_f, da_g, da_o
                dA_steps[j, t, b], dA_steps[H + j, t, b] = da_i, da_f
                dA_steps[2 * H + j, t, b], dA_steps[3 * H + j, t, b] = da_g, da_o
                dc[j, b] = dc_t * f  # now dc_{t-1}
        matmul_into(blas_at, scratch, scalars, K, b1 - b0, 4 * H, dZ, t * K * B + b0, B, WT, 0, 4 * H, da, b0, B)


@numba.njit(nogil=True, **COMPILE)
def _weight_product_rows(blas_at, dA_all, Z, dWT, r0, r1):
    """``dWT[r0:r1] (r1 - r0, K) = dA_all[r0:r1] (r1 - r0, T*B) @ Z_all^T``, with ``Z_all (K, T*B)`` the first T*B
    columns of ``Z (K, T + 1, B)``'s rows: every Z_t side by side."""
    K, T1, B = Z.shape
    TB = (T1 - 1) * B
    scratch, scalars = np.empty(8, np.int32), np.empty(2, Z.dtype)
    matmul_into(blas_at, scratch, scalars, r1 - r0, K, TB, dWT, r0 * K, K, dA_all, r0 * TB, TB, Z, 0, T1 * B, True)


# the three loops above, each over a list of slices, the slices side by side on Numba's threads

@numba.njit(parallel=True, nogil=True, **COMPILE)
def _forward_slices(blas_at, W_fwd, Z, S, C, edges):
    for k in numba.prange(edges.shape[0] - 1):
        _forward_columns(blas_at, W_fwd, Z, S, C, edges[k], edges[k + 1])


@numba.njit(parallel=True, nogil=True, **COMPILE)
def _backward_slices(blas_at, WT, dZ, da, dA_steps, dc, dh_T, dhs, S, C, Z, edges):
    for k in numba.prange(edges.shape[0] - 1):
        _backward_columns(blas_at, WT, dZ, da, dA_steps, dc, dh_T, dhs, S, C, Z, edges[k], edges[k + 1])


@numba.njit(parallel=True, nogil=True, **COMPILE)
def _weight_product_slices(blas_at, dA_all, Z, dWT, edges):
    for k in numba.prange(edges.shape[0] - 1):
        _weight_product_rows(blas_at, dA_all, Z, dWT, edges[k], edges[k + 1])


def _run(one, side_by_side, args: tuple, slices: list[tuple[int, int]], work: int) -> None:
    """``one(*args, lo, hi)`` for every slice, one after another here, or ``side_by_side(*args, edges)`` on
    Numba's threads where ``threads.slice_threads`` gives more than one. The slices are the same either
    way, and so are the numbers (tested)."""
    with slice_threads(len(slices), work) as n:
        if n == 1:
            for lo, hi in slices:
                one(*args, lo, hi)
        else:
            side_by_side(*args, np.array([lo for lo, _ in slices] + [slices[-1][1]], dtype=np.int64))


def _recurrence(W_fwd: np.ndarray, Z: np.ndarray, S: np.ndarray, C: np.ndarray) -> None:
    """``numpy_lstm._recurrence`` (the same arguments): each slice of the batch through every step in one
    compiled call (``threads.batch_slices``)."""
    K, T1, B = Z.shape
    H = W_fwd.shape[0] // 4
    slices = batch_slices(B, K - H - 1, H)
    _run(_forward_columns, _forward_slices, (BLAS_AT[Z.dtype], W_fwd, Z, S, C), slices, W_fwd.size * B * (T1 - 1))


def _backward_loop(cache: CompiledLSTMCache, WT, dZ, dhs, dh_T, dc) -> np.ndarray:
    """``numpy_lstm._backward_loop`` (the same arguments and result): each slice of the batch back through every
    step in one compiled call; the local factors and their products per element, the gate gradients written
    step-minor as they are made."""
    T, B, D, H = cache.shape
    da = np.empty((4 * H, B), dtype=cache.S.dtype)  # one step's gate gradients, for the product W^T da
    dA_steps = numpy_lstm._work_array("dA_steps", (4 * H, T, B), cache.S.dtype)
    arrays = (WT, dZ, da, dA_steps, dc, dh_T, dhs, cache.S, cache.C, cache.Z)
    _run(_backward_columns, _backward_slices, (BLAS_AT[cache.S.dtype], *arrays), batch_slices(B, D, H), WT.size * B * T)
    return dA_steps.reshape(4 * H, T * B)


def _weight_product(dA_all: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """``numpy_lstm._weight_product``, its rows (the gates) cut into as many blocks as the batch has slices (a
    function of the layer's sizes alone, so the numbers are too)."""
    K, T1, B = Z.shape
    dWT = np.empty((dA_all.shape[0], K), dtype=dA_all.dtype)
    H = dA_all.shape[0] // 4
    blocks = equal_parts(4 * H, len(batch_slices(B, K - H - 1, H)))
    _run(_weight_product_rows, _weight_product_slices, (BLAS_AT[Z.dtype], np.ascontiguousarray(dA_all), Z, dWT), blocks,
         dWT.size * (T1 - 1) * B)
    return dWT


# ----------------------------------------------------------------------------------------------
# the kernel's three entry points: numpy_lstm's, with the loops above, and BLAS on one thread in every call:
# the slices are this kernel's threads, and a product that BLAS splits over its own threads sums in another
# order, so that the numbers would depend on the cores (numpy_lstm's rule gives BLAS its threads for large steps)

def forward(params, x: np.ndarray, h0=None, c0=None):
    """``numpy_lstm.forward`` with the compiled loops (inputs already checked)."""
    with threads.one_blas_thread():
        return numpy_lstm.forward(params, x, h0, c0, recurrence=_recurrence, cache_type=CompiledLSTMCache)


def forward_without_cache(params, x: np.ndarray, h0=None, c0=None):
    """``numpy_lstm.forward_without_cache`` with the compiled loops: the same numbers as ``forward``, bit for bit."""
    with threads.one_blas_thread():
        return numpy_lstm.forward_without_cache(params, x, h0, c0, recurrence=_recurrence)


def backward(cache: CompiledLSTMCache, dhs=None, dh_T=None, dc_T=None):
    """``numpy_lstm.backward`` with the compiled loops (inputs already checked)."""
    with threads.one_blas_thread():
        return numpy_lstm.backward(cache, dhs, dh_T, dc_T, backward_loop=_backward_loop, weight_product=_weight_product)
