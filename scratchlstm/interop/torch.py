"""Exact weight converters between scratchlstm and PyTorch's ``nn.LSTM``, ``nn.RNN`` and ``nn.GRU``.

PyTorch stores, per layer k:

    weight_ih_l{k}  (4H, D)   rows in gate order i, f, g, o
    weight_hh_l{k}  (4H, H)
    bias_ih_l{k}    (4H,)
    bias_hh_l{k}    (4H,)

scratchlstm stores ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)`` with columns in the same gate order,
so a conversion is a transpose and, for the bias, ``b = bias_ih + bias_hh`` (the two biases always
appear as a sum). Exporting puts all of ``b`` in ``bias_ih`` and zeros in ``bias_hh``, so a round trip
reproduces every output exactly.

The converted arrays are copies: a later torch optimizer step does not change them, and training
them here does not change the torch module.

Summing the biases changes training, not outputs: torch's loss has the same gradient ``g`` with
respect to ``bias_ih``, ``bias_hh`` and their sum, so one SGD step moves torch's total bias by
``2 lr g`` and the single ``b`` here by ``lr g``, half as far (with Adam, whose steps are about
``lr`` per array, also about half). The LSTM and the RNN have this difference; the GRU keeps both
biases and trains like torch.

Refused rather than cast or broadcast: a layer whose arrays do not fit its cell, params or modules
that are not float32 or float64 throughout, and a module on the meta device. ``dropout`` between a
module's layers is noted with a ``ConversionWarning``: it acts only while torch trains.

``torch`` is imported only when these functions are called.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from ..backend import place, to_numpy
from ..errors import ConfigError, DtypeError
from ..nn.gru import PARAM_NAMES as GRU_NAMES
from ..nn.gru import gru_sizes
from ..nn.lstm import PARAM_NAMES as LSTM_NAMES
from ..nn.lstm import lstm_sizes
from ..nn.rnn import PARAM_NAMES as RNN_NAMES
from ..nn.rnn import rnn_sizes
from ..nn.shapes import Params, check_one_dtype
from ..nn.stack import layer_list
from .keras import ConversionWarning

SIZES = {"LSTM": lstm_sizes, "GRU": gru_sizes, "RNN": rnn_sizes}  # torch.nn class -> the cell's own size check
NAMES = {"LSTM": LSTM_NAMES, "GRU": GRU_NAMES, "RNN": RNN_NAMES}  # ... and its parameter names (other keys are not exported)


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("the PyTorch converters need torch: pip install torch "
                          "(the 'torch' extra: pip install -e '.[torch]' in scratchlstm's folder)") from exc
    return torch


def _tensor_to_host(t) -> np.ndarray:
    # .numpy() of a CPU tensor shares its memory: without the copy, a torch optimizer step would
    # silently change the converted weights
    return np.array(t.detach().cpu().numpy(), copy=True)


class TorchLayers(list):
    """The per-layer parameter dicts of a torch module, a list like any other, that also carries the module's
    ``batch_first``: ``LSTM.from_layers`` reads inputs in the module's layout unless told otherwise (the dicts
    themselves have no layout, and a (B, T, D) input read as (T, B, D) gives wrong outputs without an error)."""

    def __init__(self, layers, batch_first: bool):
        super().__init__(layers)
        self.batch_first = bool(batch_first)


def lstm_from_torch(module: Any, *, xp=None, device=None) -> list[Params]:
    """Parameters of every layer of a ``torch.nn.LSTM``, as a list of dicts (one per layer).

    The arrays are copies that keep the module's dtype, placed in namespace ``xp`` (NumPy when
    omitted) on ``device``. The list carries the module's ``batch_first`` (``TorchLayers``), which
    ``LSTM.from_layers`` takes unless given another. Bidirectional LSTMs and ``proj_size > 0`` are refused: there is no such
    layer here.

    ``b = bias_ih + bias_hh``: the outputs are exactly torch's, but training differs. torch's two
    biases each get the gradient ``g`` of ``b``, so one SGD step moves torch's total bias by
    ``2 lr g`` and ``b`` here by ``lr g``: the bias learns at half torch's rate (about half with
    Adam too).

    ``dropout`` between the layers acts only while torch trains: the weights convert exactly, with a
    ``ConversionWarning`` that the per-layer dicts carry no dropout (the same for the GRU and the RNN).
    A module whose weights are not float32 or float64, or are on the meta device, is refused.
    """
    if getattr(_check_module(module, "LSTM"), "proj_size", 0):
        raise ValueError("LSTMs with proj_size > 0 are not supported")
    return TorchLayers([_place({"W_x": w_ih.T, "W_h": w_hh.T, "b": b_ih + b_hh}, xp, device)
                        for w_ih, w_hh, b_ih, b_hh in _torch_layers(module)], module.batch_first)


def _check_module(module: Any, kind: str):
    """``module``, after checking that it is a one-direction ``torch.nn.{kind}`` whose weights convert exactly."""
    torch = _torch()
    cls = getattr(torch.nn, kind)
    if not isinstance(module, cls):
        raise TypeError(f"expected a torch.nn.{kind}, got {type(module).__name__}")
    if module.bidirectional:
        raise ValueError(f"bidirectional {kind}s are not supported; convert each direction's weights by hand")
    _check_weights(module, kind)
    if module.dropout and module.num_layers > 1:
        warnings.warn(f"torch.nn.{kind} has dropout={module.dropout} between its {module.num_layers} layers: training-time only, "
                      "with no counterpart in the per-layer params; the converted weights give the same outputs as the module "
                      "in eval mode, but training them here applies no dropout", ConversionWarning, stacklevel=3)
    return module


def _check_weights(module, kind: str) -> None:
    """Refuse weights that hold no values (meta device) or that are not float32 or float64 (no dtype here holds them)."""
    weights = list(module.parameters())
    if any(w.is_meta for w in weights):
        raise ConfigError(f"the torch.nn.{kind}'s weights are on the meta device, where they hold no values: load or "
                          "materialise them first (module.to_empty(device='cpu'), then load_state_dict)")
    dtypes = sorted({str(w.dtype).removeprefix("torch.") for w in weights})
    if len(dtypes) > 1 or dtypes[0] not in ("float32", "float64"):
        raise DtypeError(f"the torch.nn.{kind} is {', '.join(dtypes)}: convert it with module.float() or module.double() first")


def _torch_layers(module):
    """Host ``(weight_ih, weight_hh, bias_ih, bias_hh)`` of every layer (zero biases when bias=False)."""
    for k in range(module.num_layers):
        w_ih = _tensor_to_host(getattr(module, f"weight_ih_l{k}"))
        w_hh = _tensor_to_host(getattr(module, f"weight_hh_l{k}"))
        if module.bias:
            b_ih = _tensor_to_host(getattr(module, f"bias_ih_l{k}"))
            b_hh = _tensor_to_host(getattr(module, f"bias_hh_l{k}"))
        else:
            b_ih = b_hh = np.zeros(w_ih.shape[0], dtype=w_ih.dtype)
        yield w_ih, w_hh, b_ih, b_hh


def _place(host: dict[str, np.ndarray], xp, device) -> Params:
    """The host arrays (copies already) in namespace ``xp`` on ``device``, keeping the module's dtype."""
    return place(host, xp=xp, dtype=str(host["W_x"].dtype), device=device)


def rnn_from_torch(module: Any, *, xp=None, device=None) -> list[Params]:
    """``{"W_x" (D, H), "W_h" (H, H), "b" (H,)}`` per layer of a tanh ``torch.nn.RNN``, as copies.

    ``b = b_ih + b_hh``: exact outputs, but one SGD step moves ``b`` half as far as torch moves its
    two biases together (see ``lstm_from_torch``).
    """
    if _check_module(module, "RNN").nonlinearity != "tanh":
        raise ValueError("only tanh RNNs are supported (this one uses relu)")
    return [_place({"W_x": w_ih.T, "W_h": w_hh.T, "b": b_ih + b_hh}, xp, device) for w_ih, w_hh, b_ih, b_hh in _torch_layers(module)]


def gru_from_torch(module: Any, *, xp=None, device=None) -> list[Params]:
    """``{"W_x" (D, 3H), "W_h" (H, 3H), "b_x" (3H,), "b_h" (3H,)}`` per layer of a ``torch.nn.GRU``, as copies.

    Gate blocks r | z | n as in PyTorch; both biases are kept, because ``b_hn`` sits inside the
    reset gate's product (so training moves them exactly as torch does).
    """
    _check_module(module, "GRU")
    return [_place({"W_x": w_ih.T, "W_h": w_hh.T, "b_x": b_ih, "b_h": b_hh}, xp, device) for w_ih, w_hh, b_ih, b_hh in _torch_layers(module)]


def _host_layers(kind: str, layers) -> tuple[list[dict[str, np.ndarray]], str]:
    """Host arrays of every layer and their one dtype, after checking each layer with its cell's size check.

    ``Parameter.copy_`` broadcasts, so without the check a (1,) bias would fill every unit; and the
    module has one dtype, so arrays of another would be cast to it without a word.
    """
    host = []
    for l, p in enumerate(layer_list(layers)):
        if not isinstance(p, Mapping):
            raise ConfigError(f"layer {l} is a {type(p).__name__}, not a dict of arrays: pass one parameter dict per layer")
        try:
            SIZES[kind](p)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"layer {l} cannot be a torch.nn.{kind} layer: {exc.args[0]}") from None
        host.append({name: to_numpy(a) for name, a in p.items()})
    if not host:
        raise ValueError("no layers to convert")
    named = {f"layers[{l}][{name!r}]": a for l, p in enumerate(host) for name, a in p.items() if name in NAMES[kind]}
    try:
        dtype = check_one_dtype(named)
    except DtypeError as exc:
        raise DtypeError(f"torch.nn.{kind} needs float32 or float64 params of one dtype: {exc}") from None
    return host, dtype


def _to_torch(kind: str, layers, biases, batch_first: bool):
    """A torch module of ``kind`` holding ``layers``; ``biases(p)`` gives (bias_ih, bias_hh) on the host."""
    torch = _torch()
    host, dtype = _host_layers(kind, layers)
    D = host[0]["W_x"].shape[0]
    H = host[0]["W_h"].shape[0]
    for k, p in enumerate(host[1:], start=1):
        if p["W_h"].shape[0] != H or p["W_x"].shape[0] != H:
            raise ValueError(f"torch.nn.{kind} needs equal hidden sizes; layer {k} has (D, H) = ({p['W_x'].shape[0]}, {p['W_h'].shape[0]}), "
                             f"layer 0 has H = {H}")
    module = getattr(torch.nn, kind)(D, H, num_layers=len(host), batch_first=batch_first, dtype=getattr(torch, dtype))
    with torch.no_grad():
        for k, p in enumerate(host):
            b_ih, b_hh = biases(p)
            for name, a in ((f"weight_ih_l{k}", p["W_x"].T), (f"weight_hh_l{k}", p["W_h"].T), (f"bias_ih_l{k}", b_ih), (f"bias_hh_l{k}", b_hh)):
                getattr(module, name).copy_(torch.from_numpy(np.ascontiguousarray(a)))
    return module


def rnn_to_torch(layers: Sequence[Params], *, batch_first: bool = False):
    """A tanh ``torch.nn.RNN`` with exactly these weights (all of ``b`` in ``bias_ih``)."""
    return _to_torch("RNN", layers, lambda p: (p["b"], np.zeros_like(p["b"])), batch_first)


def gru_to_torch(layers: Sequence[Params], *, batch_first: bool = False):
    """A ``torch.nn.GRU`` with exactly these weights."""
    return _to_torch("GRU", layers, lambda p: (p["b_x"], p["b_h"]), batch_first)


def lstm_to_torch(layers: Sequence[Params], *, batch_first: bool = False):
    """A ``torch.nn.LSTM`` (on the CPU) holding exactly the weights of ``layers``.

    All layers must share one hidden size, as ``nn.LSTM`` requires. The module's dtype is the
    layers' dtype: every array must be float32, or every array float64. All of ``b`` goes to
    ``bias_ih`` and ``bias_hh`` is zero.
    """
    return _to_torch("LSTM", layers, lambda p: (p["b"], np.zeros_like(p["b"])), batch_first)
