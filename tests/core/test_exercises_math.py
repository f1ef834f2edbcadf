"""The later exercises' checkers pass the solutions and name a learner's slip, as one paragraph, never a traceback.

The right answers are the course's solutions (notebooks/solutions/solutions.py, written in plain
NumPy apart from the package's one-step functions); each slip below is written as a learner would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchlstm import lstm_backward, lstm_forward
from scratchlstm.exercises_math import (check_adam_step, check_bptt_loop, check_clip_by_norm, check_forward_loop,
                                        check_gru_cell_backward, check_gru_cell_forward, check_relative_error,
                                        check_truncated_bptt)
from scratchlstm.forecast.exercises import check_diebold_mariano, check_make_windows

SOLUTIONS = Path(__file__).parents[2] / "notebooks" / "solutions" / "solutions.py"


@pytest.fixture(scope="module")
def solution():
    namespace: dict = {}
    exec(compile(SOLUTIONS.read_text(encoding="utf-8"), str(SOLUTIONS), "exec"), namespace)
    return namespace


CHECKERS = [(check_forward_loop, "lstm_forward_loop"), (check_bptt_loop, "lstm_bptt_loop"),
            (check_truncated_bptt, "truncated_bptt"), (check_clip_by_norm, "clip_by_norm"), (check_adam_step, "adam_step"),
            (check_gru_cell_forward, "gru_cell_forward"), (check_gru_cell_backward, "gru_cell_backward"),
            (check_relative_error, "relative_error"), (check_make_windows, "make_windows"),
            (check_diebold_mariano, "diebold_mariano")]


@pytest.mark.parametrize("checker, name", CHECKERS, ids=[n for _, n in CHECKERS])
def test_the_solution_passes_and_the_placeholder_says_not_written(checker, name, solution):
    assert checker(solution[name]).passed

    def placeholder(*args):
        raise NotImplementedError("write this")

    report = checker(placeholder, name)
    assert not report.passed and str(report).startswith(f"FAIL: {name} is not written yet") and "\n" not in str(report)


def _fails_naming(report, *words):
    text = str(report)
    assert not report.passed and "Traceback" not in text, text
    for word in words:
        assert word in text, text


def test_forward_loop_names_a_state_not_carried():
    from scratchlstm import lstm_cell_forward

    def loop(params, x, h0, c0):
        h, c, hs = h0, c0, []
        for t in range(x.shape[0]):
            h, c, _ = lstm_cell_forward(params, x[t], h, c0)  # c0 each time
            hs.append(h)
        return np.stack(hs), h, c

    _fails_naming(check_forward_loop(loop), "c is not carried")


def test_bptt_loop_names_the_missing_dhs(solution):
    def loop(params, steps, dhs, dh_T, dc_T):
        return solution["lstm_bptt_loop"](params, steps, np.zeros_like(dhs), dh_T, dc_T)

    _fails_naming(check_bptt_loop(loop), "dhs[t] is not added")


def test_truncated_bptt_names_full_bptt():
    def full(params, x, chunk, dhs):
        hs, _, cache = lstm_forward(params, x)
        return hs, lstm_backward(cache, dhs)[0]

    _fails_naming(check_truncated_bptt(full), "the gradient is not cut")


def test_clip_by_norm_names_per_array_clipping():
    def clip(grads, max_norm):
        out = {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}
        return out, float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))

    _fails_naming(check_clip_by_norm(clip), "its own norm")


def test_clip_by_norm_names_a_clip_computed_in_float32():
    """Within the tolerance, float32 passed without a word, where the cell checkers say so."""
    from scratchlstm.clipping import clip_grad_norm

    def clip(grads, max_norm):
        out, norm = clip_grad_norm(grads, max_norm)
        return {k: g.astype(np.float32) for k, g in out.items()}, norm

    _fails_naming(check_clip_by_norm(clip), "clipped['W_x'] is float32, but the gradients are float64: compute in their dtype")


def test_adam_step_names_the_missing_bias_correction():
    def step(param, grad, m, v, t, lr, beta1, beta2, eps):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        return param - lr * m / (np.sqrt(v) + eps), m, v

    _fails_naming(check_adam_step(step), "no bias correction")


def test_gru_forward_names_swapped_z(solution):
    def step(params, x_t, h_prev):
        h = solution["gru_cell_forward"](params, x_t, h_prev)
        H = h_prev.shape[1]
        gx, gh = x_t @ params["W_x"] + params["b_x"], h_prev @ params["W_h"] + params["b_h"]
        z = 1 / (1 + np.exp(-(gx[:, H:2 * H] + gh[:, H:2 * H])))
        n = (h - z * h_prev) / (1 - z)
        return z * n + (1 - z) * h_prev

    _fails_naming(check_gru_cell_forward(step), "z and 1 - z are swapped")


@pytest.mark.parametrize("reset, named", [
    ("none", "n's block has no reset gate"),  # it was told "r multiplies only the recurrent part"
    ("both", "r multiplies only the recurrent part of n's block, not the input's too"),
    ("input", "r multiplies the recurrent part of n's block, not the input's"),
])
def test_gru_forward_names_where_the_reset_gate_went(reset, named):
    """A learner's n written by hand, with r left out, over the whole block, or on the input part."""

    def step(params, x_t, h_prev):
        H = h_prev.shape[1]
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        gx, gh = x_t @ params["W_x"] + params["b_x"], h_prev @ params["W_h"] + params["b_h"]
        r, z = sig(gx[:, :H] + gh[:, :H]), sig(gx[:, H:2 * H] + gh[:, H:2 * H])
        gx_n, gh_n = gx[:, 2 * H:], gh[:, 2 * H:]
        n = np.tanh({"none": gx_n + gh_n, "both": r * (gx_n + gh_n), "input": r * gx_n + gh_n}[reset])
        return (1 - z) * n + z * h_prev

    _fails_naming(check_gru_cell_forward(step), named)


def test_gru_backward_names_the_missing_direct_path(solution):
    def step(params, x_t, h_prev, dh):
        grads, dx, dh_prev = solution["gru_cell_backward"](params, x_t, h_prev, dh)
        H = h_prev.shape[1]
        gx, gh = x_t @ params["W_x"] + params["b_x"], h_prev @ params["W_h"] + params["b_h"]
        z = 1 / (1 + np.exp(-(gx[:, H:2 * H] + gh[:, H:2 * H])))
        return grads, dx, dh_prev - z * dh

    _fails_naming(check_gru_cell_backward(step), "the direct path is missing")


def test_relative_error_names_one_scale_for_the_whole_array():
    # the measure the check used before: a sign error in a saturated gate hides behind the array's largest entry
    _fails_naming(check_relative_error(lambda a, n, floor: float(np.max(np.abs(a - n)) / max(np.abs(a).max(), np.abs(n).max()))),
                  "one scale for the whole array")


def test_relative_error_names_the_missing_floor():
    _fails_naming(check_relative_error(lambda a, n, floor: float(np.max(np.abs(a - n) / np.maximum(np.abs(a), np.abs(n))))),
                  "the floor is missing")


def test_make_windows_names_leakage():
    def windows(series, window, horizon):
        origins = range(window - 1, len(series) - horizon)
        return (np.array([series[o - window + 1 : o + 1] for o in origins]),
                np.array([series[o : o + horizon] for o in origins]))

    _fails_naming(check_make_windows(windows), "leakage")


def test_diebold_mariano_names_the_missing_lags():
    def dm(a, b, h):
        d = np.abs(a) - np.abs(b)
        return float(d.mean() / np.sqrt(d.var() / len(d)))

    _fails_naming(check_diebold_mariano(dm), "the lag terms are missing")


def test_a_small_difference_is_shown_with_the_digits_where_the_values_differ():
    """'yours +0.2705, reference +0.2705' for values 2e-5 apart looked identical."""
    from scratchlstm.exercises import _difference

    assert "yours +0.270510, reference +0.270490" in _difference(np.array([[0.27051]]), np.array([[0.27049]]))
    assert "yours +0.4213, reference +0.6312" in _difference(np.array([[0.4213]]), np.array([[0.6312]]))
