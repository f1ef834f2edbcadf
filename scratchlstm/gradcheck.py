"""Finite-difference gradient checking: is a hand-written backward right?

For every checked entry k of every input array, the numeric derivative is the centred difference

    n_k = (L(v + eps e_k) - L(v - eps e_k)) / (2 eps)

whose error is O(eps^2) from truncation plus O(u |L| / eps) from rounding (u = 2.2e-16 in float64).
The default eps = 1e-5 balances the two for losses and gradients of order one. In float32
(u = 1.2e-7) the rounding term swamps everything, so the checker refuses float32.

Each array gets one relative error, measured against the size of that array's gradient:

    rel_error = max_k |a_k - n_k| / max(max_k |a_k|, max_k |n_k|)

(``a`` analytic, ``n`` numeric). Unlike an entry-by-entry ratio it does not explode on entries that
are zero up to rounding, and a wrong term in the backward, which is of the size of the gradient,
shows up as a rel_error of order 1e-3 to 1. The report gives the worst entry's index and both values
so the bug can be traced. A correct float64 LSTM backward gives about 1e-10.

Point it at your own cell: :func:`lstm_gradcheck` takes any ``forward``/``backward`` pair with the
contract of :func:`scratchlstm.lstm_forward`/:func:`scratchlstm.lstm_backward`; :func:`gradcheck`
takes any loss function and its analytic gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .backend import Array, host_rng, like, namespace, to_numpy
from .errors import ScratchLSTMError
from .nn.lstm import lstm_backward, lstm_forward


class GradcheckError(ScratchLSTMError, ValueError):
    """The gradient check was asked for something it cannot check reliably (float32 input)."""


@dataclass
class ParamCheck:
    """Result for one input array."""

    name: str
    shape: tuple[int, ...]
    checked: int  # entries compared
    rel_error: float  # max |a - n| / max(|a|, |n|) over the array, see the module docstring
    abs_error: float  # max |a - n|
    worst_index: tuple[int, ...]  # where |a - n| is largest
    analytic: float  # a at worst_index
    numeric: float  # n at worst_index


@dataclass
class GradcheckReport:
    """Per-array results of :func:`gradcheck`, with a pass/fail verdict against ``threshold``."""

    checks: list[ParamCheck]
    threshold: float
    eps: float
    notes: list[str] = field(default_factory=list)

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all arrays."""
        return max((c.rel_error for c in self.checks), default=0.0)

    @property
    def passed(self) -> bool:
        """True when every array's relative error is below ``threshold``."""
        return all(c.rel_error < self.threshold for c in self.checks)

    def failed(self) -> list[ParamCheck]:
        """The arrays whose relative error is at or above the threshold."""
        return [c for c in self.checks if not c.rel_error < self.threshold]

    def __str__(self) -> str:
        head = f"{'array':<8} {'shape':<14} {'checked':>7} {'rel error':>10} {'abs error':>10}  worst entry (analytic vs numeric)"
        lines = [head, "-" * len(head)]
        for c in self.checks:
            flag = "" if c.rel_error < self.threshold else "   <-- FAIL"
            lines.append(
                f"{c.name:<8} {str(c.shape):<14} {c.checked:>7} {c.rel_error:>10.2e} {c.abs_error:>10.2e}  "
                f"{c.worst_index}: {c.analytic:+.10e} vs {c.numeric:+.10e}{flag}"
            )
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"{verdict}: max rel error {self.max_rel_error:.2e} (threshold {self.threshold:.0e}, eps {self.eps:.0e})")
        lines.extend(self.notes)
        return "\n".join(lines)


def _require_float64(name: str, a: Array) -> None:
    xp = namespace(a)
    if a.dtype != xp.float64:
        raise GradcheckError(
            f"gradcheck needs float64 arrays, but {name!r} is {a.dtype}: in float32 the rounding error of a "
            "finite difference (about 1e-7 / eps) hides any bug; build the inputs with dtype float64"
        )


def gradcheck(
    loss_fn: Callable[[dict[str, Array]], float],
    inputs: Mapping[str, Array],
    grads: Mapping[str, Array],
    *,
    eps: float = 1e-5,
    threshold: float = 1e-7,
    max_entries: int | None = None,
    seed: int = 0,
) -> GradcheckReport:
    """Compare analytic gradients with centred finite differences.

    Parameters
    ----------
    loss_fn : maps a dict of arrays (the keys of ``inputs``) to the scalar loss (a Python float or a
        0-d array)
    inputs : the point at which to check, float64 arrays of any backend
    grads : analytic gradient of the loss for each key of ``inputs`` that should be checked
        (keys absent from ``grads`` are held fixed)
    eps : finite-difference step
    threshold : an array passes when its relative error is below this
    max_entries : check at most this many randomly chosen entries per array (all when None)
    seed : seed of the random choice of entries

    Returns
    -------
    GradcheckReport (``print(report)`` shows the table; ``report.passed`` is the verdict)
    """
    for name, a in inputs.items():
        _require_float64(name, a)
    unknown = sorted(set(grads) - set(inputs))
    if unknown:
        raise KeyError(f"grads has keys {unknown} that are not among the inputs {sorted(inputs)}")
    rng = host_rng(seed)
    checks = []
    for name, g in grads.items():
        ref = inputs[name]
        if tuple(g.shape) != tuple(ref.shape):
            raise ValueError(f"gradient of {name!r} has shape {tuple(g.shape)} but the input has {tuple(ref.shape)}")
        base = to_numpy(ref).astype(np.float64)
        analytic = to_numpy(g).astype(np.float64)
        numeric = np.zeros_like(base)
        flat = np.arange(base.size)
        if max_entries is not None and base.size > max_entries:
            flat = np.sort(rng.choice(base.size, size=max_entries, replace=False))
        for k in flat:
            idx = np.unravel_index(k, base.shape)
            values = []
            for step in (eps, -eps):
                probe = base.copy()
                probe[idx] += step
                values.append(float(loss_fn({**inputs, name: like(probe, ref)})))
            numeric[idx] = (values[0] - values[1]) / (2 * eps)
        a, n = analytic.reshape(-1)[flat], numeric.reshape(-1)[flat]
        diff = np.abs(a - n)
        worst = int(np.argmax(diff)) if diff.size else 0
        scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(n), initial=0.0)))
        abs_error = float(diff[worst]) if diff.size else 0.0
        rel_error = abs_error / scale if scale > 0 else (0.0 if abs_error == 0 else float("inf"))
        checks.append(
            ParamCheck(
                name=name,
                shape=tuple(base.shape),
                checked=int(flat.size),
                rel_error=rel_error,
                abs_error=abs_error,
                worst_index=tuple(int(i) for i in np.unravel_index(flat[worst], base.shape)) if diff.size else (),
                analytic=float(a[worst]) if diff.size else 0.0,
                numeric=float(n[worst]) if diff.size else 0.0,
            )
        )
    return GradcheckReport(checks=checks, threshold=threshold, eps=eps)


def lstm_gradcheck(
    params: Mapping[str, Array],
    x: Array,
    h0: Array | None = None,
    c0: Array | None = None,
    *,
    forward: Callable = lstm_forward,
    backward: Callable = lstm_backward,
    seed: int = 0,
    **kwargs,
) -> GradcheckReport:
    """Gradient-check an LSTM layer's backward, every parameter plus ``x``, ``h0`` and ``c0``.

    The loss is a fixed random projection of everything forward returns,

        L = sum(R * hs) + sum(r_h * h_T) + sum(r_c * c_T),

    so that every output, and both final states, carry a gradient (``dhs = R``, ``dh_T = r_h``,
    ``dc_T = r_c``). ``h0``/``c0`` default to random states (zeros would leave the terms that
    multiply them unchecked). ``forward``/``backward`` default to the package's own; pass your
    modified pair to check it. Extra keyword arguments go to :func:`gradcheck`.
    """
    return _recurrent_gradcheck(forward, backward, params, x, {"h0": h0, "c0": c0}, seed, kwargs)


def rnn_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, *, forward: Callable | None = None,
                  backward: Callable | None = None, seed: int = 0, **kwargs) -> GradcheckReport:
    """Gradient-check a single-state recurrent layer (the RNN by default; pass ``gru_forward`` and
    ``gru_backward`` for the GRU): every parameter, ``x`` and ``h0``, with the loss
    ``L = sum(R * hs) + sum(r_h * h_T)``."""
    from .nn.rnn import rnn_backward, rnn_forward

    return _recurrent_gradcheck(forward or rnn_forward, backward or rnn_backward, params, x, {"h0": h0}, seed, kwargs)


def _recurrent_gradcheck(forward, backward, params, x, states: dict, seed: int, kwargs) -> GradcheckReport:
    """Shared by the cells: random initial states, a random projection of every output as the loss."""
    rng = host_rng(seed)
    T, B, _ = x.shape
    H = params["W_h"].shape[0]
    states = {k: like(rng.uniform(-0.5, 0.5, size=(B, H)), x) if v is None else v for k, v in states.items()}
    R = like(rng.standard_normal((T, B, H)), x)
    finals = [like(rng.standard_normal((B, H)), x) for _ in states]  # one projection per final state
    inputs = {**params, "x": x, **states}
    for name, a in inputs.items():
        _require_float64(name, a)
    xp = namespace(x)

    def run(values):
        out = forward({k: values[k] for k in params}, values["x"], *(values[k] for k in states))
        hs, last = out[0], out[1]
        return hs, (last if isinstance(last, tuple) else (last,)), out[2]

    def loss_fn(values):
        hs, last, _ = run(values)
        return float(xp.sum(R * hs) + sum(xp.sum(r * s) for r, s in zip(finals, last)))

    _, _, cache = run(inputs)
    grads, dx, *dstates = backward(cache, R, *finals)
    analytic = {**grads, "x": dx, **dict(zip(states, dstates))}
    return gradcheck(loss_fn, inputs, analytic, seed=seed, **kwargs)
