"""Loss values against torch.nn.functional."""

import pytest

from scratchlstm.losses import huber, mae, mse
from tests.core.test_losses import _data


def test_values_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    pred, target = _data()
    tp, tt = torch.tensor(pred), torch.tensor(target)
    assert mse(pred, target)[0] == pytest.approx(F.mse_loss(tp, tt).item(), rel=1e-14)
    assert mae(pred, target)[0] == pytest.approx(F.l1_loss(tp, tt).item(), rel=1e-14)
    assert huber(pred, target, 0.7)[0] == pytest.approx(F.huber_loss(tp, tt, delta=0.7).item(), rel=1e-14)


