"""Clipping by global norm and by value, checked against plain NumPy arithmetic."""

import math

import numpy as np
import pytest

from scratchlstm import clip_grad_norm, clip_grad_value
from scratchlstm.backend import to_numpy


def _host_grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [
        {"W_x": scale * rng.normal(size=(3, 8)), "W_h": scale * rng.normal(size=(2, 8)), "b": scale * rng.normal(size=8)},
        {"W_x": scale * rng.normal(size=(2, 8)), "W_h": scale * rng.normal(size=(2, 8)), "b": scale * rng.normal(size=8)},
    ]


def _norm(host):
    return math.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for layer in host for a in layer.values()))


def test_norm_above_max_is_brought_to_max_exactly(case):
    host = _host_grads(scale=10.0)
    grads = [case.params(layer) for layer in host]
    clipped, norm = clip_grad_norm(grads, 1.5)
    expected_norm = _norm([{k: v.astype(case.dtype) for k, v in layer.items()} for layer in host])
    assert norm == pytest.approx(expected_norm, rel=1e-12 if case.dtype == "float64" else 1e-6)
    after = _norm([{k: to_numpy(v) for k, v in layer.items()} for layer in clipped])
    # torch's rule: scale by max_norm / (norm + 1e-6), so the clipped norm is just under max_norm
    assert after == pytest.approx(1.5 * norm / (norm + 1e-6), rel=1e-14 if case.dtype == "float64" else 1e-6)
    # direction is kept: every entry scaled by the same factor
    ratio = to_numpy(clipped[0]["W_x"]) / host[0]["W_x"].astype(case.dtype)
    assert np.allclose(ratio, ratio.flat[0], rtol=1e-6)
    assert clipped[0]["W_x"].dtype == grads[0]["W_x"].dtype


def test_norm_below_max_is_untouched(case):
    host = _host_grads(scale=0.01)
    grads = [case.params(layer) for layer in host]
    clipped, norm = clip_grad_norm(grads, 100.0)
    assert norm < 100.0
    for a, b in zip(grads, clipped):
        for name in a:
            assert np.array_equal(to_numpy(a[name]), to_numpy(b[name]))


def test_input_is_not_modified_and_nonfinite_norm_is_reported():
    host = _host_grads(scale=10.0)[0]
    copy = {k: v.copy() for k, v in host.items()}
    clip_grad_norm(host, 1.0)
    assert all(np.array_equal(host[k], copy[k]) for k in host)
    host["b"][0] = np.nan
    clipped, norm = clip_grad_norm(host, 1.0)
    assert math.isnan(norm)


def test_clip_by_value(case):
    host = _host_grads(scale=3.0)[0]
    clipped, norm = clip_grad_value(case.params(host), 0.5)
    for name, a in host.items():
        assert np.array_equal(to_numpy(clipped[name]), np.clip(a, -0.5, 0.5).astype(case.dtype))
    assert norm == pytest.approx(_norm([host]), rel=1e-6)


def test_non_positive_limits_are_refused():
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_grad_norm({"b": np.ones(2)}, 0.0)
    with pytest.raises(ValueError, match="clip_value must be positive"):
        clip_grad_value({"b": np.ones(2)}, -1.0)


@pytest.mark.parametrize("clip, limit", [(clip_grad_norm, 1e6), (clip_grad_norm, 1e-3), (clip_grad_value, 1e6), (clip_grad_value, 1e-3)])
def test_the_result_is_new_arrays_whether_it_clips_or_not(clip, limit):
    grads = _host_grads()
    kept = [{k: v.copy() for k, v in layer.items()} for layer in grads]
    clipped, _ = clip(grads, limit)
    for layer, before, after in zip(grads, kept, clipped):
        for name in layer:
            assert not np.shares_memory(after[name], layer[name]), name
            after[name][...] = 0.0  # editing the result never edits the input
            assert np.array_equal(layer[name], before[name]), name


# entries whose squares leave the dtype's range: above it, and below it
OUT_OF_RANGE = {"float32": (3e19, 1e30, 1e-25, 1e-40), "float64": (1e160, 1e300, 1e-170, 1e-300)}


@pytest.mark.parametrize("which", range(4))
def test_the_norm_of_gradients_whose_squares_leave_their_dtype(case, which):
    """3e19 in float32: every entry finite, the squares past float32's range, and the norm came out inf (the trainer
    would stop on it); 1e-25: the squares vanish, and the norm came out 0."""
    value = OUT_OF_RANGE[case.dtype][which]
    host = np.full((2, 3), value, dtype=case.dtype)
    expected = math.sqrt(6) * float(host[0, 0])  # float64 arithmetic on the float32 value
    clipped, norm = clip_grad_norm({"a": case.params({"a": host})["a"]}, 1.0)
    assert norm == pytest.approx(expected, rel=1e-6)
    assert _norm([{"a": to_numpy(clipped["a"])}]) == pytest.approx(min(1.0, expected), rel=1e-5)


def test_an_infinite_or_nan_entry_still_gives_a_norm_that_says_so(case):
    for bad, expected in ((np.inf, math.inf), (np.nan, math.nan)):
        host = np.array([1.0, bad], dtype=case.dtype)
        _, norm = clip_grad_norm({"a": case.params({"a": host})["a"]}, 1.0)
        assert (math.isnan(norm) if math.isnan(expected) else norm == expected)


def test_integer_gradients_and_a_limit_of_true_are_refused():
    """Integer gradients came back float64, and max_norm=True clipped to a norm of 1."""
    from scratchlstm.errors import DtypeError

    with pytest.raises(DtypeError, match="gradient 0 is int64"):
        clip_grad_norm({"a": np.arange(4)}, 1.0)
    with pytest.raises(DtypeError, match="gradient 1 is float64 but gradient 0 is float32"):
        clip_grad_value([{"a": np.ones(2, np.float32)}, {"b": np.ones(2)}], 1.0)
    for bad in (True, "1", float("nan"), 0, -1.0):
        with pytest.raises(ValueError, match="must be positive"):
            clip_grad_norm({"a": np.ones(2)}, bad)
        with pytest.raises(ValueError, match="must be positive"):
            clip_grad_value({"a": np.ones(2)}, bad)
