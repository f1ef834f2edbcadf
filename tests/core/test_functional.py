"""Nonlinearities: values against Python's math module, stability at extreme inputs."""

import math

import numpy as np
import pytest

from scratchlstm.backend import to_numpy
from scratchlstm.nn.functional import sigmoid, sigmoid_grad_from_output, tanh, tanh_grad_from_output

from tests.helpers import max_rel_diff


def _reference_sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v > -700 else math.exp(v)


def test_sigmoid_matches_math_module(case):
    values = [-1000.0, -80.0, -20.0, -3.5, -1e-3, 0.0, 2e-8, 1.0, 7.25, 30.0, 1000.0]
    got = sigmoid(case.array(values))
    expected = np.array([_reference_sigmoid(v) for v in values])
    got_np = to_numpy(got).astype(np.float64)
    tiny = np.finfo(np.float64 if case.dtype == "float64" else np.float32).tiny
    rel = np.abs(got_np - expected) / np.maximum(expected, tiny)
    mask = expected > tiny  # entries that underflow are allowed to be 0
    assert np.all(rel[mask] < (1e-15 if case.dtype == "float64" else 1e-6))


@pytest.mark.parametrize("v", [1e3, 1e4, 1e30])
def test_extreme_inputs_stay_finite_without_warnings(case, v):
    # pytest runs with warnings as errors (pyproject.toml), so an overflow warning fails here
    a = case.array([-v, v])
    for fn in (sigmoid, tanh):
        out = to_numpy(fn(a))
        assert np.all(np.isfinite(out))
    s = to_numpy(sigmoid(a))
    assert s[0] == 0.0 and s[1] == 1.0


def test_derivatives_from_outputs_match_finite_differences():
    a = np.linspace(-6, 6, 41)
    eps = 1e-6
    fd_sig = (sigmoid(a + eps) - sigmoid(a - eps)) / (2 * eps)
    fd_tanh = (np.tanh(a + eps) - np.tanh(a - eps)) / (2 * eps)
    assert max_rel_diff(sigmoid_grad_from_output(sigmoid(a)), fd_sig) < 1e-8
    assert max_rel_diff(tanh_grad_from_output(tanh(a)), fd_tanh) < 1e-8
