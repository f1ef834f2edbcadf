"""The gradient checker itself, on functions whose gradients are known in closed form."""

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
