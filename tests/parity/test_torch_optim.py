"""Optimizers and schedules against torch.optim, float64, several steps, 1e-12 relative."""

import numpy as np
import pytest

from scratchlstm import optim
from tests.helpers import max_rel_diff

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.1), {}),
    ("SGD", dict(lr=0.05, momentum=0.9), {}),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01), {}),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02), {}),
    ("RMSprop", dict(lr=0.01), {}),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, centered=True), {}),
    ("RMSprop", dict(lr=0.01, momentum=0.7, centered=True, weight_decay=0.05), {}),
    ("RMSprop", dict(lr=0.01, momentum=0.5), {}),
    ("Adam", dict(lr=0.01), {}),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1), {}),
    ("AdamW", dict(lr=0.02), {}),
    ("AdamW", dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.3), {}),
]


@pytest.mark.parametrize("name, kwargs, _", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_optim(name, kwargs, _):
    rng = np.random.default_rng(0)
    shapes = {"W": (3, 4), "b": (4,)}
    params = {k: rng.normal(size=s) for k, s in shapes.items()}
    grads_per_step = [{k: rng.normal(size=s) for k, s in shapes.items()} for _ in range(7)]

    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    topt = getattr(torch.optim, name)(list(tparams.values()), **kwargs)
    opt = getattr(optim, name)(**kwargs)
    ours = {k: v.copy() for k, v in params.items()}
    for grads in grads_per_step:
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k])
        topt.step()
        opt.step(ours, grads)
        for k in shapes:
            assert max_rel_diff(ours[k], tparams[k].detach().numpy()) < 1e-12, (k, opt.t)


@pytest.mark.parametrize(
    "make_scheduler, ours, steps",
    [
        (lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5), lambda step: optim.step_lr(step, 0.5, 3, 0.5), 10),
        (lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01), lambda step: optim.cosine_lr(step, 0.5, 8, 0.01), 9),
    ],
    ids=["step", "cosine"],
)
def test_schedules_match_torch(make_scheduler, ours, steps):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    sched = make_scheduler(opt)
    for step in range(steps):
        assert ours(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()




def test_sgd_default_learning_rate_is_torchs():
    import inspect

    assert optim.SGD().lr == inspect.signature(torch.optim.SGD).parameters["lr"].default


@pytest.mark.parametrize("kwargs", [dict(momentum=0.9), dict(momentum=0.8, nesterov=True)], ids=["momentum", "nesterov"])
def test_sgd_momentum_with_a_reused_gradient_buffer_matches_torch(kwargs):
    """One gradient array accumulated into, stepped with and zeroed every step (torch's ``zero_grad(set_to_none=False)``):
    the momentum buffer was that array itself, so zeroing it wiped the optimizer's state."""
    g, ours = np.zeros(3), {"w": np.zeros(3)}
    opt = optim.SGD(lr=0.1, **kwargs)
    tp = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    tp.grad = torch.zeros(3, dtype=torch.float64)
    topt = torch.optim.SGD([tp], lr=0.1, **kwargs)
    for value in (1.0, 2.0, 3.0, -1.5):
        g += value
        tp.grad += value
        opt.step(ours, {"w": g})
        topt.step()
        g[:] = 0.0
        topt.zero_grad(set_to_none=False)
        assert max_rel_diff(ours["w"], tp.detach().numpy()) < 1e-12, opt.t
    assert opt.state["w"]["buf"] is not g


def test_the_cosine_schedules_help_says_what_torchs_cosine_annealing_does():
    """``TrainConfig(schedule="cosine")`` follows ``CosineAnnealingLR(T_max=epochs)``: the last epoch still trains at a
    rate above 0, which torch reaches one epoch later; the help said "to 0 at the last epoch"."""
    import dataclasses

    from scratchlstm.nn.model import Model, ModelConfig
    from scratchlstm.train import TrainConfig, train

    epochs = 4
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    torch_lrs = []
    for _ in range(epochs + 1):
        torch_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    X, y = np.zeros((4, 3, 1), np.float32), np.zeros((4, 1), np.float32)
    history = train(Model.create(ModelConfig(hidden_sizes=(2,))), X, y,
                    config=TrainConfig(epochs=epochs, lr=0.1, schedule="cosine", patience=None, quiet=True))
    assert history.lr == pytest.approx(torch_lrs[:epochs], rel=1e-12) and history.lr[-1] > 0
    assert torch_lrs[epochs] == pytest.approx(0.0, abs=1e-15)
    help_text = {f.name: f.metadata["help"] for f in dataclasses.fields(TrainConfig)}["schedule"]
    assert "to 0 at the last epoch" not in help_text and "one epoch after the last" in help_text


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "RMSprop"])
def test_a_parameter_that_misses_steps_moves_as_torchs_does(name):
    """One step count for every parameter bias-corrected a parameter unfrozen after five steps as if it had taken six:
    Adam moved it -0.0522 where torch moves it -0.1000. torch skips a parameter without a gradient and counts steps per
    parameter; a gradient left out of ``grads`` is the same here."""
    rng = np.random.default_rng(5)
    params = {"a": rng.normal(size=(3,)), "b": rng.normal(size=(2, 2))}
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    topt = getattr(torch.optim, name)(list(tparams.values()), lr=0.1)
    opt = getattr(optim, name)(lr=0.1)
    ours = {k: v.copy() for k, v in params.items()}
    for step in range(8):
        names = ["a"] if step < 5 else ["a", "b"]  # b frozen for five steps, then trained
        grads = {k: rng.normal(size=params[k].shape) for k in names}
        for k, t in tparams.items():
            t.grad = torch.tensor(grads[k]) if k in grads else None
        topt.step()
        opt.step(ours, grads)
        for k in params:
            assert max_rel_diff(ours[k], tparams[k].detach().numpy()) < 1e-12, (k, step)
