"""Elementwise nonlinearities and their derivatives, written against the array API.

The derivatives take the *saved output* of the forward nonlinearity, never its input, so backward
needs no extra exponentials:

    sigmoid'(a) = s (1 - s)        with s = sigmoid(a)
    tanh'(a)    = 1 - t^2          with t = tanh(a)
"""

from __future__ import annotations

from ..backend import Array, namespace


def sigmoid(a: Array) -> Array:
    """Logistic sigmoid 1 / (1 + exp(-a)) without overflow for any finite ``a``.

    With e = exp(-|a|), which lies in (0, 1] and so never overflows:

        sigmoid(a) = 1 / (1 + e)   for a >= 0
        sigmoid(a) = e / (1 + e)   for a <  0

    Both forms are exact algebraically; each keeps full relative precision on its side.
    """
    xp = namespace(a)
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e))


def tanh(a: Array) -> Array:
    """Hyperbolic tangent (the library's own is already stable for any finite input)."""
    return namespace(a).tanh(a)


def sigmoid_grad_from_output(s: Array) -> Array:
    """d sigmoid / da expressed through s = sigmoid(a): s (1 - s)."""
    return s * (1 - s)


def tanh_grad_from_output(t: Array) -> Array:
    """d tanh / da expressed through t = tanh(a): 1 - t^2."""
    return 1 - t * t
