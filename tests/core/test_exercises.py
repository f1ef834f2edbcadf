"""The exercise checkers pass a right answer and name a wrong one: the output, the gate block, the slip.

Every planted mistake below is written out as a learner would write it, in plain NumPy, and the
report must name it; a right answer written differently from the reference (the textbook sigmoid)
must pass. No report may be a traceback.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from scratchlstm import exercises
from scratchlstm.exercises import bptt_with, check_cell_forward, check_gates_backward
from scratchlstm.nn import lstm as lstm_module
from scratchlstm.nn.init import init_lstm_params
from scratchlstm.nn.lstm import lstm_backward, lstm_cell_forward, lstm_forward


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def forward(order=(0, 1, 2, 3), act=(sigmoid, sigmoid, np.tanh, sigmoid), bias=True, c_rule=None, h_rule=None):
    """A learner's one-step forward, with the slips chosen by the arguments (none by default)."""
    def step(params, x_t, h_prev, c_prev):
        H = params["W_h"].shape[0]
        a = x_t @ params["W_x"] + h_prev @ params["W_h"] + (params["b"] if bias else 0)  # (B, 4H)
        i, f, g, o = (act[k](a[:, order[k] * H : (order[k] + 1) * H]) for k in range(4))
        c = c_rule(i, f, g, c_prev) if c_rule else f * c_prev + i * g
        h = h_rule(o, c) if h_rule else o * np.tanh(c)
        return h, c, {"gates": np.concatenate([i, f, g, o], axis=1), "tc": np.tanh(c)}
    return step


def backward(slip=None):
    """A learner's elementwise backward, with one named slip (none by default)."""
    def step(dh, dc, gates, c_prev, tc):
        H = tc.shape[1]
        i, f, g, o = (gates[:, k * H : (k + 1) * H] for k in range(4))
        do = dh * tc
        if slip == "in place":
            dc += dh * o * (1 - tc**2)
        else:
            dc_total = dc + dh * o * (1 - tc**2)
            dc = dc if slip == "no h path" else dc_total
        di, df, dg = dc * g, dc * c_prev, dc * i
        dc_prev = dc if slip == "no f" else dc * f
        da_g = dg * g * (1 - g) if slip == "g as a sigmoid" else dg * (1 - g**2)
        blocks = [di * i * (1 - i), df * f * (1 - f), da_g, do * o * (1 - o)]
        if slip == "order":
            blocks = [blocks[0], blocks[1], blocks[3], blocks[2]]
        return np.concatenate(blocks, axis=1), dc_prev
    return step


def assert_plain(report):
    text = str(report)
    assert "Traceback" not in text and 'File "' not in text, text
    assert repr(report) == text  # a notebook shows the text itself


# ----------------------------------------------------------------------------------------------
# right answers


def test_the_reference_and_a_textbook_numpy_step_pass_with_one_line():
    for fn in (lstm_cell_forward, forward()):
        report = check_cell_forward(fn)
        assert report.passed, report
        assert str(report).startswith("PASS: lstm_cell_forward matches the reference") and "\n" not in str(report)
    for fn in (lstm_module._gates_backward, backward()):
        report = check_gates_backward(fn)
        assert report.passed, report
        assert "\n" not in str(report) and "passes the gradient check" in str(report)
        assert report.gradcheck.passed and report.gradcheck.max_rel_error < 1e-8


def test_the_checkers_try_batch_one_and_one_unit():
    assert any(B == 1 for B, _, _ in exercises.SHAPES) and any(H == 1 for _, _, H in exercises.SHAPES)
    assert any(B > 1 and D > 1 and H > 1 and len({B, D, H, 4 * H}) == 4 for B, D, H in exercises.SHAPES)


# ----------------------------------------------------------------------------------------------
# the forward's slips


@pytest.mark.parametrize("fn, expected", [
    (forward(order=(0, 1, 3, 2)), ["gates block g (columns 2H:3H)", "it is computed from block o of a",
                                   "gates block o (columns 3H:4H)", "c_t:",
                                   "it follows from your wrong values before it (c_t = f * c_{t-1} + i * g holds"]),
    (forward(act=(sigmoid, np.tanh, np.tanh, sigmoid)), ["gates block f (columns 1H:2H)",
                                                         "f is a gate: the sigmoid of its block, not tanh"]),
    (forward(act=(sigmoid, sigmoid, sigmoid, sigmoid)), ["gates block g", "g is the candidate: tanh of its block"]),
    (forward(bias=False), ["blocks i, f, g, o: a is missing the term b"]),
    (forward(c_rule=lambda i, f, g, c_prev: c_prev + i * g), ["c_t:", "the factor f is missing from f * c_{t-1}"]),
    (forward(h_rule=lambda o, c: o * c), ["h_t:", "h_t = o * tanh(c_t): the tanh is missing"]),
], ids=["blocks g and o swapped", "tanh for f", "sigmoid for g", "no bias", "c without f", "h without tanh"])
def test_a_wrong_forward_is_named_by_output_and_gate_block(fn, expected):
    report = check_cell_forward(fn)
    assert not report.passed
    assert str(report).startswith("FAIL: lstm_cell_forward differs from the reference at 4 of 4 shapes; at B = 3, D = 2, H = 4:")
    for phrase in expected:
        assert phrase in str(report), f"{phrase!r} not in:\n{report}"
    assert_plain(report)


def test_only_the_wrong_blocks_are_listed():
    text = str(check_cell_forward(forward(act=(sigmoid, sigmoid, sigmoid, sigmoid))))
    assert "gates block g" in text
    assert not re.search(r"gates block [ifo]", text)
    assert "h_t:" in text and "it follows from your wrong values before it" in text  # a consequence, said as one


def test_the_report_says_by_how_much_as_recomputed_here():
    """The first shape's inputs, rebuilt from the checker's seed, and the difference a sigmoid for g makes."""
    params, x_t, h_prev, c_prev = exercises._random_step(3, 2, 4, 0)
    a_g = (x_t @ params["W_x"] + h_prev @ params["W_h"] + params["b"])[:, 8:12]
    expected = np.max(np.abs(sigmoid(a_g) - np.tanh(a_g)))
    text = str(check_cell_forward(forward(act=(sigmoid, sigmoid, sigmoid, sigmoid))))
    assert f"gates block g (columns 2H:3H): off by up to {expected:.1e}" in text, text


def test_a_forward_missing_the_cache_or_with_the_wrong_shapes_gets_one_paragraph():
    def two_values(params, x_t, h_prev, c_prev):
        h, c, _ = lstm_cell_forward(params, x_t, h_prev, c_prev)
        return h, c

    def no_tc(params, x_t, h_prev, c_prev):
        h, c, cache = lstm_cell_forward(params, x_t, h_prev, c_prev)
        return h, c, {"gates": cache["gates"]}

    def transposed_h(params, x_t, h_prev, c_prev):
        h, c, cache = lstm_cell_forward(params, x_t, h_prev, c_prev)
        return h.T, c, cache

    def squeezed(params, x_t, h_prev, c_prev):  # right for B > 1 and H > 1 only
        h, c, cache = lstm_cell_forward(params, x_t, h_prev, c_prev)
        return np.squeeze(h), c, cache

    cases = {
        two_values: "FAIL: lstm_cell_forward returned 2 values; it must return 3: h_t (B, H), c_t (B, H) and step_cache",
        no_tc: "step_cache has no 'tc'",
        transposed_h: "returned h_t of shape (4, 3) (it looks transposed), at B = 3, D = 2, H = 4",
        squeezed: "returned h_t of shape (2,), at B = 1, D = 3, H = 2",
        (lambda *args: None): "returned None",
    }
    for fn, phrase in cases.items():
        report = check_cell_forward(fn)
        assert not report.passed and phrase in str(report), f"{phrase!r} not in:\n{report}"
        assert len(report.lines) == 1
        assert_plain(report)


def test_a_forward_that_raises_gets_one_paragraph_naming_the_line():
    def placeholder(params, x_t, h_prev, c_prev):
        raise NotImplementedError("write this")

    def transposed_product(params, x_t, h_prev, c_prev):
        W_x = params["W_x"]
        a = W_x @ x_t  # (D, 4H) @ (B, D): the shapes do not chain
        return a, a, {}

    report = check_cell_forward(placeholder)
    assert str(report) == ("FAIL: lstm_cell_forward is not written yet (it raises NotImplementedError: write this). "
                           "Replace the raise line with your code, run that cell, then run this check again.")
    report = check_cell_forward(transposed_product)
    text = str(report)
    assert text.startswith("FAIL: lstm_cell_forward raised ValueError, on line 3 of the function, `a = W_x @ x_t")
    assert "at B = 3, D = 2, H = 4 (x_t (3, 2)" in text and "W_x (2, 16)" in text
    assert_plain(report)
    report = check_cell_forward(lambda params, x_t, h_prev, c_prev: params["Wx"])
    assert "raised KeyError" in str(report) and "params has the keys 'W_x', 'W_h', 'b'." in str(report), report


def test_anything_but_a_function_is_refused_plainly():
    assert str(check_cell_forward(None)) == "FAIL: check_cell_forward needs your function, got NoneType."
    assert not check_gates_backward("gates_backward").passed


# ----------------------------------------------------------------------------------------------
# the gate backward's slips


def test_a_missing_forget_gate_in_dc_prev_is_named_and_the_gradient_check_through_time_fails():
    report = check_gates_backward(backward("no f"))
    text = str(report)
    assert not report.passed
    assert "dc_prev: off by up to" in text and "dc_prev = dc * f: the factor f (the forget gate) is missing" in text
    assert "da block" not in text  # every block of da is right
    assert "lstm_gradcheck(params, x, backward=bptt_with(gates_backward))" in text
    assert "by gate block:" in text and "(step t = " in text and "FAIL: max rel error" in text  # the gradcheck's own lines
    assert report.gradcheck is not None and not report.gradcheck.passed
    x_check = next(c for c in report.gradcheck.checks if c.name == "x")
    assert x_check.worst_step < x_check.shape[0] - 1, "the last step's dx is right: nothing has been handed back yet"
    assert_plain(report)


@pytest.mark.parametrize("slip, expected", [
    ("g as a sigmoid", ["da block g (columns 2H:3H)", "g = tanh(...), so its derivative is 1 - g^2, not g * (1 - g)"]),
    ("order", ["da block g", "it holds block o's values: da's blocks are in the order i | f | g | o", "da block o"]),
    ("no h path", ["da block i", "di needs the total dc, dc + dh * o * (1 - tc^2), not the dc passed in",
                   "dc must first collect the path through h_t"]),
])
def test_a_wrong_gate_block_of_da_is_named(slip, expected):
    report = check_gates_backward(backward(slip))
    assert not report.passed
    for phrase in expected:
        assert phrase in str(report), f"{phrase!r} not in:\n{report}"
    assert_plain(report)


def test_the_gradient_check_puts_the_largest_error_in_the_wrong_block():
    report = check_gates_backward(backward("g as a sigmoid"))
    for check in report.gradcheck.checks:
        if check.blocks:
            assert max(check.blocks, key=check.blocks.get) == "g", (check.name, check.blocks)


def test_a_backward_that_changes_its_input_in_place_is_told_so():
    report = check_gates_backward(backward("in place"))
    assert str(report).startswith("FAIL: gates_backward changed its argument dc in place")
    assert_plain(report)


def test_a_backward_with_the_wrong_shapes_or_values_gets_one_paragraph():
    def transposed(dh, dc, gates, c_prev, tc):
        da, dc_prev = lstm_module._gates_backward(dh, dc, gates, c_prev, tc)
        return da.T, dc_prev

    def da_only(dh, dc, gates, c_prev, tc):
        return lstm_module._gates_backward(dh, dc, gates, c_prev, tc)[0]

    def placeholder(dh, dc, gates, c_prev, tc):
        raise NotImplementedError("write this")

    cases = {transposed: "returned da of shape (16, 3) (it looks transposed), at B = 3, H = 4",
             da_only: "returned one ndarray; it must return 2 values",
             placeholder: "FAIL: gates_backward is not written yet"}
    for fn, phrase in cases.items():
        report = check_gates_backward(fn)
        assert not report.passed and phrase in str(report), f"{phrase!r} not in:\n{report}"
        assert len(report.lines) == 1 and report.gradcheck is None
        assert_plain(report)


def test_float32_arithmetic_is_named():
    def narrow(dh, dc, gates, c_prev, tc):
        da, dc_prev = lstm_module._gates_backward(dh, dc, gates, c_prev, tc)
        return da.astype(np.float32), dc_prev

    text = str(check_gates_backward(narrow))
    assert "da is float32, but every input is float64" in text


# ----------------------------------------------------------------------------------------------
# the reference loop with another elementwise step


def test_bptt_with_the_reference_step_is_lstm_backward_and_puts_the_reference_back():
    params = init_lstm_params(2, 3, dtype="float64", seed=1)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    hs, _, cache = lstm_forward(params, x)
    dhs = np.random.default_rng(1).standard_normal(hs.shape)
    reference = lstm_module._gates_backward
    grads, dx, dh0, dc0 = bptt_with(reference)(cache, dhs)
    want_grads, want_dx, want_dh0, want_dc0 = lstm_backward(cache, dhs)
    for name in grads:
        assert np.array_equal(grads[name], want_grads[name])
    assert np.array_equal(dx, want_dx) and np.array_equal(dh0, want_dh0) and np.array_equal(dc0, want_dc0)

    def broken(*args):
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError):
        bptt_with(broken)(cache, dhs)
    assert lstm_module._gates_backward is reference  # nothing was patched


def test_a_step_that_wraps_the_reference_runs_inside_bptt_with():
    """The natural way to plant a bug: call the reference and change its result. No recursion."""
    def doubled(dh, dc, gates, c_prev, tc):
        da, dc_prev = lstm_module._gates_backward(dh, dc, gates, c_prev, tc)
        return 2 * da, dc_prev

    params = init_lstm_params(2, 3, dtype="float64", seed=1)
    x = np.random.default_rng(0).standard_normal((1, 2, 2))  # one step: db is the batch sum of da
    hs, _, cache = lstm_forward(params, x)
    dhs = np.ones_like(hs)
    assert np.allclose(bptt_with(doubled)(cache, dhs)[0]["b"], 2 * lstm_backward(cache, dhs)[0]["b"], rtol=0, atol=1e-15)


def test_bptt_with_needs_a_reference_cache():
    params = init_lstm_params(2, 3, dtype="float64", seed=1)
    _, _, cache = lstm_forward(params, np.zeros((3, 1, 2)), engine="fast")
    with pytest.raises(ValueError, match="reference engine"):
        bptt_with(lstm_module._gates_backward)(cache, None)
