"""Optimizers without a reference library: dtypes kept, state carried through a checkpoint, bad settings refused."""

import numpy as np
import pytest

from scratchlstm import optim


def test_float32_parameters_stay_float32():
    p = {"w": np.ones(3, dtype=np.float32)}
    for cls in (optim.SGD, optim.RMSprop, optim.Adam, optim.AdamW):
        q = dict(p)
        cls(lr=0.1).step(q, {"w": np.full(3, 0.5, dtype=np.float32)})
        assert q["w"].dtype == np.float32


def test_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(1)
    p = {"w": rng.normal(size=5)}
    gs = [{"w": rng.normal(size=5)} for _ in range(6)]
    a = optim.Adam(lr=0.1)
    pa = dict(p)
    for g in gs:
        a.step(pa, g)
    b = optim.Adam(lr=0.1)
    pb = dict(p)
    for g in gs[:3]:
        b.step(pb, g)
    meta, arrays = b.state_dict()
    c = optim.Adam(lr=0.1)
    c.load_state_dict(meta, arrays, pb)
    for g in gs[3:]:
        c.step(pb, g)
    assert np.array_equal(pa["w"], pb["w"])


def test_bad_hyperparameters_are_refused():
    from scratchlstm.errors import ConfigError

    with pytest.raises(ConfigError, match="learning rate must be positive"):
        optim.Adam(lr=0.0)
    with pytest.raises(ConfigError, match="choose one of sgd, rmsprop, adam, adamw"):
        optim.make_optimizer("adagrad", 0.1)
    with pytest.raises(ConfigError, match="Nesterov"):
        optim.SGD(lr=0.1, nesterov=True)


def test_a_gradient_or_a_state_that_does_not_fit_its_parameter_is_refused_before_any_change():
    """NumPy broadcast a (3, 4) gradient into a (4,) float32 parameter, making it (3, 4) float64; one optimizer reused
    for a second model used the first one's moments; a loaded state of another shape replaced the parameter's."""
    from scratchlstm.errors import ConfigError

    params = {"w": np.ones((3, 8)), "b": np.zeros(4, np.float32)}
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ConfigError, match=r"the gradient of b is \(3, 4\) float64, its parameter \(4,\) float32: they must match"):
        optim.SGD(lr=0.1).step(params, {"w": np.ones((3, 8)), "b": np.ones((3, 4))})
    with pytest.raises(ConfigError, match=r"the gradient of b is \(4,\) float64, its parameter \(4,\) float32"):
        optim.SGD(lr=0.1).step(params, {"b": np.ones(4)})
    with pytest.raises(ConfigError, match=r"a gradient for 'c', which is not among the parameters \(w, b\)"):
        optim.SGD(lr=0.1).step(params, {"c": np.ones(4)})
    assert all(np.array_equal(params[k], before[k]) and params[k].dtype == before[k].dtype for k in params)  # nothing moved
    opt = optim.Adam(lr=0.1)
    opt.step({"w": np.ones((1, 8))}, {"w": np.ones((1, 8))})
    with pytest.raises(ConfigError, match=r"this optimizer's exp_avg for w is \(1, 8\), the parameter \(3, 8\): it stepped another "
                                          r"model's parameters; make one optimizer per model"):
        opt.step(params, {"w": np.ones((3, 8))})
    meta, arrays = opt.state_dict()
    with pytest.raises(ConfigError, match=r"the optimizer state's exp_avg for w is \(1, 8\), the parameter \(3, 8\): it is another model's"):
        optim.Adam(lr=0.1).load_state_dict(meta, arrays, params)
    with pytest.raises(ConfigError, match=r"the optimizer state's exp_avg for w has no parameter"):
        optim.Adam(lr=0.1).load_state_dict(meta, arrays, {"b": params["b"]})


@pytest.mark.parametrize("make, message", [
    (lambda: optim.SGD(lr=0.1, momentum=-0.5), "momentum must be at least 0 and finite, got -0.5"),
    (lambda: optim.SGD(lr=0.1, weight_decay=-1e-3), "weight_decay must be at least 0"),
    (lambda: optim.Adam(lr=0.1, eps=-1e-8), "eps must be at least 0"),
    (lambda: optim.Adam(lr=float("inf")), "the learning rate must be positive and finite, got inf"),
    (lambda: optim.Adam(lr=True), "the learning rate must be a number, got True"),
    (lambda: optim.Adam(lr="0.1"), "the learning rate must be a number, got '0.1'"),
    (lambda: optim.RMSprop(lr=0.1, alpha=1.5), r"alpha must be in \[0, 1\) and finite, got 1.5"),
])
def test_hyperparameters_torch_refuses_are_refused(make, message):
    """Each ran: RMSprop's alpha of 1.5 made the parameters NaN at the first step, without a word."""
    from scratchlstm.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        make()


def test_a_state_saved_before_per_parameter_counts_resumes_as_it_was():
    """Checkpoints written before the counts were kept per parameter have only ``t``: every parameter had taken it."""
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(2, 3))}
    grads = [{"w": rng.normal(size=(2, 3))} for _ in range(5)]
    whole, first = dict(params), dict(params)
    a = optim.Adam(lr=0.1)
    for g in grads:
        a.step(whole, g)
    b = optim.Adam(lr=0.1)
    for g in grads[:3]:
        b.step(first, g)
    meta, arrays = b.state_dict()
    del meta["steps"]
    c = optim.Adam(lr=0.1)
    c.load_state_dict(meta, arrays, first)
    for g in grads[3:]:
        c.step(first, g)
    assert np.array_equal(whole["w"], first["w"])
