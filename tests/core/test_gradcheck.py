"""The gradient checker itself, on functions whose gradients are known in closed form."""

import re

import numpy as np
import pytest

from scratchlstm import gradcheck
from scratchlstm.gradcheck import GradcheckError


def _loss(values):
    # L = sum(sin(u) * w) + 0.5 * sum(w^2): dL/du = cos(u) * w, dL/dw = sin(u) + w
    u, w = values["u"], values["w"]
    return float(np.sum(np.sin(u) * w) + 0.5 * np.sum(w * w))


def _point():
    rng = np.random.default_rng(0)
    return {"u": rng.normal(size=(3, 4)), "w": rng.normal(size=(3, 4))}


def test_correct_gradients_pass():
    p = _point()
    grads = {"u": np.cos(p["u"]) * p["w"], "w": np.sin(p["u"]) + p["w"]}
    report = gradcheck(_loss, p, grads)
    assert report.passed and report.max_rel_error < 1e-8
    assert [c.checked for c in report.checks] == [12, 12]


def test_wrong_entry_is_located():
    p = _point()
    grads = {"u": np.cos(p["u"]) * p["w"], "w": np.sin(p["u"]) + p["w"]}
    grads["w"] = grads["w"].copy()
    grads["w"][2, 1] += 0.05
    report = gradcheck(_loss, p, grads)
    assert not report.passed
    (bad,) = report.failed()
    assert bad.name == "w" and bad.worst_index == (2, 1)
    assert bad.abs_error == pytest.approx(0.05, rel=1e-6)


def test_subsampling_and_inputs_held_fixed_on_purpose():
    p = _point()
    report = gradcheck(_loss, p, {"w": np.sin(p["u"]) + p["w"]}, max_entries=5, fixed=("u",))
    assert [c.name for c in report.checks] == ["w"] and report.checks[0].checked == 5
    assert report.passed


def test_a_missing_gradient_fails_and_is_named():
    p = _point()
    report = gradcheck(_loss, p, {"w": np.sin(p["u"]) + p["w"]})
    assert not report.passed
    (missing,) = report.failed()
    assert missing.name == "u" and "returned no gradient for u" in missing.problem
    assert "missing" in str(report) and "FAIL" in str(report)
    wrong = gradcheck(_loss, p, {"w": np.sin(p["u"]) + p["w"], "u": np.zeros((4, 3))})
    assert "wrong shape: the backward returned (4, 3) for u" in str(wrong) and not wrong.passed


def test_gate_blocks_and_the_worst_time_step_are_reported():
    rng = np.random.default_rng(1)
    p = {"W": rng.normal(size=(3, 8)), "x": rng.normal(size=(5, 2, 3))}

    def loss(v):
        return float(np.sum(np.tanh(v["x"] @ v["W"])))

    def grads(v):
        t = np.tanh(v["x"] @ v["W"])
        da = 1 - t * t
        return {"W": np.einsum("tbd,tbk->dk", v["x"], da), "x": da @ v["W"].T}

    g = grads(p)
    g["W"] = g["W"].copy()
    g["W"][:, 2:4] *= 1.01  # the second of four blocks, 1% off
    g["x"] = g["x"].copy()
    g["x"][3] *= 1.01  # time step 3
    report = gradcheck(loss, p, g, gate_blocks={"W": ("i", "f", "g", "o")}, time_major=("x",))
    w, x = {c.name: c for c in report.checks}["W"], {c.name: c for c in report.checks}["x"]
    assert max(w.blocks, key=w.blocks.get) == "f" and w.blocks["i"] < 1e-8 and w.blocks["f"] > 1e-3
    assert x.worst_step == 3 and "step t = 3" in str(report) and "by gate block: i" in str(report)


@pytest.mark.parametrize("drop", ["grad", "dc0", "dx"])
def test_an_lstm_backward_that_omits_anything_fails_naming_it(drop):
    import scratchlstm as sl

    params = {k: v for k, v in sl.init_lstm_params(2, 3, dtype="float64", seed=1).items()}
    x = np.random.default_rng(0).normal(size=(4, 2, 2))

    def backward(cache, dhs, dh_T, dc_T):
        grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
        if drop == "grad":
            return {k: v for k, v in grads.items() if k != "b"}, dx, dh0, dc0
        if drop == "dc0":
            return grads, dx, dh0  # three of the four outputs
        return grads, None, dh0, dc0

    report = sl.lstm_gradcheck(params, x, backward=backward)
    missing = {"grad": "b", "dc0": "c0", "dx": "x"}[drop]
    assert not report.passed and {c.name for c in report.failed()} == {missing}  # on every path
    assert f"returned no gradient for {missing}" in str(report)
    assert "the forward/backward pair you passed" in str(report)


def test_float32_and_unknown_keys_are_refused():
    p = _point()
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(_loss, {k: v.astype(np.float32) for k, v in p.items()}, {})
    with pytest.raises(KeyError, match="not among the inputs"):
        gradcheck(_loss, p, {"v": p["u"]})


def test_integer_inputs_are_refused_as_integers_not_as_float32():
    with pytest.raises(GradcheckError, match="'x' is int64: a finite-difference step needs a floating-point array; build"):
        gradcheck(lambda d: float(np.sum(d["x"] ** 2)), {"x": np.arange(3)}, {"x": 2.0 * np.arange(3)})


def test_a_loss_of_several_values_is_refused_naming_its_shape():
    """A per-sample loss failed inside the checker: 'only 0-dimensional arrays can be converted to Python scalars'."""
    x = np.arange(3.0)
    with pytest.raises(GradcheckError, match=r"^loss_fn must return one number .* an array of shape \(3,\): reduce it"):
        gradcheck(lambda d: d["x"] ** 2, {"x": x}, {"x": 2 * x})
    assert gradcheck(lambda d: np.sum(d["x"] ** 2), {"x": x}, {"x": 2 * x}).passed  # a 0-d array is one number
    with pytest.raises(GradcheckError, match=r"got an array of shape \(1,\)"):
        gradcheck(lambda d: np.sum(d["x"] ** 2, keepdims=True), {"x": x}, {"x": 2 * x})
    with pytest.raises(GradcheckError, match=r"got tuple \(this package's losses return \(value, gradient\)"):
        gradcheck(lambda d: (float(np.sum(d["x"] ** 2)), 2 * d["x"]), {"x": x}, {"x": 2 * x})
    with pytest.raises(GradcheckError, match="got NoneType"):
        gradcheck(lambda d: None, {"x": x}, {"x": 2 * x})


def test_a_0d_torch_tensor_is_one_number():
    """The size check read ``.size``, which is a method on a torch tensor, and refused torch.sum(...) (a regression)."""
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -0.7, 1.1])
    assert gradcheck(lambda d: torch.sum(torch.as_tensor(d["x"]) ** 2), {"x": x}, {"x": 2 * x}).passed


# ----------------------------------------------------------------------------------------------
# the error measure, precision, crashes and the paths of a cell's check


def _lstm_problem(seed=0, B=2, forget_bias=0.0):
    import scratchlstm as sl

    params = sl.init_lstm_params(3, 4, dtype="float64", seed=seed)
    params["b"] = params["b"].copy()
    params["b"][4:8] += forget_bias
    return params, np.random.default_rng(seed).normal(size=(5, B, 3))


def test_a_sign_error_in_a_saturated_gate_fails_though_it_is_tiny_against_the_array(monkeypatch):
    import scratchlstm as sl
    from scratchlstm.nn import lstm as lstm_module
    from tests.helpers import edited_function

    params, x = _lstm_problem(forget_bias=18.0)  # f = sigmoid(~18): f (1 - f) is about 1.5e-8
    assert sl.lstm_gradcheck(params, x).passed
    monkeypatch.setattr(lstm_module, "_gates_backward", edited_function(lstm_module, "_gates_backward", "df = dc * c_prev", "df = -dc * c_prev"))
    report = sl.lstm_gradcheck(params, x)
    assert report.max_rel_error > 10 * report.threshold  # each entry against its own size, with its floor
    for c in report.failed():
        if c.blocks:
            assert max(c.blocks, key=c.blocks.get) == "f"
            if c.path == report.paths[0]:  # every step's output and the final state: the path this passed on
                # the error against the array's largest entry (the measure that let this pass) is under the threshold
                assert c.blocks["f"] < 1e-7


def test_each_entry_is_measured_against_its_own_size_with_a_floor():
    p = _point()
    grads = {"u": np.cos(p["u"]) * p["w"], "w": np.sin(p["u"]) + p["w"]}
    grads["u"] = grads["u"].copy()
    small = int(np.argmin(np.abs(grads["u"])))
    grads["u"].flat[small] *= 1.001  # 0.1% off on the smallest entry
    check = {c.name: c for c in gradcheck(_loss, p, grads).checks}["u"]
    size = abs(grads["u"].flat[small])
    floor = 1e-2 * max(np.max(np.abs(np.cos(p["u"]) * p["w"])), np.max(np.abs(np.sin(p["u"]) + p["w"])))
    assert check.rel_error == pytest.approx(1e-3 * size / max(size, floor), rel=1e-3)


def test_gradients_in_another_dtype_or_rounded_to_float32_fail():
    p = _point()
    exact = {"u": np.cos(p["u"]) * p["w"], "w": np.sin(p["u"]) + p["w"]}
    as_float32 = gradcheck(_loss, p, {**exact, "w": exact["w"].astype(np.float32)})
    assert [c.name for c in as_float32.failed()] == ["w"] and "wrong dtype: the backward returned float32" in str(as_float32)
    rounded = gradcheck(_loss, p, {**exact, "w": exact["w"].astype(np.float32).astype(np.float64)})
    assert [c.name for c in rounded.failed()] == ["w"] and "float32 precision" in str(rounded)
    assert gradcheck(_loss, p, exact).passed


def test_a_backward_that_returns_nan_fails_naming_the_step():
    import scratchlstm as sl

    params, x = _lstm_problem()

    def backward(cache, dhs, dh_T, dc_T):
        grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
        dx = dx.copy()
        dx[2, 0, 1] = np.nan
        return grads, dx, dh0, dc0

    report = sl.lstm_gradcheck(params, x, backward=backward)
    assert {c.name for c in report.failed()} == {"x"}
    assert "not finite: 1 of 30 entries of the gradient of x are NaN at step t = 2" in str(report)


def test_a_backward_that_raises_is_a_failed_check_naming_the_exception_and_the_step():
    import scratchlstm as sl

    params, x = _lstm_problem()

    def backward(cache, dhs, dh_T, dc_T):
        for t in reversed(range(x.shape[0])):
            if t == 1:
                raise ZeroDivisionError("planted")
        return sl.lstm_backward(cache, dhs, dh_T, dc_T)

    report = sl.lstm_gradcheck(params, x, backward=backward)
    assert not report.passed
    assert "the backward raised ZeroDivisionError: planted at step t = 1 in backward" in str(report)


def test_the_paths_of_each_cell_and_engine():
    import scratchlstm as sl

    params, x = _lstm_problem(B=3)
    reference = sl.lstm_gradcheck(params, x)
    assert reference.paths == ["B=3, every step's output and the final state", "B=3, the final state only (dhs=None)",
                               "B=3, the last step's h only (dhs=None, dc_T=None)",
                               "B=3, every step's output only (no gradient on the final state)",
                               "one step: lstm_cell_forward, lstm_cell_backward (B=3)",
                               "B=3, initial states left out (h0=None, c0=None: zeros, as training starts)",
                               "B=3, the forward without a cache (prediction, validation) equals the one with a cache",
                               "B=3, the forward with the states left out equals the one given zeros"]
    fast = sl.lstm_gradcheck(params, x, engine="fast")
    assert [p.split(",")[0] for p in fast.paths] == ["B=3"] * 4 + ["B=1"] * 4 + ["B=3"] * 3 and fast.passed
    one_column = sl.lstm_gradcheck(params, x[:, :1], engine="fast")
    assert len(one_column.paths) == 7 and "not checked: the kernel at a batch > 1" in str(one_column)
    gru = sl.init_gru_params(3, 4, dtype="float64", seed=1)
    both = sl.gru_gradcheck(gru, x)
    variants = [p.split(",")[0] for p in both.paths]
    assert variants == ["reset_after=True"] * 3 + ["reset_after=False"] * 3 + ["reset_after=True", "reset_after=False"] \
        + ["reset_after=True"] * 2 + ["reset_after=False"] * 2 and both.passed
    assert "reset_after=True, B=3, every step's output only (no gradient on the final state)" in both.paths
    before = sl.gru_gradcheck(gru, x, reset_after=False)
    assert {p.split(",")[0] for p in before.paths} == {"reset_after=False"} and len(before.paths) == 6 and before.passed
    from scratchlstm.errors import ConfigError

    with pytest.raises(ConfigError, match="reset_after is a setting of the GRU"):
        sl.rnn_gradcheck(sl.init_rnn_params(3, 4, dtype="float64"), x, reset_after=False)


@pytest.mark.parametrize("value, variants", [("true", ["True"]), ("false", ["False"]), ("both", ["True", "False"])])
def test_the_command_line_selects_the_gru_variant(value, variants, capsys):
    from scratchlstm.cli import main

    assert main(["gradcheck", "--cell", "gru", "--reset-after", value]) == 0
    out = capsys.readouterr().out
    assert sorted({v for v in ("True", "False") if f"reset_after={v}" in out}) == sorted(variants)
    assert main(["gradcheck", "--cell", "lstm", "--reset-after", "false"]) == 2


def test_a_correct_backward_stays_five_times_under_the_threshold():
    # docs/lstm.md states this margin: the LSTM on each engine, the GRU and the RNN (which have one: their reference
    # code), 4 seeds, B = 1, 2 and 4 (60 checks, 48 without Numba)
    import scratchlstm as sl
    from scratchlstm.gradcheck import cell_gradcheck
    from tests.helpers import HAS_NUMBA

    inits = {"lstm": sl.init_lstm_params, "gru": sl.init_gru_params, "rnn": sl.init_rnn_params}
    engines = {"lstm": ("reference", "fast", "compiled") if HAS_NUMBA else ("reference", "fast"), "gru": ("reference",),
               "rnn": ("reference",)}
    errors = []
    for cell, make in inits.items():
        for engine in engines[cell]:
            for seed in range(4):
                for B in (1, 2, 4):
                    x = np.random.default_rng(seed).normal(size=(5, B, 3))
                    report = cell_gradcheck(cell, make(3, 4, dtype="float64", seed=seed), x, engine=engine, seed=seed)
                    errors.append(report.max_rel_error)
    assert report.threshold == 1e-7 and len(errors) == (60 if HAS_NUMBA else 48)
    assert max(errors) < 2e-8


@pytest.mark.parametrize("setting, message", [
    (dict(max_entries=0), "max_entries must be a whole number, at least 1"),  # it passed with no entry checked
    (dict(max_entries=1.5), "max_entries must be a whole number, at least 1"),  # the layer check blamed the forward
    (dict(eps="1e-5"), "eps must be a positive step"),  # a bare ValueError from a format string
    (dict(threshold=True), "threshold must be above 0 and below 1"),
    (dict(threshold=2.5), "threshold must be above 0 and below 1"),  # it passed a backward with every sign flipped
    (dict(threshold=1.0), "threshold must be above 0 and below 1"),
    (dict(threshold=0.0), "threshold must be above 0 and below 1"),
    (dict(eps=0.0), "eps must be a positive step"),  # it blamed the forward for the checker's ZeroDivisionError
    (dict(eps=float("nan")), "eps must be a positive step"),
    (dict(floor=-1.0), "floor must be at least 0 and below 1"),
])
def test_settings_under_which_a_verdict_means_nothing_are_refused(setting, message):
    import scratchlstm as sl
    from scratchlstm.errors import ConfigError

    params, x = _lstm_problem()

    def negated(cache, dhs, dh_T, dc_T):
        grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
        return {k: -v for k, v in grads.items()}, -dx, -dh0, -dc0

    with pytest.raises(ConfigError, match=message):
        sl.lstm_gradcheck(params, x, backward=negated, **setting)
    with pytest.raises(ConfigError, match=message):
        sl.gradcheck(lambda v: float(np.sum(v["x"] ** 2)), {"x": np.ones(3)}, {"x": 2 * np.ones(3)}, **setting)


def _tripled(cache, dhs, dh_T, dc_T):
    import scratchlstm as sl
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
    return {k: 3 * v for k, v in grads.items()}, 3 * dx, 3 * dh0, 3 * dc0


def test_a_layer_check_refuses_a_misspelt_setting_and_a_state_of_another_length_before_any_path_runs():
    """A misspelt keyword (``tolerance`` for ``threshold``) and a state tuple too short were reported on every path as
    crashes of the forward under check ("the forward raised TypeError ..."), blaming the code the user was checking."""
    import scratchlstm as sl
    from scratchlstm.errors import ConfigError

    params, x = _lstm_problem()
    with pytest.raises(ConfigError, match=r"^unknown setting tolerance; the settings passed on to gradcheck are eps, threshold, floor, max_entries and fixed$"):
        sl.lstm_gradcheck(params, x, tolerance=1e-3)
    with pytest.raises(ConfigError, match=r"^the lstm's initial state is \(h0, c0\): pass 2 values \(an array or None each\), got 1$"):
        sl.cell_gradcheck("lstm", params, x, (None,))
    with pytest.raises(ConfigError, match=r"^the rnn's initial state is \(h0\): pass 1 value \(an array or None each\), got 2$"):
        sl.cell_gradcheck("rnn", sl.init_rnn_params(3, 4, dtype="float64"), x, (None, None))


def test_an_empty_batch_is_refused_not_passed_with_every_gradient_zero():
    """At B = 0 every gradient is exactly 0, and a backward three times too large passed ("24 checked, PASS")."""
    import scratchlstm as sl
    from scratchlstm.errors import ConfigError

    params, _ = _lstm_problem()
    with pytest.raises(ConfigError, match=r"^x holds no sequences \(batch 0, shape \(T, 0, D\)\): there is nothing to check"):
        sl.lstm_gradcheck(params, np.zeros((4, 0, 3)), backward=_tripled)
    assert not sl.lstm_gradcheck(params, np.random.default_rng(0).normal(size=(4, 1, 3)), backward=_tripled).passed


@pytest.mark.parametrize("fixed, message", [
    ("W_x", r"^fixed must be a list of input names, got the string 'W_x'; write fixed=\['W_x'\]$"),  # it held x fixed too
    (["W"], r"^fixed names \['W'\], which are not among the inputs \['W_x', 'x'\]$"),
    (["W_x", "x"], r"^nothing to check: every input is in fixed"),
])
def test_fixed_is_a_list_of_the_inputs_names_and_leaves_something_to_check(fixed, message):
    """``fixed="W_x"`` was read letter by letter, so ``x`` was held fixed as well; its gradient, 999 times too large,
    went unchecked and the report said PASS over an empty table."""
    import scratchlstm as sl
    from scratchlstm.errors import ConfigError

    inputs = {"W_x": np.ones(3), "x": np.arange(3.0)}
    wrong = {"W_x": 2 * np.ones(3), "x": 999 * np.arange(3.0)}
    with pytest.raises(ConfigError, match=message):
        sl.gradcheck(lambda v: float(np.sum(v["W_x"] ** 2) + np.sum(v["x"] ** 3)), inputs, wrong, fixed=fixed)
    with pytest.raises(ConfigError, match=r"^time_major must be a list of input names, got the string 'x'"):
        sl.gradcheck(lambda v: float(np.sum(v["x"] ** 2)), {"x": np.ones(3)}, {"x": 2 * np.ones(3)}, time_major="x")
    with pytest.raises(ConfigError, match=r"^nothing to check: inputs is empty"):
        sl.gradcheck(lambda v: 0.0, {}, {})


def test_a_check_where_every_derivative_is_zero_is_refused_not_passed():
    """Where the loss does not move with any checked entry, any gradient of zeros passes: no verdict is given."""
    import scratchlstm as sl

    with pytest.raises(sl.GradcheckError, match=r"^every derivative compared is 0, numeric and analytic"):
        sl.gradcheck(lambda v: 0.0, {"a": np.ones(3)}, {"a": np.zeros(3)})
    report = sl.gradcheck(lambda v: 0.0, {"a": np.ones(3)}, {"a": np.ones(3)})  # a nonzero gradient still fails
    assert not report.passed


def test_the_summary_prints_the_threshold_as_given():
    import scratchlstm as sl

    params, x = _lstm_problem()
    assert "(threshold 1.4e-07, eps 1e-05)" in str(sl.lstm_gradcheck(params, x, threshold=1.4e-7))


def test_float32_precision_is_not_claimed_for_short_exact_numbers_and_is_found_with_two_entries():
    import scratchlstm as sl

    w = np.array([1.0, -2.0, 0.5, 3.0])  # the exact gradient of sum(w * x): float32 numbers, as in every precision
    assert sl.gradcheck(lambda v: float(np.sum(w * v["x"])), {"x": np.random.default_rng(0).random(4)}, {"x": w.copy()}).passed
    params = sl.init_lstm_params(2, 3, dtype="float64", seed=0)
    x = np.random.default_rng(0).standard_normal((4, 1, 2))  # B=1, H=3: dh0 and dc0 have three entries each

    def states_in_float32(cache, dhs, dh_T, dc_T):
        grads, dx, dh0, dc0 = sl.lstm_backward(cache, dhs, dh_T, dc_T)
        return grads, dx, dh0.astype(np.float32).astype(np.float64), dc0.astype(np.float32).astype(np.float64)

    report = sl.lstm_gradcheck(params, x, backward=states_in_float32)
    assert {c.name for c in report.failed()} == {"h0", "c0"}
    assert all(c.problem.startswith("float32 precision") for c in report.failed())


def test_a_failure_under_another_eps_names_the_step_as_a_cause():
    """--eps 1e-3 failed a right backward (error 2.3e-5) with nothing to say that the step, not the code, did it."""
    import scratchlstm as sl

    params, x = _lstm_problem()
    coarse = sl.lstm_gradcheck(params, x, eps=1e-3)
    assert not coarse.passed and "eps 0.001 is not the default 1e-05" in str(coarse) and "rerun with the default" in str(coarse)
    assert not any("is not the default" in n for n in sl.lstm_gradcheck(params, x).notes)  # the default passes, silent
    assert not any("is not the default" in n for n in sl.lstm_gradcheck(params, x, eps=2e-5).notes)  # passes: silent


@pytest.mark.parametrize("argument", ["dhs", "dh_T", "dc_T"])
def test_a_backward_that_edits_its_gradients_in_place_fails_and_says_so(argument):
    """The backward got the very arrays the check's loss used: doubling dhs in place made a gradient 2x too large
    PASS, and a right loop written dh = dhs[t]; dh += dh_next FAIL, blamed on gate g."""
    import scratchlstm as sl

    params, x = _lstm_problem()

    def doubling(cache, dhs, dh_T, dc_T):
        given = {"dhs": dhs, "dh_T": dh_T, "dc_T": dc_T}
        if given[argument] is not None:
            given[argument] *= 2
        return sl.lstm_backward(cache, given["dhs"], given["dh_T"], given["dc_T"])

    report = sl.lstm_gradcheck(params, x, backward=doubling)
    assert not report.passed
    problems = {c.problem for c in report.failed()}
    assert problems == {f"the backward changed its argument {argument} in place: a caller's gradient would change under it; "
                        "compute into new arrays (dh = dhs[t] + dh_next, not dh = dhs[t]; dh += dh_next)"}


def test_a_right_backward_that_edits_dhs_in_place_is_named_not_blamed_on_a_gate():
    import scratchlstm as sl

    params, x = _lstm_problem()

    def right_but_in_place(cache, dhs, dh_T, dc_T):
        out = sl.lstm_backward(cache, dhs, dh_T, dc_T)  # right gradients ...
        if dhs is not None:
            dhs += 0.0 * dhs + 1.0  # ... and the caller's dhs changed
        return out

    report = sl.lstm_gradcheck(params, x, backward=right_but_in_place)
    assert not report.passed and all("changed its argument dhs in place" in c.problem for c in report.failed())
    assert "by gate block" not in str(report)


def test_the_checked_line_names_the_file_that_ran(tmp_path):
    """An edited copy of the package, checked with the installed command, passed under a line that named no file."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import scratchlstm

    copy = tmp_path / "scratchlstm"
    shutil.copytree(Path(scratchlstm.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__", "*.csv"))
    run = subprocess.run([sys.executable, "-m", "scratchlstm", "gradcheck"], capture_output=True, text=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}, timeout=120)
    assert run.returncode == 0 and run.stdout.strip().splitlines()[-1] == f"checked: the reference LSTM, {copy / 'nn' / 'lstm.py'}"


def test_a_forward_that_returns_two_values_is_named_as_such():
    """It was reported as "the forward raised ValueError: not enough values to unpack ... in run (gradcheck.py)"."""
    import scratchlstm as sl

    params, x = _lstm_problem()

    def two_values(p, x, h0, c0):
        hs, _, cache = sl.lstm_forward(p, x, h0, c0)
        return hs, cache

    report = sl.lstm_gradcheck(params, x, forward=two_values, backward=sl.lstm_backward)
    assert {c.problem for c in report.failed()} == {"the forward returned 2 values; it must return (hs, final state, cache)"}


@pytest.mark.parametrize("where", ["x", "W_h", "h0"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_an_input_with_nan_or_inf_is_refused_rather_than_blamed_on_the_backward(case64, where, value):
    """Every gradient a NaN reaches is NaN: the report said FAIL for every array, which reads as a wrong backward."""
    import scratchlstm as sl
    from scratchlstm.gradcheck import GradcheckError

    host = sl.init_lstm_params(3, 4, dtype="float64", seed=0)
    arrays = {**host, "x": np.random.default_rng(0).standard_normal((4, 2, 3)), "h0": np.zeros((2, 4)) + 0.1}
    arrays[where] = arrays[where].copy()
    arrays[where].reshape(-1)[1] = value
    params = {k: case64.array(arrays[k]) for k in host}
    with pytest.raises(GradcheckError, match=f"'{where}' holds 1 NaN or infinite value: .* check at finite values"):
        sl.lstm_gradcheck(params, case64.array(arrays["x"]), case64.array(arrays["h0"]))
    with pytest.raises(GradcheckError, match=f"'{where}' holds 1 NaN"):  # the general check too
        sl.gradcheck(lambda v: 0.0, {where: case64.array(arrays[where])}, {})


def test_a_loss_that_is_nan_at_finite_inputs_is_refused_in_one_line_naming_where():
    """A log of a negative entry made every array FAIL, one row each with a RuntimeWarning, read as a wrong backward."""
    import warnings

    import scratchlstm as sl
    from scratchlstm.gradcheck import GradcheckError

    x = {"x": np.array([1.0, -2.0, 3.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own word on the log of -2
        with pytest.raises(GradcheckError, match=r"^loss_fn returns nan at the point given, every input finite"):
            sl.gradcheck(lambda v: float(np.sum(np.log(v["x"]))), x, {"x": 1 / x["x"]})
        # finite at the point, undefined 1e-5 below x[1]: sqrt(x + 2) at x = -2 + 5e-6
        near = {"x": np.array([1.0, -2.0 + 5e-6, 3.0])}
        with pytest.raises(GradcheckError, match=r"^loss_fn returns nan with x\[1\] moved by -1e-05, finite at the point itself"):
            sl.gradcheck(lambda v: float(np.sum(np.sqrt(v["x"] + 2))), near, {"x": 0.5 / np.sqrt(near["x"] + 2)})


def test_a_parameter_the_cell_does_not_have_is_refused_by_name():
    """It was reported as the backward's fault: 'the backward returned no gradient for extra'."""
    import scratchlstm as sl
    from scratchlstm.errors import ConfigError

    params = sl.init_lstm_params(3, 4, dtype="float64")
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    with pytest.raises(ConfigError, match="params has 'extra', which the lstm has no use for: its parameters are W_x, W_h, b"):
        sl.lstm_gradcheck({**params, "extra": np.zeros(3)}, x)
    with pytest.raises(ConfigError, match="params has 'b_h', which the rnn has no use for"):  # a GRU's, say
        sl.rnn_gradcheck({**sl.init_rnn_params(3, 4, dtype="float64"), "b_h": np.zeros(4)}, x)


def test_a_shape_refused_by_the_package_s_own_check_is_placed_at_the_line_that_called_it(monkeypatch):
    """The report named 'in check_shape (scratchlstm/nn/shapes.py)', the helper, not the line of the edited cell."""
    import scratchlstm as sl
    from scratchlstm.nn import lstm as lstm_module
    from tests.helpers import edited_function

    monkeypatch.setattr(lstm_module, "lstm_backward", edited_function(
        lstm_module, "lstm_backward", "dc_next = zeros_like_state(B, H, x) if dc_T is None else dc_T",
        "dc_next = zeros_like_state(B, H + 1, x) if dc_T is None else dc_T"))
    params, x = _lstm_problem(B=3)
    report = str(sl.lstm_gradcheck(params, x))
    assert re.search(r"the backward raised ValueError: dc must have shape .* at step t = \d+ in lstm_cell_backward "
                     r"\(scratchlstm/nn/lstm\.py:\d+\)", report), report
    assert "shapes.py" not in report


@pytest.mark.parametrize("threshold, verdict, note", [
    (1e-300, "FAIL", "threshold 1e-300 is below what a right float64 backward reaches"),  # failed a right backward, no word
    (0.5, "PASS", "threshold 0.5 passes errors of 0.001 and above, which a wrong term can give"),  # passed one 50% off
])
def test_a_threshold_far_from_the_default_says_what_its_verdict_is_worth(threshold, verdict, note):
    import scratchlstm as sl

    params, x = _lstm_problem(B=2)
    report = str(sl.lstm_gradcheck(params, x, threshold=threshold))
    assert f"{verdict}: max rel error" in report and note in report
    assert "threshold" not in str(sl.lstm_gradcheck(params, x)).split("\n")[-1]  # the default: no such note


def test_the_command_compares_at_most_max_entries_of_each_array(capsys):
    """Large sizes took 40 s with no way to shrink the check from the command line (the API had max_entries)."""
    from scratchlstm.cli import main

    assert main(["gradcheck", "--hidden-size", "12", "--max-entries", "3"]) == 0
    checked = [int(m[1]) for line in capsys.readouterr().out.splitlines()
               for m in [re.match(r"\s+(?:W_x|W_h|b|x|h0|c0)\s+\([\d, ]*\)\s+(\d+)\s", line)] if m]  # the 'checked' column
    assert len(checked) == 6 and set(checked) == {3}  # the first path's table (the others are shown when they fail)


def test_the_api_s_odd_arguments_are_refused_by_name():
    import scratchlstm as sl
    from scratchlstm.errors import ConfigError
    from scratchlstm.traces import gradient_flow

    params, x = _lstm_problem(B=2)
    for seed in (-1, 1.5, True):  # NumPy's own ValueError or TypeError
        with pytest.raises(ConfigError, match="seed must be a whole number >= 0"):
            sl.lstm_gradcheck(params, x, seed=seed)
    with pytest.raises(ConfigError, match="reset_after must be True, False or 'both', got 1"):  # (1 == True)
        sl.gru_gradcheck(sl.init_gru_params(3, 4, dtype="float64"), x, reset_after=1)
    with pytest.raises(ConfigError, match="unknown cell 'LSTM'; choose one of lstm, gru, rnn"):  # a bare KeyError
        gradient_flow("LSTM", params, x)
