"""The vanilla RNN and the GRU against torch.nn.RNN and torch.nn.GRU, and the converters both ways."""

import numpy as np
import pytest

from scratchlstm.backend import to_numpy
from tests.core.test_rnn_gru import CELLS, B, D, H, T, host_params
from tests.helpers import assert_same_kind, max_rel_diff


@pytest.mark.parametrize("kind", ["rnn", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_torch(case, kind, num_layers):
    torch = pytest.importorskip("torch")
    from scratchlstm.interop import gru_from_torch, rnn_from_torch

    forward, backward = CELLS[kind]
    tdtype = getattr(torch, case.dtype)
    torch.manual_seed(3)
    module = (torch.nn.RNN if kind == "rnn" else torch.nn.GRU)(D, H, num_layers=num_layers, dtype=tdtype)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(T, B, D)).astype(case.dtype)
    h0 = rng.normal(scale=0.5, size=(num_layers, B, H)).astype(case.dtype)
    dout = rng.normal(size=(T, B, H)).astype(case.dtype)
    dh_n = rng.normal(size=(num_layers, B, H)).astype(case.dtype)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    out, h_n = module(xt, h0t)
    ((out * torch.tensor(dout)).sum() + (h_n * torch.tensor(dh_n)).sum()).backward()

    layers = (rnn_from_torch if kind == "rnn" else gru_from_torch)(module, xp=case.xp, device=case.device)
    seq, caches, finals = case.array(x), [], []
    for l, params in enumerate(layers):  # stacking by hand: layer l's outputs are layer l+1's inputs
        seq, (h_T,), cache = forward(params, seq, case.array(h0[l]))
        caches.append(cache)
        finals.append(h_T)
    assert max_rel_diff(seq, out.detach().numpy()) < case.rtol
    for l in range(num_layers):
        assert max_rel_diff(finals[l], h_n[l].detach().numpy()) < case.rtol
    dseq = case.array(dout)
    for l in reversed(range(num_layers)):
        grads, dseq, dh0 = backward(caches[l], dseq, case.array(dh_n[l]))
        assert max_rel_diff(dh0, h0t.grad[l].numpy()) < case.rtol
        w_ih = getattr(module, f"weight_ih_l{l}").grad.numpy()
        w_hh = getattr(module, f"weight_hh_l{l}").grad.numpy()
        b_ih = getattr(module, f"bias_ih_l{l}").grad.numpy()
        b_hh = getattr(module, f"bias_hh_l{l}").grad.numpy()
        assert max_rel_diff(to_numpy(grads["W_x"]).T, w_ih) < case.rtol
        assert max_rel_diff(to_numpy(grads["W_h"]).T, w_hh) < case.rtol
        if kind == "rnn":
            assert max_rel_diff(grads["b"], b_ih) < case.rtol and max_rel_diff(grads["b"], b_hh) < case.rtol
        else:
            assert max_rel_diff(grads["b_x"], b_ih) < case.rtol and max_rel_diff(grads["b_h"], b_hh) < case.rtol
        for g in grads.values():
            assert_same_kind(g, case)
    assert max_rel_diff(dseq, xt.grad.numpy()) < case.rtol


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_round_trip_through_torch_is_exact(kind):
    torch = pytest.importorskip("torch")
    from scratchlstm import interop

    to_torch = getattr(interop, f"{kind}_to_torch")
    from_torch = getattr(interop, f"{kind}_from_torch")
    layers = [{k: v for k, v in host_params(kind, D, H, 0).items()}, {k: v for k, v in host_params(kind, H, H, 1).items()}]
    module = to_torch(layers)
    back = from_torch(module)
    for p, q in zip(layers, back):
        for name in p:
            assert np.array_equal(p[name], q[name]), name
    x = np.random.default_rng(0).normal(size=(T, B, D))
    forward = CELLS[kind][0]
    ours, _, _ = forward(layers[1], forward(layers[0], x)[0])
    with torch.no_grad():
        theirs, _ = module(torch.tensor(x))
    assert max_rel_diff(ours, theirs.numpy()) < 1e-12


def test_unsupported_modules_are_refused():
    torch = pytest.importorskip("torch")
    from scratchlstm.interop import gru_from_torch, rnn_from_torch

    with pytest.raises(ValueError, match="only tanh"):
        rnn_from_torch(torch.nn.RNN(2, 3, nonlinearity="relu"))
    with pytest.raises(TypeError, match="torch.nn.GRU"):
        gru_from_torch(torch.nn.LSTM(2, 3))


