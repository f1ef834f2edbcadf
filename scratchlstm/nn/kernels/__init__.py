"""Speed engines of the LSTM, below the reference: each computes ``lstm.py``'s numbers its own way.

``numpy_lstm`` (fewer, larger NumPy calls), ``compiled_lstm`` (``numpy_lstm`` with each step's
elementwise work in one loop compiled by Numba, an optional dependency) and ``cupy_lstm`` (one product
and one fused elementwise kernel per step) each own a cache dataclass and offer ``forward(params, x, h0,
c0)``, ``forward_without_cache`` and ``backward(cache, dhs, dh_T, dc_T)`` on inputs the public functions
have already checked. They import only the shared helpers of ``nn/shapes.py`` (and each other), never
the reference they are tested against.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from ...backend import is_cupy, is_numpy
from ...errors import ConfigError
from . import cupy_lstm, numpy_lstm

# every kernel's cache (the compiled kernel's is a NumpyLSTMCache)
KERNEL_CACHES = (numpy_lstm.NumpyLSTMCache, cupy_lstm.CupyLSTMCache)


def compiled_kernel() -> ModuleType:
    """``compiled_lstm``, imported on first use (it needs Numba), or a ``ConfigError`` naming the fix."""
    try:
        return importlib.import_module(f"{__name__}.compiled_lstm")
    except ImportError as e:
        raise ConfigError(f"engine 'compiled' needs Numba and SciPy ({e}): pip install 'scratchlstm[compiled]', "
                          "or use engine 'fast'") from None


def kernel_for(xp, engine: str = "fast") -> ModuleType | None:
    """The kernel module ``engine`` ("fast" or "compiled") runs for arrays of namespace ``xp``, or None where
    there is none (the reference runs). On CuPy both engines run ``cupy_lstm``, already one compiled kernel
    per step."""
    if is_numpy(xp):
        return compiled_kernel() if engine == "compiled" else numpy_lstm
    if is_cupy(xp):
        return cupy_lstm
    return None


def kernel_of(cache) -> ModuleType:
    """The kernel module that made ``cache``: the module that defines its class."""
    return sys.modules[type(cache).__module__]
