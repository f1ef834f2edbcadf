"""Every backend gives the same numbers as NumPy float64, in its own namespace, device and dtype."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.backend import to_numpy

from tests.helpers import ENGINES, assert_same_kind, max_rel_diff, random_lstm_host


@pytest.mark.parametrize("engine", ENGINES)
def test_same_weights_same_outputs_on_every_backend(case, engine):
    T, B, D, H = 5, 2, 3, 4
    host = random_lstm_host(D, H, 11)
    rng = np.random.default_rng(12)
    x, dhs = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, H))
    ref_hs, _, ref_cache = sl.lstm_forward(host, x)  # the reference, NumPy float64
    ref_grads, ref_dx, _, _ = sl.lstm_backward(ref_cache, dhs)

    hs, (h_T, c_T), cache = sl.lstm_forward(case.params(host), case.array(x), engine=engine)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, case.array(dhs))
    assert max_rel_diff(hs, ref_hs) < case.rtol
    assert max_rel_diff(dx, ref_dx) < case.rtol
    for name in host:
        assert max_rel_diff(grads[name], ref_grads[name]) < case.rtol
    for out in (hs, h_T, c_T, dx, dh0, dc0, *grads.values()):
        assert_same_kind(out, case)


def test_one_seed_gives_the_same_weights_on_every_backend(case):
    reference = sl.init_lstm_params(3, 4, seed=42, dtype="float64", forget_bias=1.0)
    params = sl.init_lstm_params(3, 4, seed=42, xp=case.xp, dtype=case.dtype, device=case.device, forget_bias=1.0)
    for name in reference:
        assert np.array_equal(to_numpy(params[name]), to_numpy(reference[name]).astype(case.dtype)), name
        assert_same_kind(params[name], case)


def test_glorot_is_kerass_lstm_init():
    """Keras's defaults: glorot-uniform kernel, one orthogonal (H, 4H) recurrent matrix (every
    singular value 1, not one orthogonal block per gate), forget-block bias 1."""
    D, H = 3, 4
    params = sl.init_lstm_params(D, H, seed=42, dtype="float64", scheme="glorot")
    gate = np.arange(4 * H) // H  # 0 i, 1 f, 2 g, 3 o
    assert np.array_equal(params["b"], (gate == 1).astype(float))
    assert np.allclose(np.linalg.svd(params["W_h"], compute_uv=False), 1.0, atol=1e-12)
    assert np.allclose(params["W_h"] @ params["W_h"].T, np.eye(H), atol=1e-12)
    assert np.max(np.abs(params["W_x"])) <= np.sqrt(6 / (D + 4 * H))
    no_bias = sl.init_lstm_params(D, H, seed=42, dtype="float64", scheme="glorot", forget_bias=0.0)
    assert np.array_equal(no_bias["b"], np.zeros(4 * H)) and np.array_equal(no_bias["W_h"], params["W_h"])
    torch_like = sl.init_lstm_params(D, H, seed=42, dtype="float64", scheme="pytorch")
    assert np.max(np.abs(torch_like["b"])) <= 1 / np.sqrt(H)  # PyTorch's: no forget-bias shift ...
    forget = torch_like["b"][H : 2 * H]
    assert np.all(forget != 0) and len(set(forget)) == H  # ... the forget block drawn like the others (it was set to 0)
    shifted = sl.init_lstm_params(D, H, seed=42, dtype="float64", scheme="pytorch", forget_bias=1.0)
    assert np.all(shifted["b"][H : 2 * H] == 1.0) and np.array_equal(np.delete(shifted["b"], range(H, 2 * H)),
                                                                   np.delete(torch_like["b"], range(H, 2 * H)))


@pytest.mark.parametrize("engine", ENGINES)
def test_layer_class_keeps_namespace(case, engine):
    lstm = sl.LSTM(3, 4, num_layers=2, batch_first=True, xp=case.xp, dtype=case.dtype, device=case.device, seed=1, engine=engine)
    x = case.array(np.random.default_rng(0).normal(size=(2, 5, 3)))
    out, (h_n, c_n) = lstm(x)
    assert tuple(out.shape) == (2, 5, 4) and tuple(h_n.shape) == (2, 2, 4)
    dx, (dh0, dc0) = lstm.backward(out)
    assert tuple(dx.shape) == (2, 5, 3)
    for a in (out, h_n, c_n, dx, dh0, dc0):
        assert_same_kind(a, case)
