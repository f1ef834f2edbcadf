"""What you read is what runs and what gets checked: engines, planted bugs, one dtype per call, no aliasing.

The planted bugs are edits of the code itself: the line of ``scratchlstm/nn/lstm.py`` that
``docs/lstm.md`` cites for the output gate's gradient is rewritten in a copy of its function, which
replaces the original for the test, as a learner's edit of the file would.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.errors import ConfigError, DtypeError
from scratchlstm.nn import lstm as lstm_module
from scratchlstm.nn.kernels import numpy_lstm
from scratchlstm.nn.kernels.numpy_lstm import NumpyLSTMCache
from scratchlstm.nn.lstm import LSTMCache
from tests.helpers import ENGINES, edited_function, random_lstm_host

ROOT = Path(__file__).parents[2]
T, B, D, H = 5, 3, 2, 4


def _problem(seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, seed).items()}
    return params, rng.normal(size=(T, B, D)).astype(dtype)


def test_the_planted_line_is_the_one_the_docs_cite():
    row = next(line for line in (ROOT / "docs" / "lstm.md").read_text().splitlines() if "`do = dh * tc`" in line)
    file, number = re.search(r"`(scratchlstm/[\w/]+\.py):(\d+)`", row).groups()
    assert file == "scratchlstm/nn/lstm.py"
    assert "do = dh * tc" in (ROOT / file).read_text().splitlines()[int(number) - 1]


def test_a_bug_planted_in_the_reference_fails_the_default_gradcheck(monkeypatch):
    params, x = _problem()
    assert sl.lstm_gradcheck(params, x).passed
    monkeypatch.setattr(lstm_module, "_gates_backward", edited_function(lstm_module, "_gates_backward", "do = dh * tc", "do = dh * tc * 1.01"))
    report = sl.lstm_gradcheck(params, x)  # NumPy float64, no engine named: the reference runs and is checked
    assert not report.passed
    failed = {c.name: c for c in report.failed()}
    assert set(failed) == {"W_x", "W_h", "b", "x", "h0", "c0"}
    for name in ("W_x", "W_h", "b"):  # the output gate's block is where the bug is
        blocks = failed[name].blocks
        assert max(blocks, key=blocks.get) == "o", blocks
    assert "scratchlstm/nn/lstm.py" in str(report) and "<-- FAIL" in str(report)
    assert sl.lstm_gradcheck(params, x, engine="fast").passed  # the kernel has no such bug


def test_a_bug_planted_in_the_kernel_fails_the_fast_gradcheck(monkeypatch):
    params, x = _problem()
    original = numpy_lstm._local_gate_gradients

    def buggy(A, C_prev, TC, h, P, dc_gain, H):
        original(A, C_prev, TC, h, P, dc_gain, H)
        P[:, H : 2 * H] *= 1.01  # the forget gate's local factor, 1% off

    monkeypatch.setattr(numpy_lstm, "_local_gate_gradients", buggy)
    report = sl.lstm_gradcheck(params, x, engine="fast")
    assert not report.passed and "numpy_lstm" in str(report)
    blocks = {c.name: c.blocks for c in report.failed()}["W_x"]
    assert max(blocks, key=blocks.get) == "f"
    assert sl.lstm_gradcheck(params, x).passed  # the reference is untouched


def test_the_command_line_checks_the_engine_it_names(monkeypatch, capsys):
    from scratchlstm.cli import main

    assert main(["gradcheck"]) == 0
    monkeypatch.setattr(lstm_module, "_gates_backward", edited_function(lstm_module, "_gates_backward", "do = dh * tc", "do = dh * tc * 1.01"))
    assert main(["gradcheck"]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert main(["gradcheck", "--engine", "fast"]) == 0  # the kernel is not the edited code
    out = capsys.readouterr().out
    assert "engine fast" in out and "speed kernel" in out


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_gradcheck_command_for_cells_without_a_kernel_says_so(cell, capsys):
    from scratchlstm.cli import main

    assert main(["gradcheck", "--cell", cell, "--engine", "fast"]) == 0
    assert f"the {cell} has no speed kernel" in capsys.readouterr().out


def test_engine_selects_the_cache_and_unknown_engines_are_refused():
    params, x = _problem()
    assert isinstance(sl.lstm_forward(params, x)[2], LSTMCache)
    assert isinstance(sl.lstm_forward(params, x, engine="reference")[2], LSTMCache)
    assert isinstance(sl.lstm_forward(params, x, engine="fast")[2], NumpyLSTMCache)
    with pytest.raises(ConfigError, match="unknown engine 'turbo'; choose one of reference, fast"):
        sl.lstm_forward(params, x, engine="turbo")
    lstm = sl.LSTM(D, H, num_layers=2, dtype="float64")
    lstm(x)
    assert all(isinstance(c, LSTMCache) for c in lstm._cache.layers)  # the PyTorch-style class reads as the reference


def test_fast_engine_on_array_api_strict_runs_the_reference():
    xp = pytest.importorskip("array_api_strict")
    params, x = _problem()
    strict = {k: xp.asarray(v) for k, v in params.items()}
    _, _, cache = sl.lstm_forward(strict, xp.asarray(x), engine="fast")
    assert isinstance(cache, LSTMCache)


# ----------------------------------------------------------------------------------------------
# one dtype per call


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("make, message", [
    (lambda p, x: (p, x.astype(np.int64), {}), r"x is int64; every array of a call must be float32 or float64: cast it first"),
    (lambda p, x: (p, x.astype(np.float16), {}), r"x is float16; every array of a call must be float32 or float64"),
    (lambda p, x: (p, x.astype(np.complex128), {}), r"x is complex128"),
    (lambda p, x: (p, x.astype(np.float32), {}), r"W_x is float64 but x is float32.*W_x.astype\('float32'\)"),
    (lambda p, x: ({k: v.astype(np.float32) for k, v in p.items()}, x.astype(np.float32), {"h0": np.zeros((B, H))}),
     r"h0 is float64 but x is float32"),
])
def test_mixed_or_unsupported_dtypes_are_refused_with_the_cast_to_make(engine, make, message):
    params, x = _problem()
    p, xx, states = make(params, x)
    with pytest.raises(DtypeError, match=message):
        sl.lstm_forward(p, xx, engine=engine, **states)


@pytest.mark.parametrize("engine", ENGINES)
def test_upstream_gradients_must_share_the_forwards_dtype(engine):
    params, x = _problem(dtype="float32")
    hs, _, cache = sl.lstm_forward(params, x, engine=engine)
    with pytest.raises(DtypeError, match="dhs is float64 but the forward is float32"):
        sl.lstm_backward(cache, np.ones(hs.shape))
    with pytest.raises(DtypeError, match="dc_T is float64"):
        sl.lstm_backward(cache, None, None, np.ones((B, H)))


@pytest.mark.parametrize("forward, kind", [(sl.rnn_forward, "rnn"), (sl.gru_forward, "gru")])
def test_the_other_cells_refuse_mixed_dtypes_too(forward, kind):
    init = {"rnn": sl.init_rnn_params, "gru": sl.init_gru_params}[kind]
    params = init(D, H, dtype="float32")
    with pytest.raises(DtypeError, match="x is float64"):
        forward(params, np.zeros((T, B, D)))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_outputs_come_back_in_the_inputs_dtype(engine, dtype):
    params, x = _problem(dtype=dtype)
    hs, (h, c), cache = sl.lstm_forward(params, x, np.zeros((B, H), dtype), np.zeros((B, H), dtype), engine=engine)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, np.ones_like(hs), np.ones_like(h), np.ones_like(c))
    for a in (hs, h, c, dx, dh0, dc0, *grads.values()):
        assert a.dtype == np.dtype(dtype)


# ----------------------------------------------------------------------------------------------
# nothing returned shares memory with the cache


@pytest.mark.parametrize("engine", ENGINES)
def test_editing_returned_arrays_cannot_change_a_later_gradient(engine):
    params, x = _problem()
    dhs = np.random.default_rng(3).normal(size=(T, B, H))
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, engine=engine)
    expected = sl.lstm_backward(cache, dhs)
    hs *= 0.5
    h_T *= 0.5
    c_T *= 0.5
    for returned in (*expected[0].values(), expected[1]):
        returned *= 0.5
    again = sl.lstm_backward(cache, dhs)
    for name in params:
        assert np.array_equal(again[0][name], 2 * expected[0][name]), name
    assert np.array_equal(again[1], 2 * expected[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_returned_arrays_share_no_memory_with_the_cache(engine):
    params, x = _problem()
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, engine=engine)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, np.ones_like(hs))
    cached = [v for v in vars(cache).values() if isinstance(v, np.ndarray)]
    for out in (hs, h_T, c_T, dx, dh0, dc0, *grads.values()):
        assert not any(np.shares_memory(out, c) for c in cached)
    assert not np.shares_memory(cache.gate_values(), cached[0])


# ----------------------------------------------------------------------------------------------
# accurate gates in float32


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_gates_are_within_1e5_relative_of_the_float64_sigmoid_over_minus_80_to_80(engine):
    # W_x = 1, W_h = 0, b = 0: every pre-activation is exactly the float32 input value
    z = np.linspace(-80, 80, 16001).astype(np.float32)
    params = {"W_x": np.ones((1, 4), np.float32), "W_h": np.zeros((1, 4), np.float32), "b": np.zeros(4, np.float32)}
    _, _, cache = sl.lstm_forward(params, z[None, :, None], engine=engine)
    gates = cache.gate_values().astype(np.float64)[0]  # (B, 4): i, f, g, o
    z64 = z.astype(np.float64)
    sigmoid = 1 / (1 + np.exp(-z64))
    for k, exact in ((0, sigmoid), (1, sigmoid), (2, np.tanh(z64)), (3, sigmoid)):
        error = np.abs(gates[:, k] - exact)
        rel = np.divide(error, np.abs(exact), out=error.copy(), where=exact != 0)  # tanh(0) = 0: absolute there
        assert np.max(rel) < 1e-5, ("ifgo"[k], float(np.max(rel)), float(z[np.argmax(rel)]))


def test_the_package_exposes_interop_without_an_explicit_import():
    import subprocess
    import sys

    code = "import scratchlstm; print(scratchlstm.interop.lstm_from_torch.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "lstm_from_torch"


@pytest.mark.parametrize("flag, value", [("--eps", "0"), ("--eps", "-1"), ("--threshold", "-1"), ("--threshold", "nan")])
def test_gradcheck_command_refuses_a_step_or_threshold_that_is_not_positive(flag, value, capsys):
    from scratchlstm.cli import main

    with pytest.raises(SystemExit) as exc:  # argparse's usage error: exit 2, not a ZeroDivisionError (exit 3)
        main(["gradcheck", flag, value])
    assert exc.value.code == 2 and "must be a positive finite number" in capsys.readouterr().err


def test_debug_is_accepted_after_the_command_too(capsys):
    from scratchlstm.cli import build_parser

    assert build_parser().parse_args(["gradcheck", "--debug"]).debug
    assert build_parser().parse_args(["--debug", "gradcheck"]).debug
    assert not build_parser().parse_args(["gradcheck"]).debug
