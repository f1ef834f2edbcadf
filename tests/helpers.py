"""Shared test helpers: backend cases (namespace x device x dtype), comparisons, and reference data.

Every array test runs on each backend case.

CI has NumPy and array-api-strict (default device, ``device1``, and ``no_float64`` in float32); CuPy
cases run where CuPy and a GPU are present and are skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import os
import signal
import subprocess
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from scratchlstm.backend import BackendError, from_host, get_namespace, namespace, to_numpy
from scratchlstm.nn.shapes import ENGINES as ALL_ENGINES

HAS_NUMBA = all(importlib.util.find_spec(name) is not None for name in ("numba", "scipy"))  # what engine "compiled" needs
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="engine 'compiled' needs Numba and SciPy (pip install 'scratchlstm[compiled]')")
# every engine, each a pytest parameter; "compiled" skips where Numba is not installed
ENGINES = [pytest.param(e, marks=needs_numba) if e == "compiled" else e for e in ALL_ENGINES]


@dataclass(frozen=True)
class Case:
    name: str
    backend: str
    device_name: str | None
    dtype: str

    def __str__(self) -> str:
        return self.name

    @property
    def xp(self):
        try:
            return get_namespace(self.backend)
        except BackendError as exc:
            pytest.skip(str(exc))

    @property
    def device(self) -> Any:
        if self.device_name is None:
            return None
        import array_api_strict

        return array_api_strict.Device(self.device_name)

    def array(self, a) -> Any:
        """Host data as an array of this case."""
        xp = self.xp
        return from_host(a, xp, dtype=getattr(xp, self.dtype), device=self.device)

    def params(self, host_params: dict) -> dict:
        return {k: self.array(v) for k, v in host_params.items()}

    @property
    def rtol(self) -> float:
        """Tolerance for agreement with a float64 reference."""
        return 1e-10 if self.dtype == "float64" else 1e-5


ALL_CASES = [
    Case("numpy-f64", "numpy", None, "float64"),
    Case("numpy-f32", "numpy", None, "float32"),
    Case("strict-f64", "array_api_strict", None, "float64"),
    Case("strict-device1-f64", "array_api_strict", "device1", "float64"),
    Case("strict-nof64-f32", "array_api_strict", "no_float64", "float32"),
    Case("cupy-f64", "cupy", None, "float64"),
    Case("cupy-f32", "cupy", None, "float32"),
]
F64_CASES = [c for c in ALL_CASES if c.dtype == "float64"]


def entries_to_check(case: Case) -> int | None:
    """``max_entries`` for a finite-difference check in ``case``: every entry (None), except on array-api-strict's
    second device, whose arithmetic is the default device's (checked in full there) and where what the check adds
    is that every array stays on the device: 6 random entries per array (in full it took 35 s a cell)."""
    return 6 if case.device_name == "device1" else None


def max_rel_diff(actual, expected) -> float:
    """max |actual - expected| / max |expected|: the error relative to the array's own scale."""
    a = np.asarray(to_numpy(actual), dtype=np.float64)
    e = np.asarray(to_numpy(expected), dtype=np.float64)
    assert a.shape == e.shape, f"shapes differ: {a.shape} vs {e.shape}"
    scale = np.max(np.abs(e), initial=0.0)
    return float(np.max(np.abs(a - e), initial=0.0) / (scale if scale > 0 else 1.0))


def assert_same_kind(out, case: Case) -> None:
    """``out`` is in the namespace, device and dtype of ``case``."""
    xp = case.xp
    assert namespace(out) is namespace(case.array(np.zeros(1)))
    assert out.dtype == getattr(xp, case.dtype)
    if case.device is not None:
        assert out.device == case.device


def random_lstm_host(D: int, H: int, seed: int, bias_scale: float = 0.5) -> dict:
    """Host float64 LSTM params with non-zero biases, drawn independently of the package."""
    rng = np.random.default_rng(seed)
    return {
        "W_x": rng.normal(0, 0.5, size=(D, 4 * H)),
        "W_h": rng.normal(0, 0.5, size=(H, 4 * H)),
        "b": rng.normal(0, bias_scale, size=(4 * H,)),
    }


# ----------------------------------------------------------------------------------------------
# price series for the forecasting tests


def series_from(prices, name="synthetic"):
    """A daily ``PriceSeries`` holding ``prices``, starting 2010-01-01."""
    import pandas as pd

    from scratchlstm.data import PriceSeries

    frame = pd.DataFrame({"close": prices}, index=pd.date_range("2010-01-01", periods=len(prices), freq="D", name="date"))
    return PriceSeries(frame=frame, price_column="close", source=name, format="synthetic")


def random_walk(n=700, seed=0):
    """A geometric random walk with 1% daily volatility: nothing to forecast beyond naive."""
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))


def patterned(n=700, seed=0):
    """Log-returns with a 7-step cycle plus small noise: clearly predictable."""
    rng = np.random.default_rng(seed)
    r = 0.02 * np.sin(2 * np.pi * np.arange(n) / 7) + 0.002 * rng.standard_normal(n)
    return 100 * np.exp(np.cumsum(r))


def dated_rows(prices, start="2020-01-01", freq="D"):
    """CSV text ``Date,Close`` with one row per price, ``freq`` apart (calendar days by default)."""
    import pandas as pd

    dates = pd.date_range(start, periods=len(prices), freq=freq).strftime("%Y-%m-%d")
    return "Date,Close\n" + "".join(f"{d},{float(p)!r}\n" for d, p in zip(dates, prices))


class RecordedResponse:
    """A recorded HTTP response body, for code that fetches through ``urllib.request.urlopen``."""

    def __init__(self, body: bytes):
        self.body = body
        self.stream = io.BytesIO(body)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)


def edited_function(module, function_name: str, old: str, new: str):
    """``module.function_name`` recompiled from its source with ``old`` replaced by ``new``: a bug planted in one line."""
    function = getattr(module, function_name)
    source = textwrap.dedent(inspect.getsource(getattr(function, "py_func", function)))  # py_func: a Numba function's Python
    assert source.count(old) == 1, f"{old!r} is not exactly once in {function_name}"
    namespace = dict(vars(module))
    if "COMPILE" in namespace:  # the compiled kernel's Numba settings: never the on-disk cache of the unedited function
        namespace["COMPILE"] = {**namespace["COMPILE"], "cache": False}
    exec(compile(source.replace(old, new), module.__file__, "exec"), namespace)
    return namespace[function_name]


def keras_on_jax():
    """``(keras, jax)`` with Keras on JAX in 64-bit mode (the parity tests compare float64 layers), or a skip of the
    calling test module: Keras not installed, or already loaded with another backend."""
    os.environ.setdefault("KERAS_BACKEND", "jax")  # must precede the first import of keras
    keras = pytest.importorskip("keras")
    jax = pytest.importorskip("jax")
    if keras.backend.backend() != "jax":
        pytest.skip(f"these tests run Keras on JAX; Keras was already loaded with {keras.backend.backend()!r}",
                    allow_module_level=True)
    jax.config.update("jax_enable_x64", True)
    return keras, jax


def finish(process: subprocess.Popen, timeout: float) -> tuple:
    """``process.communicate(timeout=timeout)``; past the timeout, the process (its whole group where it leads one)
    is killed and the test fails with what it printed, instead of leaving it running into later tests."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        except ProcessLookupError:
            pass
        out, err = process.communicate()
        pytest.fail(f"still running after {timeout} s; stdout ends {str(out)[-500:]!r}, stderr ends {str(err)[-500:]!r}")
