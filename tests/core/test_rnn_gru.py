"""The vanilla RNN and the GRU: finite differences, PyTorch parity, converters, same contract."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.backend import to_numpy
from scratchlstm.nn.gru import gru_backward, gru_forward
from scratchlstm.nn.rnn import rnn_backward, rnn_forward

from tests.helpers import assert_same_kind, max_rel_diff

T, B, D, H = 6, 3, 4, 5


def host_params(kind, D, H, seed):
    rng = np.random.default_rng(seed)
    if kind == "rnn":
        return {"W_x": rng.normal(0, 0.5, (D, H)), "W_h": rng.normal(0, 0.5, (H, H)), "b": rng.normal(0, 0.5, H)}
    return {"W_x": rng.normal(0, 0.5, (D, 3 * H)), "W_h": rng.normal(0, 0.5, (H, 3 * H)),
            "b_x": rng.normal(0, 0.5, 3 * H), "b_h": rng.normal(0, 0.5, 3 * H)}


CELLS = {"rnn": (rnn_forward, rnn_backward), "gru": (gru_forward, gru_backward)}


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_gradients_match_finite_differences(case64, kind):
    forward, backward = CELLS[kind]
    rng = np.random.default_rng(1)
    params = case64.params(host_params(kind, D, H, 0))
    x = case64.array(rng.normal(size=(T, B, D)))
    report = sl.cell_gradcheck(kind, params, x)
    assert {c.name for c in report.checks} == set(params) | {"x", "h0"}
    assert report.passed and report.max_rel_error < 1e-7, str(report)


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


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_two_chunks_with_carried_state_equal_one_long_run(kind):
    forward, backward = CELLS[kind]
    params = host_params(kind, D, H, 2)
    rng = np.random.default_rng(5)
    x, dhs = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, H))
    hs, (h_T,), cache = forward(params, x)
    grads, dx, dh0 = backward(cache, dhs)
    hs1, (h1,), c1 = forward(params, x[:2])
    hs2, (h2,), c2 = forward(params, x[2:], h1)
    assert max_rel_diff(np.concatenate([hs1, hs2]), hs) < 1e-13
    g2, dx2, dh1 = backward(c2, dhs[2:])
    g1, dx1, dh0_ = backward(c1, dhs[:2], dh1)
    for name in grads:
        assert max_rel_diff(g1[name] + g2[name], grads[name]) < 1e-13
    assert max_rel_diff(np.concatenate([dx1, dx2]), dx) < 1e-13 and max_rel_diff(dh0_, dh0) < 1e-13
