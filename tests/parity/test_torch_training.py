"""Clipping and a clipped training trajectory against PyTorch: the same numbers, step after step."""

import math

import numpy as np
import pytest

from scratchlstm import clip_grad_norm, clip_grad_value
from scratchlstm.interop import lstm_from_torch
from scratchlstm.losses import mse
from scratchlstm.nn.model import Model, ModelConfig, model_backward, model_forward
from scratchlstm.optim import Adam

torch = pytest.importorskip("torch")


def _grads(seed, scale, dtype):
    rng = np.random.default_rng(seed)
    return {"a": (scale * rng.normal(size=(3, 8))).astype(dtype), "b": (scale * rng.normal(size=8)).astype(dtype),
            "c": (scale * rng.normal(size=(2, 2, 2))).astype(dtype)}


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-6)])
@pytest.mark.parametrize("scale", [1e-3, 0.1, 10.0, 1e4])
@pytest.mark.parametrize("max_norm", [0.5, 1.0, 25.0])
def test_clip_grad_norm_matches_torch(dtype, rtol, scale, max_norm):
    grads = _grads(int(scale * 10) % 7, scale, dtype)
    tensors = {k: torch.zeros(v.shape, dtype=getattr(torch, dtype), requires_grad=True) for k, v in grads.items()}
    for k, t in tensors.items():
        t.grad = torch.tensor(grads[k])
    torch_norm = float(torch.nn.utils.clip_grad_norm_(list(tensors.values()), max_norm))
    clipped, norm = clip_grad_norm(grads, max_norm)
    assert norm == pytest.approx(torch_norm, rel=rtol)
    for k in grads:
        np.testing.assert_allclose(clipped[k], tensors[k].grad.numpy(), rtol=rtol, atol=0)
        assert clipped[k].dtype == np.dtype(dtype)


@pytest.mark.parametrize("clip, torch_clip, limit", [(clip_grad_norm, "clip_grad_norm_", 1.0), (clip_grad_value, "clip_grad_value_", 0.5)],
                         ids=["norm", "value"])
def test_a_list_of_arrays_is_clipped_as_torch_clips_a_list_of_tensors(clip, torch_clip, limit):
    """torch's convention, a plain list of gradients, works here too (it raised "'numpy.float64' object is not iterable")."""
    grads = list(_grads(3, 2.0, "float64").values())
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g)
    torch_norm = float(torch.nn.utils.clip_grad_norm_(tensors, math.inf))  # the norm before clipping, nothing changed
    getattr(torch.nn.utils, torch_clip)(tensors, limit)
    clipped, norm = clip(grads, limit)
    assert isinstance(clipped, list) and len(clipped) == len(grads)
    assert norm == pytest.approx(torch_norm, rel=1e-12)
    for ours, t in zip(clipped, tensors):
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-12, atol=0)


def test_a_norm_just_below_max_norm_is_scaled_as_torch_scales_it():
    # torch scales by max_norm / (norm + 1e-6) whenever that is below 1, so also just under max_norm
    g = {"a": np.array([0.9999995])}
    t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g["a"])
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    clipped, _ = clip_grad_norm(g, 1.0)
    assert clipped["a"][0] == t.grad.item() and clipped["a"][0] < g["a"][0]


def test_the_one_documented_difference_non_finite_norms():
    g = {"a": np.array([1.0, np.nan])}
    clipped, norm = clip_grad_norm(g, 1.0)
    assert math.isnan(norm) and clipped["a"][0] == 1.0  # unchanged: the trainer stops and says where
    t = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g["a"])
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    assert math.isnan(t.grad[0].item())  # torch scales every entry by NaN


def test_fifty_clipped_adam_steps_follow_torchs_trajectory():
    """An LSTM + linear head trained for 50 steps with clipping at 1, in float64, step by step as torch does.

    torch's LSTM has two biases that both receive the gradient of their sum; here there is one. To
    compare trajectories, torch's ``bias_hh`` is frozen at zero, so its ``bias_ih`` is this package's ``b``.
    """
    torch.manual_seed(0)
    D, H, T, B = 2, 6, 7, 5
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(H, 1, dtype=torch.float64)
    with torch.no_grad():
        lstm.bias_hh_l0.zero_()
    lstm.bias_hh_l0.requires_grad_(False)
    trained = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, head.weight, head.bias]
    opt = torch.optim.Adam(trained, lr=0.05)

    model = Model(ModelConfig(input_size=D, hidden_sizes=(H,), init="pytorch"), lstm_from_torch(lstm),
                  {"W": head.weight.detach().numpy().T.copy(), "c": head.bias.detach().numpy().copy()})
    ours = Adam(lr=0.05)
    rng = np.random.default_rng(1)
    clipped_steps = 0
    for step in range(50):
        x, target = rng.normal(size=(B, T, D)), 3 * rng.normal(size=(B, 1))  # large targets: clipping acts
        opt.zero_grad()
        out, _ = lstm(torch.tensor(x))
        loss = torch.nn.functional.mse_loss(head(out[:, -1, :]), torch.tensor(target))
        loss.backward()
        torch_norm = float(torch.nn.utils.clip_grad_norm_(trained, 1.0))
        opt.step()

        y, _, cache = model_forward(model, x)
        value, dy = mse(y, target)
        grads, _, _ = model_backward(cache, dy)
        grads, norm = clip_grad_norm(grads, 1.0)
        params = model.named_params()
        ours.step(params, grads)
        model.load_named_params(params)
        assert value == pytest.approx(loss.item(), rel=1e-10) and norm == pytest.approx(torch_norm, rel=1e-10)
        clipped_steps += norm > 1.0
    assert clipped_steps > 10
    p = model.named_params()
    for name, theirs in (("lstm0.W_x", lstm.weight_ih_l0.T), ("lstm0.W_h", lstm.weight_hh_l0.T), ("lstm0.b", lstm.bias_ih_l0),
                         ("head.W", head.weight.T), ("head.c", head.bias)):
        np.testing.assert_allclose(p[name], theirs.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
