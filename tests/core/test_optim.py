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
