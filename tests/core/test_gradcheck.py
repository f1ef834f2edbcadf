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


def test_subsampling_and_partial_grads():
    p = _point()
    report = gradcheck(_loss, p, {"w": np.sin(p["u"]) + p["w"]}, max_entries=5)
    assert [c.name for c in report.checks] == ["w"] and report.checks[0].checked == 5
    assert report.passed


def test_float32_and_unknown_keys_are_refused():
    p = _point()
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(_loss, {k: v.astype(np.float32) for k, v in p.items()}, {})
    with pytest.raises(KeyError, match="not among the inputs"):
        gradcheck(_loss, p, {"v": p["u"]})
