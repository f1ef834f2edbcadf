"""What every cell and kernel checks before it computes: parameter type, shapes, and one dtype per call.

``Params`` is the one parameter type of the package: a plain dict of named arrays per layer
(``W_x``, ``W_h``, ``b`` for the LSTM and the RNN; ``W_x``, ``W_h``, ``b_x``, ``b_h`` for the GRU).

**One dtype per call**, as torch does: every floating array a call receives (the input, the
parameters, the initial states, the upstream gradients) must share one dtype, float32 or float64.
Integer, complex and float16 arrays, and any mismatch, are refused with a message that names the
dtypes and the cast to make, instead of being promoted silently (a float64 ``h0`` would otherwise
turn a float32 run into float64, on one engine and not the other). Outputs come back in that dtype.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..backend import Array, device_of, is_array, is_masked, library_of, masked_array_refusal, namespace
from ..errors import ConfigError, DtypeError

Params = dict[str, Array]

FLOAT_DTYPES = ("float32", "float64")
ENGINES = ("reference", "fast", "compiled")  # the code the docs derive; a speed kernel where there is one; the
# NumPy kernel compiled (Numba), the batch in slices side by side


def check_engine(engine: str) -> str:
    """``engine`` when it is one of ``ENGINES``, else a ``ConfigError`` naming the choices."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return engine


# (type, dtype) -> name: str(dtype) takes about 8 us and a training step checks dtypes four times. The type
# is part of the key so that dtypes of different libraries are never compared (array-api-strict warns).
_DTYPE_NAMES: dict = {}


def dtype_name(dtype) -> str:
    """``"float32"`` for NumPy's, CuPy's or array-api-strict's float32 (their ``str`` differ)."""
    key = (type(dtype), dtype)
    name = _DTYPE_NAMES.get(key)
    if name is None:
        name = _DTYPE_NAMES[key] = str(dtype).rsplit(".", 1)[-1]
    return name


def check_one_dtype(arrays: Mapping[str, Array | None]) -> str:
    """The one floating dtype shared by ``arrays`` (None entries are skipped), by name.

    Raises ``DtypeError`` for an integer, complex or float16 array, or for two arrays of different
    dtypes, naming them and the cast to make.
    """
    named = [(name, a) for name, a in arrays.items() if a is not None]
    if len({type(a) for _, a in named}) > 1 or is_masked(named[0][1]):  # (one type and no mask: the common case, quickly)
        for name, a in named:
            if is_masked(a):
                raise masked_array_refusal(name)
        _check_one_library(named)
    first_name, first = named[0]
    want = dtype_name(first.dtype)
    if want in FLOAT_DTYPES and all(a.dtype == first.dtype for _, a in named):
        return want  # the common case, in one pass (naming every dtype costs microseconds per array)
    for name, a in named:
        if dtype_name(a.dtype) not in FLOAT_DTYPES:
            raise DtypeError(f"{name} is {dtype_name(a.dtype)}; every array of a call must be float32 or float64: "
                             f"cast it first (for NumPy: {name}.astype('float32') or .astype('float64'))")
    for name, a in named[1:]:
        if dtype_name(a.dtype) != want:
            raise DtypeError(f"{name} is {dtype_name(a.dtype)} but {first_name} is {want}; every array of a call must share "
                             f"one dtype: cast {name} (for NumPy: {name}.astype('{want}')) or {first_name} to match")
    return want


def _check_one_library(named: list[tuple[str, Array]]) -> None:
    """Refuse arrays of two libraries in one call (a torch tensor among NumPy arrays), naming which is which: the
    array-API lookup's own message listed two namespaces and no array."""
    for name, a in named:
        if not is_array(a):  # an extra entry of a params dict (a note, a count): it was told to "convert one side"
            raise TypeError(f"{name} is a {type(a).__name__}, not an array: a call takes arrays only (a params dict holds "
                            "the cell's weights and nothing else); remove it or keep it elsewhere")
    libraries: dict[str, list[str]] = {}
    for name, a in named:
        libraries.setdefault(library_of(a), []).append(name)
    if len(libraries) > 1:
        parts = [f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} {library}" for library, names in libraries.items()]
        raise TypeError(f"every array of a call must come from one library, but {'; '.join(parts)}: convert one side "
                        "(a torch tensor t to NumPy: t.detach().numpy(); NumPy to CuPy: cupy.asarray(a))")


def check_sequence(x: Array, D: int) -> tuple[int, int]:
    """``(T, B)`` of an input sequence ``x (T, B, D)``, with a message that says what to change."""
    if not is_array(x):
        raise TypeError(f"x must be an array (T, B, D) of NumPy, CuPy or another array-API library, got a "
                        f"{type(x).__name__}; make one with np.asarray(x, dtype='float32')")
    if len(x.shape) != 3:
        raise ValueError(f"x must have shape (T, B, D), got {tuple(x.shape)}; "
                         "time comes first here (the LSTM class takes batch_first=True for (B, T, D))")
    T, B, D_x = x.shape
    if D_x != D:
        raise ValueError(f"x has {D_x} features per step but W_x expects D = {D}")
    if T == 0:
        raise ValueError("x has no time steps (T = 0)")
    return T, B


def check_state(name: str, state: Array | None, B: int, H: int) -> None:
    """Raise a ValueError naming the expected shape unless ``state`` is None or (B, H)."""
    check_shape(name, state, (B, H), "(B, H)")


def check_output_gradient(dhs: Array | None, T: int, B: int, H: int) -> None:
    """Raise a ValueError naming the expected shape unless ``dhs`` is None or (T, B, H)."""
    check_shape("dhs", dhs, (T, B, H), "(T, B, H)")


def check_shape(name: str, a: Array | None, shape: tuple[int, ...], axes: str) -> None:
    """Raise a ValueError naming the expected shape (``axes`` in letters, such as "(T, B, H)") unless ``a`` is None
    or has ``shape``: NumPy would broadcast many wrong shapes without a word. Something that is not an array (a
    list, a float) is a TypeError with the cast."""
    if a is None:
        return
    if not hasattr(a, "shape"):  # (not is_array: the one-step functions check their states at every step)
        raise TypeError(f"{name} must be an array {axes} = {tuple(shape)} or None, got a {type(a).__name__}; make one "
                        f"with np.asarray({name}, dtype=...) in the dtype of the call's other arrays")
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {axes} = {tuple(shape)}, got {tuple(a.shape)}")


def check_step(x_t: Array, sizes: tuple[int, int], params: Params, **states: Array) -> None:
    """One step's arrays, as ``check_call`` checks a sequence's: ``x_t`` (B, D), each state (B, H), one dtype for all
    (the one-step functions are public: a float64 x_t promoted a float32 step, and (1, H) states were broadcast)."""
    D, H = sizes
    if len(x_t.shape) != 2 or x_t.shape[1] != D:
        raise ValueError(f"x_t must have shape (B, D) with D = {D}, got {tuple(x_t.shape)}")
    for name, state in states.items():
        if state is None:  # (the sequence functions take None for zeros; one step needs the arrays it continues)
            what = "a gradient: give zeros" if name.startswith("d") else "a state: give zeros for the first step"
            raise TypeError(f"{name} is None: one step continues {what}, of shape (B, H) = ({x_t.shape[0]}, {H}), or use "
                            "the sequence function, which takes None for zeros")
        check_state(name, state, x_t.shape[0], H)
    check_one_dtype({"x_t": x_t, **params, **states})


def check_cache(cache: Any, kinds: tuple[type, ...], backward: str) -> None:
    """Raise unless ``cache`` is one that ``backward``'s own forward returns (one of ``kinds``)."""
    if cache is None:
        raise ValueError(f"{backward} got no cache: the forward ran with need_cache=False, which keeps none; run it with "
                         "need_cache=True (the default) before a backward")
    if not isinstance(cache, kinds):
        raise TypeError(f"{backward} needs the cache of its own cell's forward ({', '.join(k.__name__ for k in kinds)}), "
                        f"got a {type(cache).__name__}")


def check_call(x: Array, params: Params, D: int, H: int, **states: Array | None) -> tuple[int, int]:
    """``(T, B)`` of a forward call, after checking ``x (T, B, D)``, each state (B, H) and one dtype for all."""
    T, B = check_sequence(x, D)
    for name, state in states.items():
        check_state(name, state, B, H)
    check_one_dtype({"x": x, **params, **states})
    return T, B


def zeros_like_state(B: int, H: int, like: Array) -> Array:
    """A (B, H) array of zeros in the namespace, device and dtype of ``like``."""
    xp = namespace(like)
    return xp.zeros((B, H), dtype=like.dtype, device=device_of(like))


def fused_sizes(params: Params, names: tuple[str, ...], gates: int, cell: str) -> tuple[int, int]:
    """``(D, H)`` of a layer whose weights hold ``gates`` fused blocks: ``W_x (D, gates H)``,
    ``W_h (H, gates H)`` and each bias in ``names[2:]`` of shape ``(gates H,)``. It runs at every step of the
    reference: the shapes are read first, and only parameters that do not fit are examined for why."""
    try:
        D, GH = params["W_x"].shape
        H = params["W_h"].shape[0]
        fits = GH == gates * H and tuple(params["W_h"].shape) == (H, gates * H)
        fits = fits and all(tuple(params[n].shape) == (gates * H,) for n in names[2:])
    except (KeyError, TypeError, AttributeError, ValueError, IndexError):  # not a dict, a key or a shape missing, ...
        fits = False
    if not fits:
        _refuse_params(params, names, gates, cell)
    return D, H


def _refuse_params(params, names: tuple[str, ...], gates: int, cell: str):
    """Raise for parameters that do not make a layer of ``cell``, naming the first thing wrong."""
    if isinstance(params, (list, tuple)) and params and all(isinstance(p, Mapping) for p in params):  # lstm_from_torch's layers
        raise ConfigError(f"expected one layer's {cell} params (a dict), got a {type(params).__name__} of {len(params)}; pass "
                          "one of them (layers[0]), or run every layer with stack_forward"
                          + (" or the LSTM class (LSTM.from_layers)" if cell == "LSTM" else ""))
    if not isinstance(params, Mapping):
        raise TypeError(f"{cell} params must be a dict of arrays with the keys {names}, got a {type(params).__name__}")
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"{cell} params need keys {names}; missing {missing}")
    for n, ndim in zip(names, (2, 2) + (1,) * (len(names) - 2)):
        if not hasattr(params[n], "shape"):
            raise TypeError(f"{cell} params: {n} must be an array, got a {type(params[n]).__name__}; make one with np.asarray")
        if len(params[n].shape) != ndim:
            raise ValueError(f"{cell} params: {n} must have {ndim} axes, got shape {tuple(params[n].shape)}")
    g = "" if gates == 1 else str(gates)
    expected = ", ".join([f"W_x (D, {g}H)", f"W_h (H, {g}H)"] + [f"{n} ({g}H,)" for n in names[2:]])
    got = ", ".join(f"{n} {tuple(params[n].shape)}" for n in names)
    raise ValueError(f"{cell} params do not fit together: expected {expected}, got {got}")


def copy_out(a: Any) -> Any:
    """A copy of ``a`` that shares no memory with it: what a forward or backward hands its caller,
    so that editing a returned array can never change the cache or a later gradient."""
    if a is None:
        return None
    xp = namespace(a)
    return xp.asarray(a, copy=True)
