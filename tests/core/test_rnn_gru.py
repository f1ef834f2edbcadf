"""The vanilla RNN and the GRU: finite differences, step-by-step equals batched, same contract."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.nn.gru import gru_backward, gru_forward
from scratchlstm.nn.rnn import rnn_backward, rnn_forward

from tests.helpers import entries_to_check, max_rel_diff

T, B, D, H = 6, 3, 4, 5


def host_params(kind, D, H, seed):
    rng = np.random.default_rng(seed)
    if kind == "rnn":
        return {"W_x": rng.normal(0, 0.5, (D, H)), "W_h": rng.normal(0, 0.5, (H, H)), "b": rng.normal(0, 0.5, H)}
    return {"W_x": rng.normal(0, 0.5, (D, 3 * H)), "W_h": rng.normal(0, 0.5, (H, 3 * H)),
            "b_x": rng.normal(0, 0.5, 3 * H), "b_h": rng.normal(0, 0.5, 3 * H)}


CELLS = {"rnn": (rnn_forward, rnn_backward), "gru": (gru_forward, gru_backward)}


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_gradients_match_finite_differences(case64, kind):
    forward, backward = CELLS[kind]
    rng = np.random.default_rng(1)
    params = case64.params(host_params(kind, D, H, 0))
    x = case64.array(rng.normal(size=(T, B, D)))
    report = sl.cell_gradcheck(kind, params, x, max_entries=entries_to_check(case64))
    assert {c.name for c in report.checks if c.compared == "analytic vs numeric"} == set(params) | {"x", "h0"}
    assert {c.name.split()[0] for c in report.checks if c.compared != "analytic vs numeric"} == {"hs", "h_T"}
    assert report.passed and report.max_rel_error < 1e-7, str(report)


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_two_chunks_with_carried_state_equal_one_long_run(kind):
    forward, backward = CELLS[kind]
    params = host_params(kind, D, H, 2)
    rng = np.random.default_rng(5)
    x, dhs = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, H))
    hs, (h_T,), cache = forward(params, x)
    grads, dx, dh0 = backward(cache, dhs)
    hs1, (h1,), c1 = forward(params, x[:2])
    hs2, (h2,), c2 = forward(params, x[2:], h1)
    assert max_rel_diff(np.concatenate([hs1, hs2]), hs) < 1e-13
    g2, dx2, dh1 = backward(c2, dhs[2:])
    g1, dx1, dh0_ = backward(c1, dhs[:2], dh1)
    for name in grads:
        assert max_rel_diff(g1[name] + g2[name], grads[name]) < 1e-13
    assert max_rel_diff(np.concatenate([dx1, dx2]), dx) < 1e-13 and max_rel_diff(dh0_, dh0) < 1e-13
