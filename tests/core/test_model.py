"""The whole model (stack + dropout with a fixed mask + head + loss) against finite differences."""

import numpy as np
import pytest

from scratchlstm import gradcheck
from scratchlstm.errors import ConfigError
from scratchlstm.losses import huber, mse
from scratchlstm.nn.model import Model, ModelConfig, draw_dropout_masks, init_model_params, model_backward, model_forward

from tests.helpers import assert_same_kind, max_rel_diff


@pytest.mark.parametrize("head", ["last", "all"])
@pytest.mark.parametrize("loss", [mse, huber])
def test_whole_model_gradients_pass_gradcheck(head, loss):
    config = ModelConfig(input_size=3, hidden_sizes=(5, 4), output_size=2, dropout=0.3, head=head)
    params = init_model_params(config, seed=1, dtype="float64")
    rng = np.random.default_rng(2)
    B, T = 4, 6
    params = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in params.items()}  # non-zero biases
    x = rng.normal(size=(B, T, 3))
    target = rng.normal(size=(B, 2) if head == "last" else (B, T, 2))
    masks = draw_dropout_masks(config, T, B, np.random.default_rng(9), x)
    assert any(np.any(m == 0) for m in masks)

    def loss_fn(values):
        p = {k: values[k] for k in params}
        y, _, _ = model_forward(p, config, values["x"], masks)
        return loss(y, target)[0]

    y, _, cache = model_forward(params, config, x, masks)
    _, dy = loss(y, target)
    grads, dx = model_backward(cache, dy)
    assert set(grads) == set(params)
    report = gradcheck(loss_fn, {**params, "x": x}, {**grads, "x": dx})
    assert report.passed, str(report)


def test_dropout_is_off_at_evaluation_and_keeps_expectation():
    config = ModelConfig(input_size=2, hidden_sizes=(6,), dropout=0.5)
    model = Model.create(config, seed=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    y1 = model.predict(x)
    y2, _, _ = model_forward(model.params, config, x, None)
    assert np.array_equal(y1, y2)
    masks = draw_dropout_masks(config, 400, 50, np.random.default_rng(1), x)
    assert set(np.unique(masks[0])) == {0.0, 2.0}
    assert abs(masks[0].mean() - 1.0) < 0.02


def test_model_on_every_backend(case):
    config = ModelConfig(input_size=2, hidden_sizes=(4, 3), output_size=1, dropout=0.2)
    ref = Model.create(config, seed=5, dtype="float64")
    model = Model.create(config, seed=5, xp=case.xp, dtype=case.dtype, device=case.device)
    x = np.random.default_rng(0).normal(size=(3, 5, 2))
    xc = case.array(x)
    masks_ref = draw_dropout_masks(config, 5, 3, np.random.default_rng(3), x)
    masks = draw_dropout_masks(config, 5, 3, np.random.default_rng(3), xc)
    y_ref, _, cache_ref = model_forward(ref.params, config, x, masks_ref)
    y, _, cache = model_forward(model.params, config, xc, masks)
    assert max_rel_diff(y, y_ref) < case.rtol
    g_ref, _ = model_backward(cache_ref, np.ones_like(y_ref))
    g, dx = model_backward(cache, case.array(np.ones((3, 1))))
    for k in g_ref:
        assert max_rel_diff(g[k], g_ref[k]) < case.rtol * 10, k
        assert_same_kind(g[k], case)
    assert_same_kind(dx, case)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(hidden_sizes=(0,)), "hidden sizes must be positive"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
        (dict(dropout=-0.1), r"dropout must be in \[0, 1\)"),
        (dict(head="first"), "choose one of last, all"),
    ],
)
def test_bad_model_configs_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**kwargs)
