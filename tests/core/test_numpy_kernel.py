"""The NumPy speed kernel (engine="fast") against the reference, on awkward shapes too."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.nn.kernels.numpy_lstm import NumpyLSTMCache
from scratchlstm.nn.lstm import LSTMCache

from tests.helpers import max_rel_diff, random_lstm_host


@pytest.mark.parametrize("T, B, D, H", [(1, 1, 1, 1), (5, 1, 1, 7), (4, 3, 6, 2), (9, 2, 1, 5), (3, 8, 16, 4)])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-13), ("float32", 1e-5)])
@pytest.mark.parametrize("with_states", [False, True])
def test_fast_path_equals_reference(T, B, D, H, dtype, tol, with_states):
    rng = np.random.default_rng(T * 100 + B * 10 + D)
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, seed=T + H).items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    h0 = rng.normal(size=(B, H)).astype(dtype) if with_states else None
    c0 = rng.normal(size=(B, H)).astype(dtype) if with_states else None
    dhs = rng.normal(size=(T, B, H)).astype(dtype)
    dh_T = rng.normal(size=(B, H)).astype(dtype) if with_states else None
    dc_T = rng.normal(size=(B, H)).astype(dtype) if with_states else None

    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0, engine="fast")
    assert isinstance(cache, NumpyLSTMCache)
    ref_hs, (ref_h, ref_c), ref_cache = sl.lstm_forward(params, x, h0, c0)
    for ours, ref in ((hs, ref_hs), (h_T, ref_h), (c_T, ref_c)):
        assert ours.dtype == np.dtype(dtype) and ours.shape == ref.shape
        assert max_rel_diff(ours, ref) < tol
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
    ref_grads, ref_dx, ref_dh0, ref_dc0 = sl.lstm_backward(ref_cache, dhs, dh_T, dc_T)
    for name in params:
        assert grads[name].shape == params[name].shape and grads[name].dtype == np.dtype(dtype)
        assert max_rel_diff(grads[name], ref_grads[name]) < tol, name
    for ours, ref in ((dx, ref_dx), (dh0, ref_dh0), (dc0, ref_dc0)):
        assert max_rel_diff(ours, ref) < tol


def test_fast_path_without_output_gradient_and_the_default_is_the_reference():
    params = random_lstm_host(2, 3, 0)
    x = np.random.default_rng(0).normal(size=(4, 2, 2))
    _, _, cache = sl.lstm_forward(params, x, engine="fast")
    dh_T = np.ones((2, 3))
    grads, *_ = sl.lstm_backward(cache, None, dh_T)
    _, _, ref_cache = sl.lstm_forward(params, x)
    assert isinstance(ref_cache, LSTMCache)  # no engine given: the code the docs derive
    ref_grads, *_ = sl.lstm_backward(ref_cache, None, dh_T)
    assert all(max_rel_diff(grads[k], ref_grads[k]) < 1e-13 for k in grads)


def test_cache_is_not_shared_between_calls():
    params = random_lstm_host(1, 3, 0)
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(5, 2, 1)), rng.normal(size=(5, 2, 1))
    hs1, _, cache1 = sl.lstm_forward(params, x1, engine="fast")
    kept = hs1.copy()
    sl.lstm_forward(params, x2, engine="fast")  # must not overwrite the first call's outputs or cache
    assert np.array_equal(hs1, kept)
    g1, *_ = sl.lstm_backward(cache1, np.ones((5, 2, 3)))
    _, _, ref = sl.lstm_forward(params, x1)
    r1, *_ = sl.lstm_backward(ref, np.ones((5, 2, 3)))
    assert all(max_rel_diff(g1[k], r1[k]) < 1e-13 for k in g1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_saturated_gates_stay_finite_without_warnings(dtype):
    # warnings are errors in this suite: exp overflow inside the float64 sigmoid must stay silent
    params = {k: v.astype(dtype) for k, v in random_lstm_host(2, 3, 0).items()}
    x = np.array([1e4, -1e4], dtype=dtype)[None, None, :].repeat(4, axis=0).repeat(2, axis=1)
    x[:, 1, :] *= -1
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, engine="fast")
    ref_hs, _, ref_cache = sl.lstm_forward(params, x)
    assert np.all(np.isfinite(hs)) and max_rel_diff(hs, ref_hs) < 1e-6
    grads, dx, _, _ = sl.lstm_backward(cache, np.ones_like(hs))
    assert all(np.all(np.isfinite(g)) for g in grads.values()) and np.all(np.isfinite(dx))


def test_backward_outputs_survive_later_calls_and_threads():
    # backward reuses its work arrays between calls and keeps one set per thread: what it returned
    # must not change afterwards, and concurrent calls must not share them
    from concurrent.futures import ThreadPoolExecutor

    params = random_lstm_host(3, 16, 0)
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(8, 32, 3)) for _ in range(4)]  # large enough that NumPy lets go of the GIL
    dhs = [rng.normal(size=(8, 32, 16)) for _ in range(4)]

    def both(k):
        _, _, cache = sl.lstm_forward(params, xs[k], engine="fast")
        return sl.lstm_backward(cache, dhs[k])

    def reference(k):
        _, _, cache = sl.lstm_forward(params, xs[k])
        return sl.lstm_backward(cache, dhs[k])

    first = both(0)
    kept = (dict((k, v.copy()) for k, v in first[0].items()), first[1].copy())
    both(1)
    assert all(np.array_equal(first[0][k], kept[0][k]) for k in kept[0]) and np.array_equal(first[1], kept[1])
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda k: [both(k) for _ in range(20)][-1], range(4)))
    for k, (grads, dx, dh0, dc0) in enumerate(results):
        ref_grads, ref_dx, ref_dh0, ref_dc0 = reference(k)
        assert all(max_rel_diff(grads[n], ref_grads[n]) < 1e-13 for n in grads)
        assert max_rel_diff(dx, ref_dx) < 1e-13 and max_rel_diff(dh0, ref_dh0) < 1e-13
