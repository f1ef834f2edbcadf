"""The GRU variant that resets h_{t-1} before the recurrent product (``reset_after=False``).

Finite differences in float64 on every backend, a step computed by hand from the equations, and
chunked-with-carried-state equal to one long run. Keras parity is in tests/parity/test_keras.py.
"""

from functools import partial

import numpy as np

import scratchlstm as sl
from scratchlstm.nn.gru import gru_backward, gru_forward

from tests.helpers import entries_to_check, max_rel_diff

T, B, D, H = 6, 3, 4, 5


def host_params(seed):
    rng = np.random.default_rng(seed)
    return {"W_x": rng.normal(0, 0.5, (D, 3 * H)), "W_h": rng.normal(0, 0.5, (H, 3 * H)),
            "b_x": rng.normal(0, 0.5, 3 * H), "b_h": rng.normal(0, 0.5, 3 * H)}


def test_gradients_match_finite_differences(case64):
    params = case64.params(host_params(0))
    x = case64.array(np.random.default_rng(1).normal(size=(T, B, D)))
    report = sl.gru_gradcheck(params, x, forward=partial(gru_forward, reset_after=False), backward=gru_backward,
                              max_entries=entries_to_check(case64))
    assert {c.name for c in report.checks} == set(params) | {"x", "h0"}
    assert report.passed and report.max_rel_error < 1e-7, str(report)


def test_one_step_by_hand():
    p = host_params(2)
    rng = np.random.default_rng(3)
    x, h0 = rng.normal(size=(1, B, D)), rng.normal(size=(B, H))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    W_xr, W_xz, W_xn = np.split(p["W_x"], 3, axis=1)
    W_hr, W_hz, W_hn = np.split(p["W_h"], 3, axis=1)
    b_r, b_z, b_n = np.split(p["b_x"] + p["b_h"], 3)  # in this variant the two biases only add
    r = sig(x[0] @ W_xr + h0 @ W_hr + b_r)
    z = sig(x[0] @ W_xz + h0 @ W_hz + b_z)
    n = np.tanh(x[0] @ W_xn + (r * h0) @ W_hn + b_n)
    h = (1 - z) * n + z * h0
    hs, (h_T,), _ = gru_forward(p, x, h0, reset_after=False)
    assert max_rel_diff(h_T, h) < 1e-14 and max_rel_diff(hs[0], h) < 1e-14
    assert max_rel_diff(gru_forward(p, x, h0)[1][0], h) > 1e-3, "the default variant computes something else"


def test_the_bias_gradients_are_equal():
    p = host_params(4)
    rng = np.random.default_rng(5)
    _, _, cache = gru_forward(p, rng.normal(size=(T, B, D)), reset_after=False)
    grads, _, _ = gru_backward(cache, rng.normal(size=(T, B, H)))
    assert np.array_equal(grads["b_x"], grads["b_h"])


def test_two_chunks_with_carried_state_equal_one_long_run():
    p = host_params(6)
    rng = np.random.default_rng(7)
    x, dhs = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, H))
    forward = partial(gru_forward, reset_after=False)
    hs, _, cache = forward(p, x)
    grads, dx, dh0 = gru_backward(cache, dhs)
    hs1, (h1,), c1 = forward(p, x[:2])
    hs2, _, c2 = forward(p, x[2:], h1)
    assert max_rel_diff(np.concatenate([hs1, hs2]), hs) < 1e-13
    g2, dx2, dh1 = gru_backward(c2, dhs[2:])
    g1, dx1, dh0_ = gru_backward(c1, dhs[:2], dh1)
    for name in grads:
        assert max_rel_diff(g1[name] + g2[name], grads[name]) < 1e-13, name
    assert max_rel_diff(np.concatenate([dx1, dx2]), dx) < 1e-13 and max_rel_diff(dh0_, dh0) < 1e-13

