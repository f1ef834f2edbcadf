"""Gradient flow (dL/dh_t and dL/dc_t at every step) against PyTorch's autograd."""

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.nn.init import init_gru_params, init_rnn_params
from scratchlstm.traces import gradient_flow
from tests.core.test_traces import B, D, H, T


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_gradient_flow_matches_autograd(kind):
    torch = pytest.importorskip("torch")
    from scratchlstm import interop

    init = {"rnn": init_rnn_params, "gru": init_gru_params, "lstm": lambda d, h, **kw: sl.init_lstm_params(d, h, forget_bias=1.0, **kw)}[kind]
    params = init(D, H, seed=3, dtype="float64")
    x = np.random.default_rng(2).normal(size=(T, B, D))
    flow = gradient_flow(kind, params, x, seed=5)
    assert flow.distance.tolist() == list(range(T - 1, -1, -1)) and flow.dh_norm.shape == (T,)

    module = getattr(interop, f"{kind}_to_torch")([params])
    w = torch.tensor(np.random.default_rng(5).standard_normal((B, H)))
    h = torch.zeros(1, B, H, dtype=torch.float64)
    c = torch.zeros(1, B, H, dtype=torch.float64)
    hs = []
    for t in range(T):  # step by step so that every h_t is a tensor whose gradient autograd keeps
        inp = torch.tensor(x[t : t + 1])
        if kind == "lstm":
            _, (h, c) = module(inp, (h, c))
        else:
            _, h = module(inp, h)
        h.retain_grad()
        hs.append(h)
    (hs[-1][0] * w).sum().backward()
    expected = np.array([np.mean(np.linalg.norm(hs[t].grad[0].numpy(), axis=1)) for t in range(T)])
    assert np.allclose(flow.dh_norm, expected, rtol=1e-10)
    if kind == "lstm":
        # torch's fused cell hides the path from c_t to h_t, so the total dL/dc_t comes from the same
        # equations written out in torch operations, with autograd doing the backward
        W_x, W_h, b = (torch.tensor(params[k], requires_grad=True) for k in ("W_x", "W_h", "b"))
        h, c, cs = torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64), []
        for t in range(T):
            a = torch.tensor(x[t]) @ W_x + h @ W_h + b
            i, f, g, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.tanh(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])
            c = f * c + i * g
            c.retain_grad()
            cs.append(c)
            h = o * torch.tanh(c)
        (h * w).sum().backward()
        expected_c = np.array([np.mean(np.linalg.norm(cs[t].grad.numpy(), axis=1)) for t in range(T)])
        assert np.allclose(flow.dc_norm, expected_c, rtol=1e-10)
        assert flow.forget_product[-1] == 1.0
        assert np.all(np.diff(flow.forget_product) >= 0)  # products of more forget gates are smaller


