"""torch.nn.LSTM is the gold reference: outputs and every gradient must agree.

float64 within 1e-10 relative, float32 within 1e-5, for 1 and 2 layers and both ``batch_first``.
"""

import numpy as np
import pytest

from scratchlstm import LSTM
from scratchlstm.backend import to_numpy
from scratchlstm.interop import lstm_from_torch, lstm_to_torch

from tests.helpers import ENGINES, max_rel_diff

torch = pytest.importorskip("torch")

T, B, D, H = 7, 4, 3, 5


def _run_torch(module, x, h0, c0, dout, dh_n, dc_n):
    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0, requires_grad=True)
    c0_t = torch.tensor(c0, requires_grad=True)
    out, (h_n, c_n) = module(x_t, (h0_t, c0_t))
    loss = (out * torch.tensor(dout)).sum() + (h_n * torch.tensor(dh_n)).sum() + (c_n * torch.tensor(dc_n)).sum()
    loss.backward()
    return out, h_n, c_n, x_t.grad, h0_t.grad, c0_t.grad


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_torch_lstm(case, num_layers, batch_first, engine):
    dtype, rtol = case.dtype, case.rtol  # float64: 1e-10, float32: 1e-5
    torch_dtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    torch.manual_seed(num_layers + 10 * batch_first)
    module = torch.nn.LSTM(D, H, num_layers=num_layers, batch_first=batch_first, dtype=torch_dtype)
    rng = np.random.default_rng(7)
    xshape = (B, T, D) if batch_first else (T, B, D)
    oshape = (B, T, H) if batch_first else (T, B, H)
    x = rng.normal(size=xshape).astype(dtype)
    h0 = rng.normal(scale=0.5, size=(num_layers, B, H)).astype(dtype)
    c0 = rng.normal(scale=0.5, size=(num_layers, B, H)).astype(dtype)
    dout = rng.normal(size=oshape).astype(dtype)
    dh_n = rng.normal(size=(num_layers, B, H)).astype(dtype)
    dc_n = rng.normal(size=(num_layers, B, H)).astype(dtype)
    ref = _run_torch(module, x, h0, c0, dout, dh_n, dc_n)

    layers = lstm_from_torch(module, xp=case.xp, device=case.device)
    lstm = LSTM.from_layers(layers, batch_first=batch_first, engine=engine)
    out, (h_n, c_n) = lstm(case.array(x), (case.array(h0), case.array(c0)))
    dx, (dh0, dc0) = lstm.backward(case.array(dout), (case.array(dh_n), case.array(dc_n)))

    for ours, theirs, name in zip((out, h_n, c_n, dx, dh0, dc0), ref, ("out", "h_n", "c_n", "dx", "dh0", "dc0")):
        assert max_rel_diff(ours, theirs.detach().numpy()) < rtol, name
    for k in range(num_layers):
        g = lstm.grads[k]
        w_ih = getattr(module, f"weight_ih_l{k}").grad.numpy()
        w_hh = getattr(module, f"weight_hh_l{k}").grad.numpy()
        b_ih = getattr(module, f"bias_ih_l{k}").grad.numpy()
        b_hh = getattr(module, f"bias_hh_l{k}").grad.numpy()
        assert max_rel_diff(to_numpy(g["W_x"]).T, w_ih) < rtol, f"W_x layer {k}"
        assert max_rel_diff(to_numpy(g["W_h"]).T, w_hh) < rtol, f"W_h layer {k}"
        # b enters as b_ih + b_hh, so both torch biases have the same gradient as b
        assert max_rel_diff(g["b"], b_ih) < rtol and max_rel_diff(g["b"], b_hh) < rtol, f"b layer {k}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_through_torch_is_exact(dtype):
    torch_dtype = getattr(torch, dtype)
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H, num_layers=3, dtype=torch_dtype)
    layers = lstm_from_torch(module)
    back = lstm_to_torch(layers)
    x = torch.randn(T, B, D, dtype=torch_dtype)
    with torch.no_grad():
        a, (ha, ca) = module(x)
        b, (hb, cb) = back(x)
    # the bias is moved from (b_ih, b_hh) to (b_ih + b_hh, 0): one rounding at most
    tol = 0 if dtype == "float64" else 1e-6
    assert max_rel_diff(a.numpy(), b.numpy()) <= tol + 1e-15
    again = lstm_from_torch(back)
    for p, q in zip(layers, again):
        for name in p:
            assert np.array_equal(p[name], q[name]), name
            assert p[name].dtype == np.dtype(dtype)


def test_unsupported_torch_modules_are_refused():
    with pytest.raises(ValueError, match="bidirectional"):
        lstm_from_torch(torch.nn.LSTM(2, 3, bidirectional=True))
    with pytest.raises(TypeError, match="torch.nn.LSTM"):
        lstm_from_torch(torch.nn.GRU(2, 3))


def test_unequal_hidden_sizes_cannot_be_exported():
    from scratchlstm import init_lstm_params

    layers = [init_lstm_params(2, 4, dtype="float64"), init_lstm_params(4, 6, dtype="float64")]
    with pytest.raises(ValueError, match="equal hidden sizes"):
        lstm_to_torch(layers)


@pytest.mark.parametrize("batch_first", [False, True])
def test_the_converted_layers_read_the_modules_own_layout(batch_first):
    """``LSTM.from_layers(lstm_from_torch(m))`` read a batch-first module's (B, T, D) input as (T, B, D): outputs 0.33
    off, with no error."""
    torch.manual_seed(3)
    module = torch.nn.LSTM(D, H, batch_first=batch_first, dtype=torch.float64)
    x = np.random.default_rng(4).standard_normal((B, T, D) if batch_first else (T, B, D))
    with torch.no_grad():
        expected = module(torch.tensor(x))[0].numpy()
    out, _ = LSTM.from_layers(lstm_from_torch(module))(x)
    assert max_rel_diff(out, expected) < 1e-12
    other = np.swapaxes(x, 0, 1)  # an explicit batch_first still rules
    out, _ = LSTM.from_layers(lstm_from_torch(module), batch_first=not batch_first)(other)
    assert max_rel_diff(np.swapaxes(out, 0, 1), expected) < 1e-12


def test_a_flag_given_as_text_is_refused_not_read_as_true():
    """``reset_after="false"`` ran the reset-after GRU, and ``batch_first="false"`` a batch-first layer: a non-empty
    string is true."""
    from scratchlstm.errors import ConfigError
    from scratchlstm.nn.gru import gru_forward
    from scratchlstm.nn.init import init_gru_params

    with pytest.raises(ConfigError, match="reset_after must be True or False, got 'false'"):
        gru_forward(init_gru_params(D, H, dtype="float64"), np.zeros((T, B, D)), reset_after="false")
    with pytest.raises(ConfigError, match="batch_first must be True or False, got 'false'"):
        LSTM(D, H, batch_first="false")
