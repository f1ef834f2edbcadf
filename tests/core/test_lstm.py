"""The LSTM core against finite differences, against itself run step by step, and across chunks."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.backend import to_numpy
from scratchlstm.gradcheck import GradcheckError
from scratchlstm.nn.kernels import kernel_for
from scratchlstm.nn.lstm import lstm_cell_backward, lstm_cell_forward

from tests.helpers import ENGINES, assert_same_kind, entries_to_check, max_rel_diff, random_lstm_host

T, B, D, H = 6, 3, 4, 5


def _inputs(case, seed=0):
    rng = np.random.default_rng(seed + 100)
    params = case.params(random_lstm_host(D, H, seed))
    x = case.array(rng.normal(size=(T, B, D)))
    h0 = case.array(rng.uniform(-0.8, 0.8, size=(B, H)))
    c0 = case.array(rng.uniform(-2, 2, size=(B, H)))
    upstream = (rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    return params, x, h0, c0, tuple(case.array(u) for u in upstream)


@pytest.mark.parametrize("engine", ENGINES)
def test_gradients_match_finite_differences(case64, engine):
    params, x, h0, c0, upstream = _inputs(case64)
    if engine != "reference" and kernel_for(case64.xp, engine) is None:
        # no kernel for this array library: the engine runs the reference, whose check is the "reference" case;
        # what is left to show is that the same code ran (the same numbers, bit for bit)
        ours, ref = (sl.lstm_forward(params, x, h0, c0, engine=e) for e in (engine, "reference"))
        for a, b in zip((ours[0], *ours[1]), (ref[0], *ref[1])):
            assert np.array_equal(to_numpy(a), to_numpy(b))
        grads = [sl.lstm_backward(cache, *upstream) for _, _, cache in (ours, ref)]
        for a, b in zip((*grads[0][0].values(), *grads[0][1:]), (*grads[1][0].values(), *grads[1][1:])):
            assert np.array_equal(to_numpy(a), to_numpy(b))
        return
    report = sl.lstm_gradcheck(params, x, h0, c0, engine=engine, max_entries=entries_to_check(case64))
    gradients = {c.name for c in report.checks if c.compared == "analytic vs numeric"}
    assert gradients == {"W_x", "W_h", "b", "x", "h0", "c0"}
    assert {c.name.split()[0] for c in report.checks if c.compared != "analytic vs numeric"} == {"hs", "h_T", "c_T"}
    assert report.passed, str(report)
    assert report.max_rel_error < 1e-7


def test_planted_bug_in_backward_fails_gradcheck_and_names_the_array():
    case_params = random_lstm_host(D, H, 1)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(T, B, D))

    def buggy_backward(cache, dhs, dh_T, dc_T):
        grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
        Hh = grads["b"].shape[0] // 4
        grads["b"] = grads["b"].copy()
        grads["b"][Hh : 2 * Hh] *= 0.5  # forget-gate bias gradient halved
        return grads, dx, dh0, dc0

    report = sl.lstm_gradcheck(case_params, x, backward=buggy_backward)
    assert not report.passed
    assert {c.name for c in report.failed()} == {"b"}  # on both paths the custom pair runs
    worst = report.failed()[0].worst_index[0]
    assert H <= worst < 2 * H
    assert "FAIL" in str(report)


def test_gradcheck_refuses_float32():
    params = {k: v.astype(np.float32) for k, v in random_lstm_host(D, H, 0).items()}
    x = np.zeros((T, B, D), dtype=np.float32)
    with pytest.raises(GradcheckError, match="float64"):
        sl.lstm_gradcheck(params, x)


@pytest.mark.parametrize("engine", ENGINES)
def test_step_by_step_equals_sequence_forward_and_backward(case, engine):
    params, x, h0, c0, (dhs, dh_T, dc_T) = _inputs(case)
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0, engine=engine)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)

    h, c, steps = h0, c0, []
    for t in range(T):
        h, c, step = lstm_cell_forward(params, x[t, :, :], h, c)
        assert max_rel_diff(h, hs[t, :, :]) < case.rtol
        steps.append(step)
    assert max_rel_diff(h, h_T) < case.rtol and max_rel_diff(c, c_T) < case.rtol

    dh_next, dc_next = dh_T, dc_T
    total = {k: 0.0 for k in params}
    for t in reversed(range(T)):
        step_grads, dx_t, dh_next, dc_next = lstm_cell_backward(params, dhs[t, :, :] + dh_next, dc_next, steps[t])
        assert max_rel_diff(dx_t, dx[t, :, :]) < case.rtol
        total = {k: total[k] + step_grads[k] for k in params}
    for k in params:
        assert max_rel_diff(total[k], grads[k]) < case.rtol, k
    assert max_rel_diff(dh_next, dh0) < case.rtol and max_rel_diff(dc_next, dc0) < case.rtol
    for out in (hs, h_T, c_T, dx, dh0, dc0, *grads.values()):
        assert_same_kind(out, case)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_chunks_with_carried_state_equal_one_long_run(case, engine):
    params, x, h0, c0, (dhs, dh_T, dc_T) = _inputs(case, seed=3)
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0, engine=engine)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)

    k = 2  # split after 2 steps: chunks of 2 and 4
    hs1, (h1, c1), cache1 = sl.lstm_forward(params, x[:k, :, :], h0, c0, engine=engine)
    hs2, (h2, c2), cache2 = sl.lstm_forward(params, x[k:, :, :], h1, c1, engine=engine)
    xp = case.xp
    assert max_rel_diff(xp.concat([hs1, hs2], axis=0), hs) < case.rtol
    assert max_rel_diff(h2, h_T) < case.rtol and max_rel_diff(c2, c_T) < case.rtol

    g2, dx2, dh1, dc1 = sl.lstm_backward(cache2, dhs[k:, :, :], dh_T, dc_T)
    g1, dx1, dh0_, dc0_ = sl.lstm_backward(cache1, dhs[:k, :, :], dh1, dc1)
    for name in params:
        assert max_rel_diff(g1[name] + g2[name], grads[name]) < case.rtol, name
    assert max_rel_diff(xp.concat([dx1, dx2], axis=0), dx) < case.rtol
    assert max_rel_diff(dh0_, dh0) < case.rtol and max_rel_diff(dc0_, dc0) < case.rtol


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_states_and_upstream_gradients_default_to_zero(case, engine):
    params, x, _, _, (dhs, _, _) = _inputs(case)
    zeros = case.array(np.zeros((B, H)))
    hs_a, _, cache_a = sl.lstm_forward(params, x, engine=engine)
    hs_b, _, cache_b = sl.lstm_forward(params, x, zeros, zeros, engine=engine)
    assert max_rel_diff(hs_a, hs_b) == 0.0
    ga, *_ = sl.lstm_backward(cache_a, dhs)
    gb, *_ = sl.lstm_backward(cache_b, dhs, zeros, zeros)
    for name in ga:
        assert max_rel_diff(ga[name], gb[name]) == 0.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda p, x: (p, x[0, :, :]), r"\(T, B, D\)"),
        (lambda p, x: (p, x[:, :, :2]), "features"),
        (lambda p, x: ({**p, "b": p["b"][:3]}, x), "do not fit"),
        (lambda p, x: ({"W_x": p["W_x"]}, x), "missing"),
    ],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_bad_shapes_are_named(bad, message, engine):
    params = random_lstm_host(D, H, 0)
    x = np.zeros((T, B, D))
    p, xx = bad(params, x)
    with pytest.raises((ValueError, KeyError), match=message):
        sl.lstm_forward(p, xx, engine=engine)


def test_wrong_initial_state_shape_is_named():
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(3, 5\)"):
        sl.lstm_forward(random_lstm_host(D, H, 0), np.zeros((T, B, D)), h0=np.zeros((H, B)))
