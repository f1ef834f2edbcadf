"""A BLAS matrix product called from compiled code, so that one compiled loop runs every step of a sequence.

NumPy's products cannot be called from Numba's compiled loops without going back to Python at every
step. SciPy publishes the addresses of its BLAS functions (``scipy.linalg.cython_blas``); this file calls
``sgemm``/``dgemm`` at such an address, handed in as a plain integer so that Numba can keep the loop's
machine code between processes (a function object baked into the code would not be kept). The compiled
kernel then runs a whole batch slice through all T steps in one call that holds no Python lock, and
two slices run on two threads at once.

BLAS is Fortran: matrices are column-major and every argument is passed by address. A row-major
``(R, C)`` block with row stride ``ld`` is, to Fortran, its transpose: a ``(C, R)`` column-major matrix
with leading dimension ``ld``. So the row-major product ``out (R, N) = left (R, K) @ right (K, N)`` is
the Fortran product ``out^T (N, R) = right^T (N, K) left^T (K, R)``, and that is how ``matmul_into`` asks
for it: no transposes and no copies, only the strides of the blocks as they lie in memory.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import get_cython_function_address, intrinsic

try:  # the same BLAS library that SciPy uses (its own OpenBLAS in SciPy's wheels)
    import scipy.linalg.cython_blas  # noqa: F401 (imported so that its functions' addresses exist)
except ImportError as e:
    raise ImportError(f"engine 'compiled' calls BLAS through SciPy: {e}") from None


def _addresses(name: str) -> dict:
    """``{dtype: address}`` of the BLAS function ``name`` (``gemm``, ``gemv``) for float32 and float64."""
    return {np.dtype(dtype): get_cython_function_address("scipy.linalg.cython_blas", prefix + name)
            for prefix, dtype in (("s", np.float32), ("d", np.float64))}


GEMM_AT, GEMV_AT = _addresses("gemm"), _addresses("gemv")
BLAS_AT = {dtype: (GEMM_AT[dtype], GEMV_AT[dtype]) for dtype in GEMM_AT}  # what matmul_into is handed

_N, _T = 78, 84  # ord("N"), ord("T"): no transpose, transpose


@intrinsic
def _call_fortran(typingctx, address, pointers):
    """Call the function at ``address`` with the addresses in the tuple ``pointers`` as its arguments."""
    def codegen(context, builder, signature, args):
        bytes_at = ir.IntType(8).as_pointer()
        function_type = ir.FunctionType(ir.VoidType(), [bytes_at] * pointers.count)
        function = builder.inttoptr(args[0], function_type.as_pointer())
        builder.call(function, [builder.inttoptr(builder.extract_value(args[1], k), bytes_at) for k in range(pointers.count)])
        return context.get_dummy_value()
    return types.void(types.intp, pointers), codegen


@numba.njit(nogil=True, cache=True)
def matmul_into(blas_at, scratch, scalars, R, N, K, out, out_at, out_ld, left, left_at, left_ld, right, right_at, right_ld,
                right_transposed=False):
    """``out (R, N) = left (R, K) @ right (K, N)`` on blocks inside larger row-major arrays.

    Each block is given by its array, the index of its first number in the array's flat memory
    (``*_at``) and its row stride in numbers (``*_ld``); with ``right_transposed`` the array holds right's
    transpose, ``(N, K)``. ``blas_at`` is ``BLAS_AT[dtype]``; ``scratch (8,) int32`` and ``scalars (2,)`` (the
    arrays' dtype) are the caller's, reused from call to call: BLAS reads its arguments from their
    addresses. A single column (N = 1) is a matrix-vector product (``?gemv``), as NumPy computes it, so
    that the numbers are NumPy's there too.
    """
    i, x, size = scratch.ctypes.data, scalars.ctypes.data, out.itemsize  # addresses; 4 bytes an int32
    scalars[0], scalars[1] = 1.0, 0.0  # alpha, beta
    out_p = out.ctypes.data + out_at * size  # the blocks' first numbers
    left_p, right_p = left.ctypes.data + left_at * size, right.ctypes.data + right_at * size
    if N == 1 and not right_transposed:
        # y = A x with A = left^T in Fortran (K x R, lda = left_ld), transposed: trans 'T', m = K, n = R
        scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5] = _T, K, R, left_ld, right_ld, out_ld
        _call_fortran(blas_at[1], (i, i + 4, i + 8, x, left_p, i + 12, right_p, i + 16, x + size, out_p, i + 20))
        return
    # Fortran's C (m x n) = op(A) (m x k) B (k x n) with op(A) = right^T, B = left^T, C = out^T: m = N, n = R
    scratch[0] = _T if right_transposed else _N  # transa, one byte in an int32 (the other three are never read)
    scratch[7] = _N  # transb
    scratch[1], scratch[2], scratch[3] = N, R, K
    scratch[4], scratch[5], scratch[6] = right_ld, left_ld, out_ld  # lda, ldb, ldc
    _call_fortran(blas_at[0], (i, i + 28, i + 4, i + 8, i + 12, x, right_p, i + 16, left_p, i + 20, x + size, out_p, i + 24))
