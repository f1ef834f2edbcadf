"""The forward without a cache (``need_cache=False``, for validation and prediction) gives the
cached forward's outputs to the last bit, on every engine, cell, stack and the model."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.nn import Model, ModelConfig, model_forward, stack_forward
from scratchlstm.nn.cells import CELLS
from scratchlstm.nn.gru import gru_forward
from scratchlstm.nn.kernels import cupy_lstm

from tests.helpers import random_lstm_host

SHAPES = [(1, 1, 1, 1), (7, 1, 1, 5), (6, 4, 3, 8), (30, 64, 1, 32)]  # T, B, D, H


def _inputs(T, B, D, H, dtype, with_states, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, seed=seed + H).items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    h0 = rng.normal(size=(B, H)).astype(dtype) if with_states else None
    c0 = rng.normal(size=(B, H)).astype(dtype) if with_states else None
    return params, x, h0, c0


def _assert_identical(ours, ref):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("T, B, D, H", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("with_states", [False, True])
def test_lstm_forward_without_cache_is_bit_identical(engine, T, B, D, H, dtype, with_states):
    params, x, h0, c0 = _inputs(T, B, D, H, dtype, with_states, seed=T + B)
    kept = [None if a is None else a.copy() for a in (x, h0, c0)]
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0, engine=engine, need_cache=False)
    assert cache is None
    ref_hs, (ref_h, ref_c), _ = sl.lstm_forward(params, x, h0, c0, engine=engine)
    for ours, ref in ((hs, ref_hs), (h_T, ref_h), (c_T, ref_c)):
        _assert_identical(ours, ref)
    for before, after in zip(kept, (x, h0, c0)):  # the inputs are left as they were
        assert before is None or np.array_equal(before, after)
    for out in (hs, h_T, c_T):  # and nothing returned shares their memory
        assert not any(a is not None and np.shares_memory(out, a) for a in (x, h0, c0))


@pytest.mark.parametrize("T, B, D, H", SHAPES[:3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_kernel_without_cache_is_bit_identical(T, B, D, H, dtype):
    """The CuPy kernel's loop, run by NumPy on the kernel's text (a GPU runs the same text compiled)."""
    params, x, h0, c0 = _inputs(T, B, D, H, dtype, True, seed=3)
    hs, (h_T, c_T) = cupy_lstm.forward_without_cache(params, x, h0, c0)
    ref_hs, (ref_h, ref_c), _ = cupy_lstm.forward(params, x, h0, c0)
    for ours, ref in ((hs, ref_hs), (h_T, ref_h), (c_T, ref_c)):
        _assert_identical(ours, ref)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("B", [1, 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stack_without_cache_is_bit_identical(cell, engine, B, dtype):
    c = CELLS[cell]
    sizes = [(2, 6), (6, 4), (4, 3)]  # three layers of different widths
    layers = [c.init(D, H, seed=l, scheme="pytorch", dtype=dtype) for l, (D, H) in enumerate(sizes)]
    x = np.random.default_rng(B).normal(size=(9, B, 2)).astype(dtype)
    out, states_T, cache = stack_forward(cell, layers, x, engine=engine, need_cache=False)
    assert cache is None
    ref_out, ref_states, _ = stack_forward(cell, layers, x, engine=engine)
    _assert_identical(out, ref_out)
    for state, ref_state in zip(states_T, ref_states):
        for ours, ref in zip(state, ref_state):
            _assert_identical(ours, ref)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_without_cache_both_variants(reset_after):
    params = CELLS["gru"].init(3, 4, seed=0, scheme="pytorch", dtype="float64")
    x = np.random.default_rng(0).normal(size=(6, 2, 3))
    hs, (h_T,), cache = gru_forward(params, x, reset_after=reset_after, need_cache=False)
    assert cache is None
    ref_hs, (ref_h,), _ = gru_forward(params, x, reset_after=reset_after)
    _assert_identical(hs, ref_hs)
    _assert_identical(h_T, ref_h)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("head", ["last", "all"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_predict_equals_the_cached_forward(cell, head, dtype):
    """``predict`` (no cache, dropout off) gives what the training forward gives without masks."""
    config = ModelConfig(cell=cell, input_size=2, hidden_sizes=(8, 5), dropout=0.3, head=head)
    model = Model.create(config, seed=1, dtype=dtype)
    x = np.random.default_rng(2).normal(size=(11, 7, 2)).astype(dtype)
    y = model.predict(x, batch_size=4, engine="fast")  # in three batches, B = 4, 4 and 3
    ref = np.concatenate([model_forward(model, x[k : k + 4], engine="fast")[0] for k in range(0, 11, 4)], axis=0)
    _assert_identical(y, ref)
    y1, _, cache = model_forward(model, x[:1], engine="fast", need_cache=False)
    assert cache is None
    _assert_identical(y1, model_forward(model, x[:1], engine="fast")[0])
