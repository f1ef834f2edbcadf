"""The CuPy speed kernel of the LSTM (``engine="fast"``): per step, one matrix product and one elementwise kernel.

On a GPU every library call is a kernel launch that reads its inputs from and writes its outputs to
the GPU's main memory. The reference code (``lstm.py``) makes about fifteen such calls per forward
step and more per backward step, each over a (B, H) or (B, 4H) array; at the sizes where a GPU pays
(B = 256, H = 512 and up) it is those passes over memory and those launches, not the arithmetic,
that cost the time. This file computes the same numbers (tested against the reference) as:

1. Input and bias folded into the step's product, as in the NumPy fast path: the state is kept as
   the row ``Z_t = [h_{t-1} | x_t | 1]  (B, K)``, ``K = H + D + 1``, and the weights as
   ``W = [W_h; W_x; b]  (K, 4H)``, so ``a_t = Z_t W  (B, 4H)`` is one matrix product (cuBLAS).
2. All of a step's gate arithmetic in ONE elementwise kernel (``FORWARD_STEP``): it reads the
   four pre-activations and c_{t-1} once and writes the gates, c_t, tanh(c_t) and h_t, the last
   straight into ``Z_{t+1}``.
3. Backward mirrors it: one kernel (``BACKWARD_STEP``) for the step's pre-activation gradients
   ``da_t`` and ``dc_{t-1}``, then one product ``dZ_t = da_t W^T`` that gives ``dh_{t-1}`` and
   ``dx_t`` together, and after the loop all weight gradients in one product,
   ``dW = sum_t Z_t^T da_t``.

Each kernel's body is written once, in the subset of C and Python the two share: assignments of
arithmetic on the kernel's named values, with ``exp`` and ``tanh``, every line ending in ``;``.
On CuPy arrays it is compiled by ``cupy.ElementwiseKernel``; on NumPy arrays NumPy runs the
same text (``ElementwiseStep.__call__``). That is how the tests, on machines without a GPU,
check this file's loop, layout and kernel arithmetic against the reference: what only a GPU can
check is that the text compiles as CUDA and launches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..shapes import Params, check_output_gradient


class ElementwiseStep:
    """An elementwise kernel whose body is valid as both CUDA C and Python.

    ``inputs`` and ``outputs`` name the kernel's arrays (all of one floating dtype and one shape);
    ``temporaries`` names the per-element values the body assigns that are not outputs (C needs
    them declared). ``i`` is CuPy's loop index inside a kernel, so no name may be ``i``.
    """

    def __init__(self, name: str, inputs: tuple[str, ...], outputs: tuple[str, ...], body: str,
                 temporaries: tuple[str, ...] = ()):
        for n in inputs + outputs + temporaries:
            if n == "i" or n.startswith("_"):
                raise ValueError(f"{n!r} is reserved inside a CuPy elementwise kernel")
        self.name, self.inputs, self.outputs, self.temporaries, self.body = name, inputs, outputs, temporaries, body
        self._python = compile(body, f"<{name}>", "exec")
        self._cuda = None

    def __call__(self, *arrays) -> None:
        """Run the kernel on ``inputs`` then ``outputs`` (positionally); writes into the outputs."""
        n = len(self.inputs)
        if len(arrays) != n + len(self.outputs):
            raise TypeError(f"{self.name} takes {n} inputs and {len(self.outputs)} outputs, got {len(arrays)} arrays")
        if isinstance(arrays[0], np.ndarray):
            values = dict(zip(self.inputs, arrays[:n]))
            # exp(-a) overflows to inf for very negative a (sigmoid = 1 / inf = 0) and underflows to 0
            # for very positive a (sigmoid = 1): both limits exact, as in the CUDA kernel
            with np.errstate(over="ignore", under="ignore"):
                exec(self._python, {"exp": np.exp, "tanh": np.tanh}, values)
            for name, out in zip(self.outputs, arrays[n:]):
                out[...] = values[name]
        else:
            self.cuda_kernel()(*arrays)

    def cuda_kernel(self):
        """The body compiled as a ``cupy.ElementwiseKernel`` (built on first use)."""
        if self._cuda is None:
            import cupy

            declare = "".join(f"T {n};\n" for n in self.temporaries)
            self._cuda = cupy.ElementwiseKernel(", ".join(f"T {n}" for n in self.inputs),
                                                ", ".join(f"T {n}" for n in self.outputs),
                                                declare + self.body, self.name)
        return self._cuda


# c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)  (the equations of lstm.py, with a_* the pre-activations)
FORWARD_STEP = ElementwiseStep(
    "scratchlstm_forward_step",
    inputs=("a_i", "a_f", "a_g", "a_o", "c_prev"),
    outputs=("i_t", "f_t", "g_t", "o_t", "c_t", "tc_t", "h_t"),
    body="""
i_t = 1 / (1 + exp(-a_i));
f_t = 1 / (1 + exp(-a_f));
g_t = tanh(a_g);
o_t = 1 / (1 + exp(-a_o));
c_t = f_t * c_prev + i_t * g_t;
tc_t = tanh(c_t);
h_t = o_t * tc_t;
""")

# dh = dh_out + dh_next is the total gradient of h_t (from the output at t and from step t+1),
# dc the total gradient of c_t; sigmoid' = s (1 - s), tanh' = 1 - t^2
BACKWARD_STEP = ElementwiseStep(
    "scratchlstm_backward_step",
    inputs=("dh_out", "dh_next", "dc_next", "i_t", "f_t", "g_t", "o_t", "c_prev", "tc_t"),
    outputs=("da_i", "da_f", "da_g", "da_o", "dc_prev"),
    temporaries=("dh", "dc"),
    body="""
dh = dh_out + dh_next;
dc = dc_next + dh * o_t * (1 - tc_t * tc_t);
da_i = dc * g_t * i_t * (1 - i_t);
da_f = dc * c_prev * f_t * (1 - f_t);
da_g = dc * i_t * (1 - g_t * g_t);
da_o = dh * tc_t * o_t * (1 - o_t);
dc_prev = dc * f_t;
""")


def _module_of(x):
    """NumPy or CuPy itself (not the array-API wrapper): this file uses ``out=`` on ``matmul``."""
    if isinstance(x, np.ndarray):
        return np
    import cupy

    return cupy


def _gates(a, H: int):
    """The four gate blocks i, f, g, o of ``a (B, 4H)``, as views."""
    return tuple(a[:, k * H : (k + 1) * H] for k in range(4))


@dataclass
class CupyLSTMCache:
    """What ``forward`` keeps for ``backward``, batch-major (CuPy arrays, or NumPy when NumPy runs the kernels).

    ``W (K, 4H)`` the step weights ``[W_h; W_x; b]``; ``Z (T+1, B, K)`` the rows
    ``Z_t = [h_{t-1} | x_t | 1]`` (``Z[T, :, :H]`` is h_T); ``C (T+1, B, H)`` the cell states (``C[0]`` =
    c_0); ``gates (T, B, 4H)`` the activated gates i | f | g | o; ``TC (T, B, H)`` tanh(c_t); ``shape``
    is ``(T, B, D, H)``. K = H + D + 1.
    """

    params: Params
    W: Any
    Z: Any
    C: Any
    gates: Any
    TC: Any
    shape: tuple[int, int, int, int]

    def gate_values(self):
        """Activated gates ``(T, B, 4H)`` in the public order i | f | g | o (a copy)."""
        return self.gates.copy()

    def cell_states(self):
        """Cell states c_1 .. c_T, ``(T, B, H)`` (a copy)."""
        return self.C[1:].copy()


def _stacked(xp, params: Params, x, h0):
    """The fused weights ``W = [W_h; W_x; b]`` (K, 4H) and the stacked inputs ``Z`` (T + 1, B, K),
    ``Z[t] = [h_{t-1} | x_t | 1]`` with ``Z[0, :, :H] = h_0`` (the loop writes ``Z[t + 1, :, :H] = h_t``)."""
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    T, B, D = x.shape
    H = W_h.shape[0]
    K = H + D + 1
    dtype = xp.result_type(x, W_x)
    W = xp.concatenate([W_h, W_x, b[None, :]], axis=0).astype(dtype, copy=False)  # (K, 4H)
    Z = xp.empty((T + 1, B, K), dtype=dtype)  # (T + 1, B, K)
    Z[:T, :, H : H + D] = x
    Z[:, :, K - 1] = 1
    Z[0, :, :H] = 0 if h0 is None else h0
    return T, B, D, H, W, Z


def forward(params: Params, x, h0=None, c0=None):
    """The reference forward's ``(hs, (h_T, c_T), cache)`` with fused kernels (CuPy or NumPy arrays; inputs already checked)."""
    xp = _module_of(x)
    T, B, D, H, W, Z = _stacked(xp, params, x, h0)
    dtype = Z.dtype
    C = xp.empty((T + 1, B, H), dtype=dtype)  # C[t + 1] = c_t; C[0] = c_0
    C[0] = 0 if c0 is None else c0
    gates = xp.empty((T, B, 4 * H), dtype=dtype)  # activated i | f | g | o, as the reference caches them
    TC = xp.empty((T, B, H), dtype=dtype)  # tanh(c_t)
    a = xp.empty((B, 4 * H), dtype=dtype)  # the step's pre-activations, reused
    for t in range(T):
        xp.matmul(Z[t], W, out=a)  # a_t = Z_t W = x_t W_x + h_{t-1} W_h + b
        FORWARD_STEP(*_gates(a, H), C[t], *_gates(gates[t], H), C[t + 1], TC[t], Z[t + 1, :, :H])
    hs = Z[1:, :, :H].copy()  # (T, B, H), a copy: the caller may edit it
    cache = CupyLSTMCache(dict(params), W, Z, C, gates, TC, (T, B, D, H))  # W and Z are copies already; the dict gives the sizes
    return hs, (Z[T, :, :H].copy(), C[T].copy()), cache


def forward_without_cache(params: Params, x, h0=None, c0=None):
    """``forward``'s ``(hs, (h_T, c_T))`` for when no backward follows: the same product and kernel per step,
    with one step's gates and tanh(c_t) in reused buffers and c_{t-1}, c_t taking turns in two."""
    xp = _module_of(x)
    T, B, D, H, W, Z = _stacked(xp, params, x, h0)
    dtype = Z.dtype
    c_prev, c = xp.empty((B, H), dtype=dtype), xp.empty((B, H), dtype=dtype)
    c_prev[...] = 0 if c0 is None else c0
    gates = xp.empty((B, 4 * H), dtype=dtype)
    tc = xp.empty((B, H), dtype=dtype)
    a = xp.empty((B, 4 * H), dtype=dtype)
    for t in range(T):
        xp.matmul(Z[t], W, out=a)
        FORWARD_STEP(*_gates(a, H), c_prev, *_gates(gates, H), c, tc, Z[t + 1, :, :H])
        c_prev, c = c, c_prev
    return Z[1:, :, :H].copy(), (Z[T, :, :H].copy(), c_prev)


def backward(cache: CupyLSTMCache, dhs=None, dh_T=None, dc_T=None):
    """The reference backward's ``(grads, dx, dh0, dc0)`` for a cache of ``forward`` (inputs already checked)."""
    T, B, D, H = cache.shape
    W, Z, C, TC, gates = cache.W, cache.Z, cache.C, cache.TC, cache.gates
    K = H + D + 1
    xp = _module_of(Z)
    dtype = Z.dtype
    check_output_gradient(dhs, T, B, H)
    WT = xp.ascontiguousarray(W.T)  # (4H, K)
    dA = xp.empty((T, B, 4 * H), dtype=dtype)  # da_t, the pre-activation gradients
    dZ = xp.empty((T, B, K), dtype=dtype)  # dZ[t] = [dh_{t-1} | dx_t | d1]
    zeros = xp.zeros((B, H), dtype=dtype)
    dh_next = zeros if dh_T is None else dh_T
    # dc_next and dc_prev take turns in two buffers (a kernel never writes what it reads)
    dc_next = xp.zeros((B, H), dtype=dtype) if dc_T is None else xp.array(dc_T, dtype=dtype)
    dc_prev = xp.empty((B, H), dtype=dtype)
    for t in reversed(range(T)):
        dh_out = zeros if dhs is None else dhs[t]
        BACKWARD_STEP(dh_out, dh_next, dc_next, *_gates(gates[t], H), C[t], TC[t], *_gates(dA[t], H), dc_prev)
        xp.matmul(dA[t], WT, out=dZ[t])  # [dh_{t-1} | dx_t | d1] = da_t W^T
        dh_next = dZ[t, :, :H]
        dc_next, dc_prev = dc_prev, dc_next
    # all weight gradients in one product: dW (K, 4H) = sum over t and b of Z_t^T da_t
    dW = Z[:T].reshape(T * B, K).T @ dA.reshape(T * B, 4 * H)
    grads = {"W_h": xp.ascontiguousarray(dW[:H]), "W_x": xp.ascontiguousarray(dW[H : H + D]), "b": dW[K - 1].copy()}
    dx = xp.ascontiguousarray(dZ[:, :, H : H + D])  # (T, B, D)
    return grads, dx, dZ[0, :, :H].copy(), dc_next

