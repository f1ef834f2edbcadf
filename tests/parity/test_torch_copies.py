"""The PyTorch converters copy: a torch optimizer step after conversion leaves the converted arrays
unchanged, and training the converted arrays here leaves the torch module unchanged."""

import numpy as np
import pytest

from scratchlstm import interop

torch = pytest.importorskip("torch")

KINDS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def _one_sgd_step(module) -> None:
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    out, _ = module(torch.randn(5, 2, 3, dtype=torch.float64))
    out.square().sum().backward()
    optimizer.step()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_torch_optimizer_step_leaves_the_converted_arrays_unchanged(kind):
    torch.manual_seed(0)
    module = KINDS[kind](3, 4, num_layers=2, dtype=torch.float64)
    layers = getattr(interop, f"{kind}_from_torch")(module)
    before = [{name: a.copy() for name, a in p.items()} for p in layers]
    weight_before = module.weight_ih_l0.detach().clone()
    _one_sgd_step(module)
    assert not torch.equal(module.weight_ih_l0, weight_before), "the step should have moved torch's weights"
    for p, q in zip(layers, before):
        for name in p:
            assert np.array_equal(p[name], q[name]), f"{kind} {name} changed with torch's weights"
            assert not any(np.shares_memory(p[name], t.detach().numpy()) for t in module.parameters()), name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_changing_the_converted_arrays_leaves_torch_unchanged(kind):
    torch.manual_seed(1)
    module = KINDS[kind](3, 4, dtype=torch.float64)
    before = {name: t.detach().clone() for name, t in module.named_parameters()}
    for p in getattr(interop, f"{kind}_from_torch")(module):
        for a in p.values():
            a += 1.0  # in place, as an optimizer that updates in place would
    for name, t in module.named_parameters():
        assert torch.equal(t, before[name]), name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_exported_modules_do_not_share_memory_with_the_arrays(kind):
    torch.manual_seed(2)
    layers = getattr(interop, f"{kind}_from_torch")(KINDS[kind](3, 4, dtype=torch.float64))
    module = getattr(interop, f"{kind}_to_torch")(layers)
    before = {name: t.detach().clone() for name, t in module.named_parameters()}
    for a in layers[0].values():
        a *= 2.0
    for name, t in module.named_parameters():
        assert torch.equal(t, before[name]), name


def test_one_sgd_step_moves_the_summed_bias_twice_as_far_in_torch():
    # what lstm_from_torch's docstring says: torch trains bias_ih and bias_hh, b here is their sum
    from scratchlstm.nn.lstm import lstm_backward, lstm_forward

    torch.manual_seed(3)
    module = torch.nn.LSTM(3, 4, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    R = torch.randn(5, 2, 4, dtype=torch.float64)
    before = interop.lstm_from_torch(module)[0]
    _, _, cache = lstm_forward(before, x.numpy())
    grads, _, _, _ = lstm_backward(cache, R.numpy())
    lr = 0.1
    ours = before["b"] - lr * grads["b"]  # one SGD step here
    out, _ = module(x)
    (out * R).sum().backward()
    torch.optim.SGD(module.parameters(), lr=lr).step()
    theirs = interop.lstm_from_torch(module)[0]["b"]
    np.testing.assert_allclose(theirs - before["b"], 2 * (ours - before["b"]), rtol=1e-10, atol=1e-14)
