"""Stacked recurrent layers: the output sequence of layer l is the input sequence of layer l + 1.

The one multi-layer container of the package: the PyTorch-style ``LSTM`` class and the forecasting
``Model`` (this stack plus a dense head) both run it. Every layer is of one cell kind (``cells.py``).

Dropout lives here and only here. ``dropout_masks`` holds one optional mask per layer, applied to
that layer's output sequence: ``mask`` is (T, B, H_l) with entries 0 or 1/(1-p) ("inverted"
dropout), so the expected value of every unit is unchanged and evaluation needs no rescaling.
PyTorch's ``nn.LSTM(dropout=p)`` masks every layer's output but the last; Keras tutorials put a
``Dropout`` after every LSTM layer, the last included. Masks are drawn by the caller on the host,
from a seed (``draw_dropout_masks``), so the math here stays deterministic and checkable.

Forward and backward mirror each other: forward runs layers 0, 1, ..., L-1; backward runs them in
reverse, passing ``dx`` of layer l back as the output gradient of layer l - 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..backend import Array, like
from ..errors import ConfigError
from .cells import Cell, get_cell
from .shapes import Params, check_one_dtype, check_sequence, check_shape


@dataclass
class StackCache:
    """What ``stack_forward`` keeps: the cell kind, each layer's cache, and the masks it applied."""

    cell: Cell
    layers: list
    masks: list
    out_shape: tuple[int, int, int]  # (T, B, H_last): the shape of the output, and of its gradient


def draw_dropout_masks(p: float, T: int, B: int, hidden_sizes: Sequence[int], rng: np.random.Generator, ref: Array,
                       *, last: bool = True) -> list[Array | None] | None:
    """One (T, B, H_l) inverted-dropout mask per layer (None for the last when ``last`` is False), or
    None when ``p`` is 0. ``rng`` is the run's host generator; the masks are placed next to ``ref``."""
    if not 0.0 <= p < 1.0:  # (1 gave masks of NaN, a negative p scaled every output, above 1 zeroed them)
        raise ConfigError(f"dropout must be at least 0 and below 1, got {p!r}")
    if p == 0.0:
        return None
    masks = [like((rng.random((T, B, H)) >= p) / (1.0 - p), ref) for H in hidden_sizes]
    if not last:
        masks[-1] = None
    return masks


def layer_list(layers: Sequence[Params]) -> list[Params]:
    """``layers`` as a list, refusing one layer's dict given in its place (a loop over it met the key strings, and
    the message said keys were missing that the dict has)."""
    if isinstance(layers, Mapping):
        raise ConfigError(f"expected a list of parameter dicts, one per layer, got one layer's dict (keys {', '.join(map(str, layers))}); "
                          "pass [params]")
    return list(layers)


def check_layers(cell: Cell, layers: Sequence[Params]) -> list[tuple[int, int]]:
    """``(D, H)`` of every layer, after checking that each layer's input is the one below's output."""
    layers = layer_list(layers)
    if not layers:
        raise ValueError("a stack needs at least one layer")
    sizes = [cell.sizes(p) for p in layers]
    for l in range(1, len(sizes)):
        if sizes[l][0] != sizes[l - 1][1]:
            raise ValueError(f"layer {l} expects {sizes[l][0]} inputs but layer {l - 1} has {sizes[l - 1][1]} hidden units")
    return sizes


def stack_forward(cell: str | Cell, layers: Sequence[Params], x: Array, states: Sequence[tuple | None] | None = None,
                  dropout_masks: Sequence[Array | None] | None = None, *, engine: str = "reference",
                  need_cache: bool = True):
    """Run ``layers`` of one cell kind in turn over ``x (T, B, D)``.

    Parameters
    ----------
    cell : str or Cell
        ``"lstm"``, ``"gru"`` or ``"rnn"``.
    layers : sequence of dict
        One parameter dict per layer.
    x : array
        ``(T, B, D)`` input sequence.
    states : sequence of tuple, optional
        One initial state tuple per layer (``(h, c)`` or ``(h,)``, each (B, H_l)), or None for zeros.
    dropout_masks : sequence of array, optional
        One mask per layer, applied to that layer's output (None entries: no dropout there).
    engine : {"reference", "fast", "compiled"}
        Passed to every layer's forward.
    need_cache : bool
        False when no backward follows (validation, prediction): no layer keeps a cache, and the
        returned cache is None. The outputs are the same, bit for bit.

    Returns
    -------
    out : array
        ``(T, B, H_last)`` the top layer's outputs, after its mask.
    states_T : list of tuple
        Each layer's final state.
    cache : StackCache or None
    """
    cell = get_cell(cell) if isinstance(cell, str) else cell
    L = len(layers)
    check_layers(cell, layers)
    states = [None] * L if states is None else list(states)
    masks = [None] * L if dropout_masks is None else list(dropout_masks)
    if len(states) != L or len(masks) != L:
        raise ValueError(f"{L} layers need {L} initial states and {L} dropout masks (None entries allowed), "
                         f"got {len(states)} and {len(masks)}")
    T, B = check_sequence(x, cell.sizes(layers[0])[0])
    for l, mask in enumerate(masks):  # a mask of another dtype would promote the layer's output silently, and one of
        if mask is not None:          # another shape would be broadcast over the batch or the steps
            check_one_dtype({"x": x, f"dropout_masks[{l}]": mask})
            check_shape(f"dropout_masks[{l}]", mask, (T, B, cell.sizes(layers[l])[1]), "(T, B, H_l)")
    caches, states_T = [], []
    seq = x  # (T, B, D), then (T, B, H_l)
    for l, params in enumerate(layers):
        seq, state_T, layer_cache = cell.forward(params, seq, states[l], engine=engine, need_cache=need_cache)
        if masks[l] is not None:
            seq = seq * masks[l]
        caches.append(layer_cache)
        states_T.append(state_T)
    return seq, states_T, StackCache(cell, caches, masks, tuple(seq.shape)) if need_cache else None


def stack_backward(cache: StackCache, dout: Array | None, dstates_T: Sequence[tuple | None] | None = None, *,
                   dout_last: Array | None = None):
    """Backward of ``stack_forward``.

    Parameters
    ----------
    cache : StackCache
        From ``stack_forward``.
    dout : array or None
        ``(T, B, H_last)`` gradient of the loss with respect to ``out`` (None for zeros).
    dstates_T : sequence of tuple, optional
        One gradient tuple of each layer's final state (or None).
    dout_last : array, optional
        ``(B, H_last)`` gradient with respect to ``out[T-1]`` alone, for a head on the last step:
        the same as a ``dout`` that is zero at every other step, without making one.

    Returns
    -------
    grads : list of dict
        One gradient dict per layer.
    dx : array
        ``(T, B, D)`` gradient with respect to the input.
    dstates_0 : list of tuple
        One tuple of initial-state gradients per layer.
    """
    L = len(cache.layers)
    if dstates_T is not None and len(dstates_T) != L:
        raise ValueError(f"dstates_T must hold one entry per layer ({L}, None entries allowed), got {len(dstates_T)}")
    dstates_T = [None] * L if dstates_T is None else [None if d is None else tuple(d) for d in dstates_T]
    T, B, H_top = cache.out_shape
    check_shape("dout", dout, (T, B, H_top), "(T, B, H_last)")
    check_shape("dout_last", dout_last, (B, H_top), "(B, H_last)")
    if dout_last is not None:
        # out[T-1] is the top layer's final h_T, times its mask at the last step
        top_mask = cache.masks[L - 1]
        dh_T = dout_last if top_mask is None else dout_last * top_mask[-1, :, :]
        top = dstates_T[L - 1] or (None,) * len(cache.cell.state_names)
        dstates_T[L - 1] = (dh_T if top[0] is None else top[0] + dh_T,) + top[1:]
    grads, dstates_0 = [None] * L, [None] * L
    dseq = dout
    for l in reversed(range(L)):
        if cache.masks[l] is not None and dseq is not None:
            dseq = dseq * cache.masks[l]
        grads[l], dseq, dstates_0[l] = cache.cell.backward(cache.layers[l], dseq, dstates_T[l])
    return grads, dseq, dstates_0
