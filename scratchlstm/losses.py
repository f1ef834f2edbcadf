"""Losses with their gradients: each returns ``(value, dL/dpred)``, averaged over every entry.

With r = pred - target and N entries:

    MSE    L = mean(r^2)                                dL/dpred = 2 r / N
    MAE    L = mean(|r|)                                dL/dpred = sign(r) / N
    Huber  L = mean(0.5 r^2 if |r| <= d else d (|r| - d/2))
                                                        dL/dpred = clip(r, -d, d) / N
"""

from __future__ import annotations

from typing import Callable

from .backend import Array, namespace
from .errors import ConfigError


def _check(pred: Array, target: Array) -> None:
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} shapes differ")


def mse(pred: Array, target: Array) -> tuple[float, Array]:
    """Mean squared error and its gradient."""
    _check(pred, target)
    xp = namespace(pred)
    r = pred - target
    n = r.size
    return float(xp.sum(r * r)) / n, r * (2.0 / n)


def mae(pred: Array, target: Array) -> tuple[float, Array]:
    """Mean absolute error and its (sub)gradient; sign(0) = 0."""
    _check(pred, target)
    xp = namespace(pred)
    r = pred - target
    n = r.size
    return float(xp.sum(xp.abs(r))) / n, xp.sign(r) * (1.0 / n)


def huber(pred: Array, target: Array, delta: float = 1.0) -> tuple[float, Array]:
    """Huber loss (quadratic within ``delta``, linear outside) and its gradient."""
    _check(pred, target)
    xp = namespace(pred)
    r = pred - target
    n = r.size
    a = xp.abs(r)
    d = float(delta)
    value = xp.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
    return float(xp.sum(value)) / n, xp.clip(r, -d, d) * (1.0 / n)


LOSSES: dict[str, Callable] = {"mse": mse, "mae": mae, "huber": huber}


def get_loss(name: str) -> Callable:
    """The loss function called ``name`` (mse, mae or huber)."""
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]


def pointwise_loss(name: str, pred: Array, target: Array, delta: float = 1.0) -> Array:
    """The loss of every entry (not averaged), for per-sample comparisons of two models."""
    xp = namespace(pred)
    r = pred - target
    if name == "mse":
        return r * r
    if name == "mae":
        return xp.abs(r)
    if name == "huber":
        a = xp.abs(r)
        return xp.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
