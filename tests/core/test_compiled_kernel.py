"""The compiled kernel (``engine="compiled"``, Numba): its float32 exp and tanh against float64's, its forward
against the reference, and its backward against the NumPy kernel's, bit for bit, from the same cache.

Torch parity, dtypes, caller edits and training run it through the engine-parametrised tests
(``tests/helpers.ENGINES``); the finite-difference check of every path is ``test_gradcheck_passes_on_every_path``.
"""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.errors import ConfigError
from scratchlstm.nn.lstm import LSTMCache
from tests.helpers import HAS_NUMBA, random_lstm_host

pytestmark = pytest.mark.skipif(not HAS_NUMBA, reason="engine 'compiled' needs Numba and SciPy (pip install 'scratchlstm[compiled]')")

if HAS_NUMBA:
    import numba

    from scratchlstm.nn.kernels import compiled_lstm, numpy_lstm

    @numba.njit
    def _each(fn_id, xs):
        out = np.empty_like(xs)
        for k in range(xs.size):
            out[k] = compiled_lstm.exp32(xs[k]) if fn_id == 0 else compiled_lstm.tanh32(xs[k])
        return out


def _float32_range(lo, hi, every=257):
    """Every ``every``-th float32 number between lo and hi, by bit pattern (both signs), and the ends."""
    def side(a, b):  # 0 <= a < b
        bits = np.arange(np.float32(a).view(np.int32), np.float32(b).view(np.int32), every, dtype=np.int32)
        return bits.view(np.float32)
    parts = [side(0, hi), np.float32([lo, hi])]
    if lo < 0:
        parts.append(-side(0, -lo))
    return np.concatenate(parts)


def _ulps(got, want):
    """The distance in float32 units in the last place (both finite, same sign or zero)."""
    return np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))


@pytest.mark.parametrize("fn_id, reference, lo, hi", [(0, np.exp, -86.9, 88.72), (1, np.tanh, -20.0, 20.0)],
                         ids=["exp", "tanh"])
def test_float32_exp_and_tanh_are_within_one_ulp_of_the_correctly_rounded_value(fn_id, reference, lo, hi):
    x = _float32_range(lo, hi)  # about 8 million numbers for exp's range, every 257th float32
    want = reference(x.astype(np.float64)).astype(np.float32)  # float64's value, rounded once to float32
    got = _each(fn_id, x)
    assert got.dtype == np.float32
    assert _ulps(got, want).max() <= 1


def test_float32_exp_and_tanh_at_the_edges():
    exp = _each(0, np.float32([np.nan, np.inf, 88.8, 1000.0, -87.5, -1e30, -np.inf, 0.0]))
    assert np.isnan(exp[0])
    assert list(exp[1:4]) == [np.inf] * 3  # float32's exp overflows above ln(3.4e38) = 88.72
    assert (exp[4:7] < 2e-38).all() and (exp[4:7] > 0).all()  # below the documented floor: a number under 2e-38
    assert exp[7] == 1.0
    tiny = np.float32([1e-30, -1e-30, 1e-40, -0.0, 0.0])  # tanh(x) = x below float32's resolution of x^3 / 3
    assert np.array_equal(_each(1, tiny), tiny) and np.signbit(_each(1, tiny)[3])
    t = _each(1, np.float32([np.nan, np.inf, -np.inf, 50.0, -50.0]))
    assert np.isnan(t[0]) and list(t[1:]) == [1.0, -1.0, 1.0, -1.0]


def _problem(dtype, B, T=6, D=2, H=5, seed=0, states=True):
    rng = np.random.default_rng(seed)
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, seed).items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    h0, c0 = ((rng.normal(size=(B, H)).astype(dtype) for _ in range(2)) if states else (None, None))
    return params, x, h0, c0


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-13), ("float32", 2e-6)])
@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("states", [True, False])
def test_forward_matches_the_reference(dtype, rtol, B, states):
    params, x, h0, c0 = _problem(dtype, B, states=states)
    want_hs, (want_h, want_c), _ = sl.lstm_forward(params, x, h0, c0)
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0, engine="compiled")
    assert isinstance(cache, compiled_lstm.CompiledLSTMCache)
    for got, want in ((hs, want_hs), (h_T, want_h), (c_T, want_c)):
        assert got.dtype == np.dtype(dtype) and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("T", [1, 2, 5])  # c_T comes from one of two buffers that swap every step: odd and even T
def test_forward_without_a_cache_gives_the_same_numbers_bit_for_bit(dtype, T):
    params, x, h0, c0 = _problem(dtype, 3, T=T)
    hs, (h_T, c_T), _ = sl.lstm_forward(params, x, h0, c0, engine="compiled")
    hs2, (h_T2, c_T2), cache = sl.lstm_forward(params, x, h0, c0, engine="compiled", need_cache=False)
    assert cache is None
    assert all(np.array_equal(a, b) for a, b in ((hs, hs2), (h_T, h_T2), (c_T, c_T2)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B", [1, 4])
@pytest.mark.parametrize("given", ["all", "dhs only", "final states only", "last h only"])
def test_backward_equals_the_numpy_kernels_bit_for_bit_from_the_same_cache(dtype, B, given):
    """The compiled step runs the NumPy kernel's operations in its order, so its gradients are the same numbers."""
    params, x, h0, c0 = _problem(dtype, B)
    _, _, cache = sl.lstm_forward(params, x, h0, c0, engine="fast")
    rng = np.random.default_rng(1)
    T, H = x.shape[0], params["W_h"].shape[0]
    dhs, dh_T, dc_T = rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    args = {"all": (dhs, dh_T, dc_T), "dhs only": (dhs, None, None), "final states only": (None, dh_T, dc_T),
            "last h only": (None, dh_T, None)}[given]
    args = tuple(None if a is None else a.astype(dtype) for a in args)
    want_grads, *want_rest = numpy_lstm.backward(cache, *args)
    grads, *rest = compiled_lstm.backward(cache, *args)
    assert all(np.array_equal(grads[k], want_grads[k]) for k in want_grads)
    assert all(np.array_equal(a, b) for a, b in zip(rest, want_rest))


@pytest.mark.parametrize("B, slices", [(2, [(0, 2)]), (70, [(0, 35), (35, 70)])])
def test_lstm_backward_follows_the_compiled_cache_to_its_kernel(monkeypatch, B, slices):
    params, x, h0, c0 = _problem("float64", B)
    _, _, cache = sl.lstm_forward(params, x, h0, c0, engine="compiled")
    calls, loop = [], compiled_lstm._backward_columns  # (a call this small runs its slices one after another)
    monkeypatch.setattr(compiled_lstm, "_backward_columns", lambda *a: calls.append(a[-2:]) or loop(*a))
    sl.lstm_backward(cache, None, np.ones_like(h0), None)
    assert calls == slices  # each slice of the batch once, through every step


def test_gradcheck_passes_on_every_path_and_names_the_compiled_file(capsys):
    from scratchlstm.cli import main
    assert main(["gradcheck", "--engine", "compiled"]) == 0
    out = capsys.readouterr().out
    assert "over 15 paths" in out and "compiled_lstm.py" in out
    assert "path 5/15: B=64, every step's output and the final state: PASS" in out  # its batch cut into two slices


def test_compiled_on_another_array_library_runs_the_reference():
    xp = pytest.importorskip("array_api_strict")
    params, x, _, _ = _problem("float64", 2)
    strict = {k: xp.asarray(v) for k, v in params.items()}
    _, _, cache = sl.lstm_forward(strict, xp.asarray(x), engine="compiled")
    assert isinstance(cache, LSTMCache)


@pytest.mark.parametrize("missing", ["numba", "scipy.linalg.cython_blas"])
def test_without_numba_the_engine_is_refused_naming_the_install(monkeypatch, missing):
    import sys
    monkeypatch.setitem(sys.modules, missing, None)  # importing it now raises ImportError
    for module in ("scratchlstm.nn.kernels.compiled_lstm", "scratchlstm.nn.kernels.compiled_blas"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    params, x, _, _ = _problem("float64", 2)
    with pytest.raises(ConfigError, match=r"engine 'compiled' needs Numba and SciPy .*pip install 'scratchlstm\[compiled\]'"):
        sl.lstm_forward(params, x, engine="compiled")


def test_without_numba_the_trainer_and_the_command_line_refuse_it_before_any_work(monkeypatch, tmp_path, capsys):
    import sys

    from scratchlstm.cli import main
    from scratchlstm.train import TrainConfig
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.delitem(sys.modules, "scratchlstm.nn.kernels.compiled_lstm")
    with pytest.raises(ConfigError, match="engine 'compiled' needs Numba"):
        TrainConfig(engine="compiled")
    assert main(["forecast", "--engine", "compiled", "--quiet", "--out", str(tmp_path / "run")]) == 2
    assert "needs Numba" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
