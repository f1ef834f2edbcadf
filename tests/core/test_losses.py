"""Losses: gradients against finite differences, shapes checked."""

import numpy as np
import pytest

from scratchlstm import gradcheck
from scratchlstm.losses import huber, mae, mse



def _data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) * 1.5


@pytest.mark.parametrize("fn", [mse, mae, huber])
def test_gradient_matches_finite_differences(fn):
    pred, target = _data()
    _, grad = fn(pred, target)
    report = gradcheck(lambda v: fn(v["pred"], target)[0], {"pred": pred}, {"pred": grad})
    assert report.passed, str(report)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="shapes differ"):
        mse(np.zeros((3, 1)), np.zeros(3))
