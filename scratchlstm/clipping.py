"""Gradient clipping, by global norm and by value.

Both take the gradients as a dict of arrays, a list of such dicts (one per layer) or a list of
arrays (torch's convention), return a new structure of the same shape, made of new arrays whether
anything was clipped or not (the input is not modified, and changing the result never changes the
input), and the global L2 norm *before* clipping:

    total_norm = sqrt(sum over every array g of sum(g * g))

By norm, as ``torch.nn.utils.clip_grad_norm_``: with ``coef = max_norm / (total_norm + 1e-6)``, every
gradient is scaled by ``coef`` when ``coef < 1`` (so the clipped norm is just under ``max_norm``);
otherwise the gradients are returned unchanged. One difference from torch: when the norm is not
finite the gradients are returned unchanged (torch would scale them by NaN), so that the trainer can
stop and say where it diverged.
By value: every entry is clamped into ``[-clip_value, clip_value]``.
"""

from __future__ import annotations

import math
from typing import Callable, Union

import numpy as np

from .backend import Array, namespace
from .nn.shapes import check_one_dtype

Grads = Union[dict, list]


def _is_container(grads) -> bool:
    """A dict or list of gradients, rather than one gradient array (a list's entry may be either)."""
    return isinstance(grads, (dict, list, tuple))


def _map(grads: Grads, fn: Callable[[Array], Array]) -> Grads:
    if isinstance(grads, dict):
        return {name: fn(g) for name, g in grads.items()}
    return [_map(g, fn) if _is_container(g) else fn(g) for g in grads]


def _copy(g: Array) -> Array:
    return namespace(g).asarray(g, copy=True)


def _arrays(grads: Grads) -> list[Array]:
    if isinstance(grads, dict):
        return list(grads.values())
    return [a for g in grads for a in (_arrays(g) if _is_container(g) else [g])]


def _checked(grads: Grads, name: str, limit) -> float:
    """``limit`` as a float after checking it is a positive number, and the gradients one floating dtype (integer
    gradients came back float64, and ``max_norm=True`` clipped to 1)."""
    if isinstance(limit, bool) or not isinstance(limit, (int, float, np.floating, np.integer)) or not limit > 0:
        raise ValueError(f"{name} must be positive, got {limit!r}")
    arrays = _arrays(grads)
    if arrays:
        check_one_dtype({f"gradient {k}": g for k, g in enumerate(arrays)})
    return float(limit)


def global_norm(grads: Grads) -> float:
    """L2 norm of all gradient entries together, as a Python float (NaN or inf if any entry is).

    The squares are summed in the gradients' dtype; where they leave its range (float32 squares overflow
    above about 1.8e19 and vanish below about 1e-23), the norm is taken again of the gradients divided by
    their largest magnitude m, ``m * sqrt(sum((g / m)^2))``: the float32 gradients 3e19 had the norm inf,
    and 1e-25 the norm 0."""
    arrays = list(_arrays(grads))
    total = 0.0
    with np.errstate(over="ignore", under="ignore"):  # (NumPy's warning: the range is handled below)
        for g in arrays:
            xp = namespace(g)
            total += float(xp.sum(g * g))
    if math.isnan(total) or 0.0 < total < math.inf:
        return math.sqrt(total)
    largest = max((float(namespace(g).max(namespace(g).abs(g))) for g in arrays if g.size), default=0.0)
    if largest == 0.0 or not math.isfinite(largest):  # all zero, or an infinite entry
        return largest
    scaled = sum(float(namespace(g).sum((g / largest) * (g / largest))) for g in arrays)
    return largest * math.sqrt(scaled)


def clip_grad_norm(grads: Grads, max_norm: float) -> tuple[Grads, float]:
    """Scale ``grads`` so that their global norm is at most ``max_norm``; return ``(clipped, norm)``.

    ``norm`` is the global norm before clipping. A non-finite norm is returned as it is with the
    gradients unchanged, so that the caller (the trainer) can stop and say so.
    """
    max_norm = _checked(grads, "max_norm", max_norm)
    total_norm = global_norm(grads)
    coef = float(max_norm) / (total_norm + 1e-6)  # torch's epsilon; a Python float never upcasts float32 arrays
    if not math.isfinite(total_norm) or coef >= 1.0:
        return _map(grads, _copy), total_norm  # copies, as when it clips: the caller gets new arrays either way
    return _map(grads, lambda g: g * coef), total_norm


def clip_grad_value(grads: Grads, clip_value: float) -> tuple[Grads, float]:
    """Clamp every entry of ``grads`` into ``[-clip_value, clip_value]``; return ``(clipped, norm)``
    with ``norm`` the global norm before clipping."""
    v = _checked(grads, "clip_value", clip_value)
    return _map(grads, lambda g: namespace(g).clip(g, -v, v)), global_norm(grads)
