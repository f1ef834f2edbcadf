"""The NumPy kernel holds NumPy's ufunc buffer to one (H, B) block while it runs: the same numbers to the bit,
the buffer seen inside the call, and the caller's setting given back, after an error too."""

import numpy as np
import pytest

from scratchlstm.nn.kernels import numpy_lstm

from tests.helpers import random_lstm_host


def _call(B, H, T=7, D=3, seed=0):
    params = {k: v.astype(np.float32) for k, v in random_lstm_host(D, H, seed).items()}
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((T, B, D)).astype(np.float32)
    dhs = rng.standard_normal((T, B, H)).astype(np.float32)
    hs, (h_T, c_T), cache = numpy_lstm.forward(params, x)
    return (hs, h_T, c_T, *numpy_lstm.backward(cache, dhs)[1:], *numpy_lstm.backward(cache, dhs)[0].values())


@pytest.mark.parametrize("B, H", [(64, 32), (40, 50), (1, 50), (16, 64)])
def test_the_numbers_do_not_depend_on_the_buffer(monkeypatch, B, H):
    held = _call(B, H)
    monkeypatch.setattr(numpy_lstm, "BUFFERED_BELOW", 10**9)  # the library's own buffer throughout
    default = _call(B, H)
    for a, b in zip(held, default):
        np.testing.assert_array_equal(a, b)


def test_the_buffer_is_one_block_inside_and_the_callers_afterwards(monkeypatch):
    seen = []
    local = numpy_lstm._local_gate_gradients

    def spy(*args):
        seen.append(np.getbufsize())
        return local(*args)

    monkeypatch.setattr(numpy_lstm, "_local_gate_gradients", spy)
    before = np.getbufsize()
    _call(B=64, H=32)
    assert seen == [64 * 32, 64 * 32]  # the two backward calls of _call
    _call(B=8, H=16)  # a block of 128 numbers: below BUFFERED_BELOW, NumPy's own buffer
    assert seen[-1] == before
    _call(B=40, H=50)  # 2000 numbers: the largest multiple of 16 below
    assert seen[-1] == 2000 // 16 * 16
    assert np.getbufsize() == before


def test_the_callers_buffer_comes_back_after_an_error(monkeypatch):
    def fail(*args):
        raise RuntimeError("planted")

    monkeypatch.setattr(numpy_lstm, "_local_gate_gradients", fail)
    before = np.getbufsize()
    with pytest.raises(RuntimeError, match="planted"):
        _call(B=64, H=32)
    assert np.getbufsize() == before
