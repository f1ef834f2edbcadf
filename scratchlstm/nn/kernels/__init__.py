"""Speed engines of the LSTM, below the reference: each computes ``lstm.py``'s numbers its own way.

``numpy_lstm`` (fewer, larger NumPy calls) and ``cupy_lstm`` (one product and one fused elementwise
kernel per step) each own a cache dataclass and offer ``forward(params, x, h0, c0)`` and
``backward(cache, dhs, dh_T, dc_T)`` on inputs the public functions have already checked. They import
only the shared helpers of ``nn/shapes.py``, never the reference they are tested against.
"""

from __future__ import annotations

from types import ModuleType

from ...backend import is_cupy, is_numpy
from . import cupy_lstm, numpy_lstm

KERNEL_CACHES = (numpy_lstm.NumpyLSTMCache, cupy_lstm.CupyLSTMCache)


def kernel_for(xp) -> ModuleType | None:
    """The kernel module for arrays of namespace ``xp``, or None where there is none (the reference runs)."""
    if is_numpy(xp):
        return numpy_lstm
    if is_cupy(xp):
        return cupy_lstm
    return None


def kernel_of(cache) -> ModuleType:
    """The kernel module that made ``cache``."""
    return numpy_lstm if isinstance(cache, numpy_lstm.NumpyLSTMCache) else cupy_lstm
