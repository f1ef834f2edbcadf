"""The one place that knows about array libraries.

Model code never imports NumPy or CuPy. It asks ``namespace`` for the array namespace of its
inputs (``xp``), creates arrays with ``dtype=`` and ``device=`` taken from those inputs, and gets
its results back in the same namespace, device and dtype it was given.

Randomness is always drawn on the host with ``numpy.random.default_rng(seed)`` and then moved to the
target namespace with ``from_host``, so one seed gives the same weights on NumPy, CuPy and
array-api-strict.
"""

from __future__ import annotations

import importlib
from typing import Any

import array_api_compat
import numpy as np

from .errors import ConfigError

Array = Any  # an array of any array-API namespace (numpy.ndarray, cupy.ndarray, array_api_strict.Array)

BACKENDS = ("numpy", "array_api_strict", "cupy")


class BackendError(ConfigError):
    """A requested array backend or device cannot be used here."""


_NUMPY_NAMESPACE = array_api_compat.array_namespace(np.zeros(0))


def namespace(*arrays: Array):
    """Array-API namespace shared by ``arrays`` (NumPy arrays give the NumPy-compatible wrapper)."""
    if arrays and all(type(a) is np.ndarray for a in arrays):  # the common case, without the general search (about 20 us a call)
        return _NUMPY_NAMESPACE
    if any(is_masked(a) for a in arrays):
        raise masked_array_refusal("an array")
    return array_api_compat.array_namespace(*arrays)


def is_array(a: Any) -> bool:
    """Whether ``a`` is an array of a library the package runs on. A pandas Series has a shape and a dtype and is
    not one; a NumPy masked array is one here, so that it is refused on its own, with the fix (``masked_array_refusal``)."""
    if is_masked(a):
        return True
    if not (hasattr(a, "shape") and hasattr(a, "dtype")):
        return False
    try:
        namespace(a)
    except TypeError:
        return False
    return True


def library_of(a: Array) -> str:
    """The name of the library ``a`` comes from: ``numpy`` for any ndarray (subclasses defined elsewhere included),
    else the top-level module of its type (``torch``, ``cupy``, ``array_api_strict``)."""
    return "numpy" if isinstance(a, np.ndarray) else type(a).__module__.split(".")[0]


def is_masked(a: Array) -> bool:
    """Whether ``a`` is a NumPy masked array (an ndarray whose mask every product and ufunc here would ignore)."""
    return isinstance(a, np.ma.MaskedArray)


def masked_array_refusal(name: str) -> TypeError:
    """The refusal of a masked array called ``name``: its masked numbers would be read as data."""
    return TypeError(f"{name} is a NumPy masked array: its masked numbers would be read as data (nothing here looks at a mask); "
                     f"fill them first (for NumPy: np.asarray({'a' if ' ' in name else name}.filled(value))) or drop the "
                     "windows that hold them")


def device_of(x: Array):
    """Device of ``x`` in its own library's terms (``"cpu"`` for NumPy)."""
    return array_api_compat.device(x)


def is_numpy(xp) -> bool:
    """True when ``xp`` is NumPy (plain or through array-api-compat): the fast CPU path applies."""
    return array_api_compat.is_numpy_namespace(xp)


def is_cupy(xp) -> bool:
    """True when ``xp`` is CuPy: the fused GPU kernels apply."""
    return array_api_compat.is_cupy_namespace(xp)


def to_numpy(x: Array) -> np.ndarray:
    """Copy ``x`` to the host as a NumPy array (a no-op for NumPy input)."""
    if isinstance(x, np.ndarray):
        return x
    xp = namespace(x)
    if is_cupy(xp):
        return x.get()
    return np.from_dlpack(x) if hasattr(x, "__dlpack__") else np.asarray(x)


def from_host(a: np.ndarray | float, xp, *, dtype=None, device=None) -> Array:
    """Move host data ``a`` into namespace ``xp`` on ``device`` with ``dtype``."""
    return xp.asarray(np.asarray(a), dtype=dtype, device=device)


def place(host_arrays: dict[str, np.ndarray], *, xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """A dict of host arrays moved into namespace ``xp`` (NumPy when None) with ``dtype`` on ``device``.

    The arrays are copied: nothing returned shares memory with ``host_arrays``.
    """
    xp = get_namespace("numpy") if xp is None else xp
    dt = dtype_of(xp, dtype)
    return {name: xp.asarray(np.array(a, copy=True), dtype=dt, device=device) for name, a in host_arrays.items()}


def like(a: np.ndarray | float, ref: Array) -> Array:
    """Host data ``a`` as an array of the same namespace, device and dtype as ``ref``."""
    return from_host(a, namespace(ref), dtype=ref.dtype, device=device_of(ref))


def host_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The host random generator every draw in the package goes through."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def get_namespace(name: str):
    """Array namespace for a backend name: ``numpy``, ``array_api_strict`` or ``cupy``.

    Raises ``BackendError`` naming the choices, or saying what is missing (CuPy not installed,
    no GPU visible).
    """
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "numpy":
        return array_api_compat.array_namespace(np.zeros(0))
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        hint = ("pip install cupy (the 'gpu' extra: pip install -e '.[gpu]' in scratchlstm's folder)" if name == "cupy"
                else "pip install array-api-strict")
        raise BackendError(f"backend {name!r} is not installed ({exc}); install it with {hint}") from exc
    if name == "cupy":
        try:
            count = module.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken: CuPy raises its own error types
            raise BackendError(f"CuPy is installed but no GPU is usable: {exc}; use --backend numpy") from exc
        if count == 0:
            raise BackendError("CuPy is installed but no GPU is visible; use --backend numpy")
        return array_api_compat.array_namespace(module.zeros(0))
    return module


def dtype_of(xp, name: str):
    """The floating dtype called ``name`` (``float32`` or ``float64``; NumPy's ``np.float64`` or ``np.dtype("float64")``
    name it too) in ``xp``."""
    if not isinstance(name, str):
        try:
            name = np.dtype(name).name
        except TypeError:
            pass
    if name not in ("float32", "float64"):
        raise BackendError(f"unknown dtype {name!r}; choose float32 or float64")
    return getattr(xp, name)
