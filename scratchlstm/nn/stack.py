"""Stacked LSTM layers: the output sequence of layer l is the input sequence of layer l + 1.

Between layers an optional inverted-dropout mask multiplies the sequence (PyTorch's ``dropout``
argument of ``nn.LSTM``): ``mask`` is (T, B, H_l) with entries 0 or 1/(1-p), so the expected value
of every unit is unchanged and evaluation needs no rescaling. Masks are drawn by the caller (on the
host, from a seed) so that the math here stays deterministic and checkable.

Forward and backward mirror each other: forward runs layers 0, 1, ..., L-1; backward runs them in
reverse, passing ``dx`` of layer l back as the output gradient of layer l - 1.
"""

from __future__ import annotations

from typing import Sequence

from ..backend import Array
from .lstm import Cache, Params, lstm_backward, lstm_forward, lstm_sizes


def stack_forward(
    layers: Sequence[Params],
    x: Array,
    h0s: Sequence[Array | None] | None = None,
    c0s: Sequence[Array | None] | None = None,
    dropout_masks: Sequence[Array | None] | None = None,
):
    """Run ``layers`` in turn over ``x (T, B, D)``.

    ``h0s``/``c0s`` hold one (B, H_l) initial state per layer (or None for zeros); ``dropout_masks``
    holds one mask per gap between layers (``len(layers) - 1`` entries, None for no dropout).

    Returns ``(out (T, B, H_last), (h_Ts, c_Ts), cache)`` with ``h_Ts``/``c_Ts`` lists of (B, H_l).
    """
    L = len(layers)
    if L == 0:
        raise ValueError("a stack needs at least one layer")
    h0s = [None] * L if h0s is None else list(h0s)
    c0s = [None] * L if c0s is None else list(c0s)
    masks = [None] * (L - 1) if dropout_masks is None else list(dropout_masks)
    if len(h0s) != L or len(c0s) != L or len(masks) != L - 1:
        raise ValueError(f"{L} layers need {L} initial states each and {L - 1} dropout masks")
    for l in range(1, L):
        D_l, _ = lstm_sizes(layers[l])
        _, H_below = lstm_sizes(layers[l - 1])
        if D_l != H_below:
            raise ValueError(f"layer {l} expects {D_l} inputs but layer {l - 1} has {H_below} hidden units")
    layer_caches: list[Cache] = []
    h_Ts, c_Ts = [], []
    seq = x  # (T, B, D) then (T, B, H_l)
    for l, params in enumerate(layers):
        if l > 0 and masks[l - 1] is not None:
            seq = seq * masks[l - 1]
        seq, (h_T, c_T), cache = lstm_forward(params, seq, h0s[l], c0s[l])
        layer_caches.append(cache)
        h_Ts.append(h_T)
        c_Ts.append(c_T)
    return seq, (h_Ts, c_Ts), {"layers": layer_caches, "masks": masks}


def stack_backward(
    cache: Cache,
    dout: Array | None,
    dh_Ts: Sequence[Array | None] | None = None,
    dc_Ts: Sequence[Array | None] | None = None,
):
    """Backward of :func:`stack_forward`.

    ``dout`` is (T, B, H_last) (None for zeros); ``dh_Ts``/``dc_Ts`` one (B, H_l) gradient of each
    layer's final state (or None). Returns ``(grads, dx, dh0s, dc0s)`` with ``grads`` a list of dicts,
    one per layer.
    """
    layer_caches, masks = cache["layers"], cache["masks"]
    L = len(layer_caches)
    dh_Ts = [None] * L if dh_Ts is None else list(dh_Ts)
    dc_Ts = [None] * L if dc_Ts is None else list(dc_Ts)
    grads, dh0s, dc0s = [None] * L, [None] * L, [None] * L
    dseq = dout
    for l in reversed(range(L)):
        grads[l], dseq, dh0s[l], dc0s[l] = lstm_backward(layer_caches[l], dseq, dh_Ts[l], dc_Ts[l])
        if l > 0 and masks[l - 1] is not None:
            dseq = dseq * masks[l - 1]
    return grads, dseq, dh0s, dc0s
