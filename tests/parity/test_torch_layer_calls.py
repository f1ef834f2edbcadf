"""The ``LSTM`` class and the torch converters at their boundary: a missing state, one layer's dict for a list."""

import numpy as np
import pytest

from scratchlstm import LSTM, init_lstm_params
from scratchlstm.errors import ConfigError
from scratchlstm.interop import lstm_from_torch, lstm_to_torch

from tests.helpers import max_rel_diff

torch = pytest.importorskip("torch")

T, B, D, H, L = 5, 3, 2, 4, 2


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("missing", [0, 1], ids=["h0-none", "c0-none"])
def test_a_none_state_entry_is_zeros_as_torch_with_zeros(missing, engine):
    """``(h_0, None)`` ran into ``None[l]``; it is the zero state, as ``lstm_forward(c0=None)`` takes it."""
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H, num_layers=L, dtype=torch.float64)
    rng = np.random.default_rng(1)
    x, given = rng.normal(size=(T, B, D)), rng.normal(scale=0.5, size=(L, B, H))
    dout, dh_n, dc_n = rng.normal(size=(T, B, H)), rng.normal(size=(L, B, H)), rng.normal(size=(L, B, H))
    x_t = torch.tensor(x, requires_grad=True)
    states_t = [torch.tensor(given, requires_grad=True), torch.zeros(L, B, H, dtype=torch.float64, requires_grad=True)]
    if missing == 0:
        states_t.reverse()
    out_t, (h_t, c_t) = module(x_t, tuple(states_t))
    ((out_t * torch.tensor(dout)).sum() + (h_t * torch.tensor(dh_n)).sum() + (c_t * torch.tensor(dc_n)).sum()).backward()

    lstm = LSTM.from_layers(lstm_from_torch(module), engine=engine)
    state = [given, given]
    state[missing] = None
    out, (h_n, c_n) = lstm(x, tuple(state))
    dx, dstate_0 = lstm.backward(dout, (dh_n, dc_n))
    for ours, theirs, name in [(out, out_t, "out"), (h_n, h_t, "h_n"), (c_n, c_t, "c_n"), (dx, x_t.grad, "dx"),
                               (dstate_0[0], states_t[0].grad, "dh_0"), (dstate_0[1], states_t[1].grad, "dc_0")]:
        assert max_rel_diff(ours, theirs.detach().numpy()) < 1e-10, name


@pytest.mark.parametrize("call", [lstm_to_torch, LSTM.from_layers], ids=["lstm_to_torch", "LSTM.from_layers"])
def test_one_layers_dict_for_the_list_of_layers_is_named(call):
    """``lstm_from_torch`` returns a list, so a dict is an easy slip: it was told keys were missing that it has."""
    p = init_lstm_params(D, H)
    with pytest.raises(ConfigError, match=r"one layer's dict \(keys W_x, W_h, b\); pass \[params\]"):
        call(p)
    assert call([p]) is not None  # the list of that one layer is what was meant
