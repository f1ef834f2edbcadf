"""The compiled LSTM kernel (``engine="compiled"``): the NumPy kernel with each step's elementwise work in one
compiled loop.

``numpy_lstm`` makes one matrix product and nine elementwise NumPy calls per forward step, and one product
and five calls per backward step. Each call is a pass over the step's memory and a fixed cost of its own,
and at the sizes a forecaster trains (B = 64, H = 50: 12,800 gate numbers a step) the calls, not the
arithmetic, are most of the time. Here each step is the same product (BLAS, through NumPy) and one loop
that Numba compiles, which reads each number once and keeps the step's gates in registers:

    forward, per element (j, b):   i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)
                                   c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)
    backward, per element (j, b):  dh = dh_t + dh_next;   dc += dh * o (1 - tanh(c_t)^2)
                                   da_i, da_f, da_g *= dc;   da_o *= dh;   dc_{t-1} = dc f

Everything else (the layout, the cache, the step products, the weight gradients in one product) is
``numpy_lstm``'s, called with this file's two loops. The backward step computes the local factors too, in
the NumPy kernel's order of operations, so from the same cache it gives the same gradients, bit for bit.

The forward's float32 ``exp`` and ``tanh`` are written below as polynomials (the minimax coefficients of
Cephes' ``expf`` and ``tanhf``), because a call to the C library's functions stops the compiler from
running the loop over 8 numbers at once, and that is where the time goes. Each is within 1 ulp of the
correctly rounded value (``tests/core/test_compiled_kernel.py`` checks every 257th float32 number),
like NumPy's own. float64 uses the C library's ``exp`` and ``tanh``. So the forward's float32 numbers
differ from the NumPy kernel's in the last bits, as two correctly-rounding-within-an-ulp libraries do;
the tests compare both with the reference at float32's precision and check the gradients with finite
differences in float64.

Numba compiles each loop on its first call for a dtype (3 to 4 s for the first forward and backward),
and keeps the machine code in ``__pycache__`` (or the user's cache folder, or ``NUMBA_CACHE_DIR``) for later
processes, which load it in about 0.7 s; where no such folder can be written, each process compiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from . import numpy_lstm
from .numpy_lstm import NumpyLSTMCache

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
# the two loops, one step each

@numba.njit(**COMPILE)
def _forward_step(a, c_prev, c, tc, Z, t):
    """One step from its pre-activations ``a (4H, B)`` (i | f | o | g, sigmoid rows negated): writes the
    activated gates back into ``a``, c_t into ``c``, tanh(c_t) into ``tc`` and h_t into ``Z[:H, t + 1]``."""
    H, B = c.shape
    for j in range(H):
        for b in range(B):
            i = _sigmoid_of_negated(a[j, b])
            f = _sigmoid_of_negated(a[H + j, b])
            o = _sigmoid_of_negated(a[2 * H + j, b])
            g = _tanh(a[3 * H + j, b])
            c_t = f * c_prev[j, b] + i * g
            tc_t = _tanh(c_t)
            a[j, b], a[H + j, b], a[2 * H + j, b], a[3 * H + j, b] = i, f, o, g
            c[j, b] = c_t
            tc[j, b] = tc_t
            Z[j, t + 1, b] = o * tc_t


def _one_minus_square(g):
    """1 - g^2 in the dtype of g (tanh's derivative from its output)."""
    raise NotImplementedError("compiled code only")


@overload(_one_minus_square)
def _one_minus_square_for(g):
    if g == types.float32:
        return lambda g: _ONE - g * g
    return lambda g: 1.0 - g * g


@numba.njit(**COMPILE)
def _backward_step(da, dA_steps, dc, dh_next, dh_out, a, c_prev, tc, Z, t):
    """One step back (the equations of ``numpy_lstm._local_gate_gradients``, then its loop's step, in the
    same order): writes the gate gradients (i | f | g | o) into ``da (4H, B)`` and into ``dA_steps[:, t]``,
    and turns ``dc`` from dc_{t+1}'s share into dc_{t-1}'s. ``dh_out`` is this step's output gradient or
    None, ``dh_next`` the gradient from step t + 1, ``a`` the step's activated gates (i | f | o | g),
    ``c_prev`` c_{t-1}, ``tc`` tanh(c_t) and ``Z[:H, t + 1]`` h_t."""
    H, B = dc.shape
    for j in range(H):
        for b in range(B):
            i, f, o, g = a[j, b], a[H + j, b], a[2 * H + j, b], a[3 * H + j, b]
            tc_t = tc[j, b]
            dh = dh_next[j, b] if dh_out is None else dh_out[j, b] + dh_next[j, b]
            dc_t = dc[j, b] + dh * (o - Z[j, t + 1, b] * tc_t)  # dc_t, total: o (1 - tc^2) = o - h tc
            da_i = (i - i * i) * g * dc_t  # s'(s) = s - s^2
            da_f = (f - f * f) * c_prev[j, b] * dc_t
            da_g = _one_minus_square(g) * i * dc_t
            da_o = (o - o * o) * tc_t * dh
            da[j, b], da[H + j, b], da[2 * H + j, b], da[3 * H + j, b] = da_i, da_f, da_g, da_o
            dA_steps[j, t, b], dA_steps[H + j, t, b], dA_steps[2 * H + j, t, b], dA_steps[3 * H + j, t, b] = da_i, da_f, da_g, da_o
            dc[j, b] = dc_t * f  # now dc_{t-1}


def _recurrence(W_fwd: np.ndarray, Z: np.ndarray, gate_steps, cell_steps, tc_steps) -> None:
    """``numpy_lstm._recurrence``, each step's elementwise work in one compiled call."""
    B = Z.shape[2]
    product = np.dot if B == 1 else np.matmul
    Zt = Z.transpose(1, 0, 2)  # (T + 1, K, B)
    for t, (z, (a, *_), (c_prev, c), tc) in enumerate(zip(Zt[:-1], gate_steps, cell_steps, tc_steps)):
        product(W_fwd, z, out=a)  # a = W Z_t, pre-activations (negated in the sigmoid rows)
        _forward_step(a, c_prev, c, tc, Z, t)


def _backward_loop(cache: CompiledLSTMCache, WT, dZ, dhs, dh_T, dc) -> np.ndarray:
    """``numpy_lstm._backward_loop``, each step's local factors and their products in one compiled call:
    no (T, 4H, B) pass over all steps first, and the gate gradients written step-minor as they are made."""
    T, B, D, H = cache.shape
    A, C, TC, Z = cache.A, cache.C, cache.TC, cache.Z
    da = np.empty((4 * H, B), dtype=A.dtype)  # this step's gate gradients, for the product W^T da_t
    dA_steps = numpy_lstm._work_array("dA_steps", (4 * H, T, B), A.dtype)
    dh_next = dh_T
    for t in reversed(range(T)):
        _backward_step(da, dA_steps, dc, dh_next, None if dhs is None else dhs[t], A[t], C[t], TC[t], Z, t)
        np.dot(WT, da, out=dZ[t])  # [dh_{t-1}; dx_t; d(1)] = W^T da_t
        dh_next = dZ[t, :H]
    return dA_steps.reshape(4 * H, T * B)


# ----------------------------------------------------------------------------------------------
# the kernel's three entry points: numpy_lstm's, with the loops above (BLAS's thread rule comes with them)

def forward(params, x: np.ndarray, h0=None, c0=None):
    """``numpy_lstm.forward`` with the compiled step (inputs already checked)."""
    return numpy_lstm.forward(params, x, h0, c0, recurrence=_recurrence, cache_type=CompiledLSTMCache)


def forward_without_cache(params, x: np.ndarray, h0=None, c0=None):
    """``numpy_lstm.forward_without_cache`` with the compiled step: the same numbers as ``forward``, bit for bit."""
    return numpy_lstm.forward_without_cache(params, x, h0, c0, recurrence=_recurrence)


def backward(cache: CompiledLSTMCache, dhs=None, dh_T=None, dc_T=None):
    """``numpy_lstm.backward`` with the compiled step (inputs already checked)."""
    return numpy_lstm.backward(cache, dhs, dh_T, dc_T, backward_loop=_backward_loop)

