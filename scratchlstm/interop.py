"""Exact weight converters between scratchlstm and PyTorch's ``nn.LSTM``.

PyTorch stores, per layer k::

    weight_ih_l{k}  (4H, D)   rows in gate order i, f, g, o
    weight_hh_l{k}  (4H, H)
    bias_ih_l{k}    (4H,)
    bias_hh_l{k}    (4H,)

scratchlstm stores ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)`` with columns in the same gate order,
so a conversion is a transpose and, for the bias, ``b = bias_ih + bias_hh`` (the two biases always
appear as a sum). Exporting puts all of ``b`` in ``bias_ih`` and zeros in ``bias_hh``, so a round trip
reproduces every output exactly.

``torch`` is imported only when these functions are called.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .backend import Array, dtype_of, from_host, get_namespace, to_numpy
from .nn.lstm import Params, lstm_sizes


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("the PyTorch converters need torch: pip install 'scratchlstm[torch]'") from exc
    return torch


def _tensor_to_host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def lstm_from_torch(module: Any, *, xp=None, device=None) -> list[Params]:
    """Parameters of every layer of a ``torch.nn.LSTM``, as a list of dicts (one per layer).

    The arrays keep the module's dtype and are placed in namespace ``xp`` (NumPy when omitted) on
    ``device``. Bidirectional LSTMs and ``proj_size > 0`` are refused: there is no such layer here.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.LSTM):
        raise TypeError(f"expected a torch.nn.LSTM, got {type(module).__name__}")
    if module.bidirectional:
        raise ValueError("bidirectional LSTMs are not supported; convert each direction's weights by hand")
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTMs with proj_size > 0 are not supported")
    xp = get_namespace("numpy") if xp is None else xp
    layers = []
    for k in range(module.num_layers):
        w_ih = _tensor_to_host(getattr(module, f"weight_ih_l{k}"))  # (4H, D)
        w_hh = _tensor_to_host(getattr(module, f"weight_hh_l{k}"))  # (4H, H)
        if module.bias:
            b = _tensor_to_host(getattr(module, f"bias_ih_l{k}")) + _tensor_to_host(getattr(module, f"bias_hh_l{k}"))
        else:
            b = np.zeros(w_ih.shape[0], dtype=w_ih.dtype)
        dt = dtype_of(xp, str(w_ih.dtype))
        layers.append({name: from_host(a, xp, dtype=dt, device=device) for name, a in (("W_x", w_ih.T), ("W_h", w_hh.T), ("b", b))})
    return layers


def lstm_to_torch(layers: Sequence[Params], *, batch_first: bool = False):
    """A ``torch.nn.LSTM`` (on the CPU) holding exactly the weights of ``layers``.

    All layers must share one hidden size, as ``nn.LSTM`` requires. The module's dtype is the
    layers' dtype.
    """
    torch = _torch()
    sizes = [lstm_sizes(p) for p in layers]
    if not sizes:
        raise ValueError("no layers to convert")
    D, H = sizes[0]
    for k, (d_k, h_k) in enumerate(sizes[1:], start=1):
        if h_k != H or d_k != H:
            raise ValueError(f"torch.nn.LSTM needs equal hidden sizes; layer {k} has (D, H) = ({d_k}, {h_k}), layer 0 has H = {H}")
    host = [{name: to_numpy(a) for name, a in p.items()} for p in layers]
    dtype = {"float32": torch.float32, "float64": torch.float64}[str(host[0]["W_x"].dtype)]
    module = torch.nn.LSTM(D, H, num_layers=len(layers), batch_first=batch_first, dtype=dtype)
    with torch.no_grad():
        for k, p in enumerate(host):
            getattr(module, f"weight_ih_l{k}").copy_(torch.from_numpy(np.ascontiguousarray(p["W_x"].T)))
            getattr(module, f"weight_hh_l{k}").copy_(torch.from_numpy(np.ascontiguousarray(p["W_h"].T)))
            getattr(module, f"bias_ih_l{k}").copy_(torch.from_numpy(np.ascontiguousarray(p["b"])))
            getattr(module, f"bias_hh_l{k}").zero_()
    return module


def to_torch_tensor(a: Array):
    """A CPU torch tensor with the values of ``a`` (for comparisons in tests and examples)."""
    return _torch().from_numpy(np.ascontiguousarray(to_numpy(a)))
