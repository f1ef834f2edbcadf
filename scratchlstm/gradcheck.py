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
shows up as a rel_error of order 1e-3 to 1. A correct float64 LSTM backward gives about 1e-10. The
report locates a bug: the worst entry with both values, the worst time step of a sequence (``x``),
and for the fused weights of a cell the error of each gate block (i, f, g, o for the LSTM; r, z, n
for the GRU), measured against the same scale so that the blocks' errors add up to the array's.

**It cannot be fooled by omission.** Every input needs a gradient: a backward that returns no
gradient for a parameter, for the input or for an initial state (or returns fewer values than the
contract says) fails, and the report names what is missing. Hold an input fixed on purpose with
``fixed=``.

**What gets checked is what runs.** ``lstm_gradcheck(params, x)`` checks ``lstm_forward`` and
``lstm_backward`` as they are when it is called, with the reference engine by default: edit
``scratchlstm/nn/lstm.py`` and the check sees your edit; ``engine="fast"`` checks the speed kernel;
``forward=``/``backward=`` check your own pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .backend import Array, host_rng, like, namespace, to_numpy
from .errors import ScratchLSTMError
from .nn import cells as _cells
from .nn import lstm as _lstm
from .nn.shapes import check_engine


class GradcheckError(ScratchLSTMError, ValueError):
    """The gradient check was asked for something it cannot check reliably (float32 input)."""


@dataclass
class ParamCheck:
    """Result for one input array."""

    name: str
    shape: tuple[int, ...]
    checked: int  # entries compared
    rel_error: float  # max |a - n| / max(|a|, |n|) over the array (inf when no usable gradient came back)
    abs_error: float  # max |a - n|
    worst_index: tuple[int, ...]  # where |a - n| is largest
    analytic: float  # a at worst_index
    numeric: float  # n at worst_index
    problem: str = ""  # why there is nothing to compare: a missing gradient or one of the wrong shape
    blocks: dict[str, float] | None = None  # rel error of each gate block (same scale as rel_error)
    worst_step: int | None = None  # time step of worst_index, for sequences (T, B, D)


@dataclass
class GradcheckReport:
    """Per-array results of ``gradcheck``, with a pass/fail verdict against ``threshold``."""

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
        """True when every array has a gradient and its relative error is below ``threshold``."""
        return all(c.rel_error < self.threshold for c in self.checks)

    def failed(self) -> list[ParamCheck]:
        """The arrays whose gradient is missing or whose relative error is at or above the threshold."""
        return [c for c in self.checks if not c.rel_error < self.threshold]

    def __str__(self) -> str:
        head = f"{'array':<8} {'shape':<14} {'checked':>7} {'rel error':>10} {'abs error':>10}  worst entry (analytic vs numeric)"
        lines = [head, "-" * len(head)]
        for c in self.checks:
            flag = "" if c.rel_error < self.threshold else "   <-- FAIL"
            if c.problem:
                lines.append(f"{c.name:<8} {str(c.shape):<14} {'-':>7} {'-':>10} {'-':>10}  {c.problem}{flag}")
                continue
            step = "" if c.worst_step is None else f" (step t = {c.worst_step})"
            lines.append(f"{c.name:<8} {str(c.shape):<14} {c.checked:>7} {c.rel_error:>10.2e} {c.abs_error:>10.2e}  "
                         f"{c.worst_index}: {c.analytic:+.10e} vs {c.numeric:+.10e}{step}{flag}")
            if c.blocks:
                parts = [f"{g} {e:.1e}{' <-- FAIL' if not e < self.threshold else ''}" for g, e in c.blocks.items()]
                lines.append(f"{'':<8} by gate block: " + ", ".join(parts))
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


def _missing(name: str, shape: tuple[int, ...], problem: str) -> ParamCheck:
    return ParamCheck(name, shape, 0, math.inf, math.inf, (), math.nan, math.nan, problem=problem)


def gradcheck(
    loss_fn: Callable[[dict[str, Array]], float],
    inputs: Mapping[str, Array],
    grads: Mapping[str, Array | None],
    *,
    eps: float = 1e-5,
    threshold: float = 1e-7,
    max_entries: int | None = None,
    seed: int = 0,
    fixed: Sequence[str] = (),
    gate_blocks: Mapping[str, Sequence[str]] | None = None,
    time_major: Sequence[str] = (),
) -> GradcheckReport:
    """Compare analytic gradients with centred finite differences.

    Parameters
    ----------
    loss_fn : callable
        Maps a dict of arrays (the keys of ``inputs``) to the scalar loss (a Python float or a 0-d array).
    inputs : dict of array
        The point at which to check: float64 arrays of any backend.
    grads : dict of array
        The analytic gradient of the loss for every key of ``inputs``. A key that is absent, or whose
        value is None, fails the check (named in the report) unless it is listed in ``fixed``.
    eps : float
        Finite-difference step.
    threshold : float
        An array passes when its relative error is below this.
    max_entries : int, optional
        Check at most this many randomly chosen entries per array (all when None).
    seed : int
        Seed of the random choice of entries.
    fixed : sequence of str
        Inputs held fixed on purpose: not checked, and no gradient needed.
    gate_blocks : dict, optional
        For arrays whose last axis fuses gate blocks, the blocks' names (``{"W_x": ("i", "f", "g", "o")}``):
        the report gives each block's error.
    time_major : sequence of str
        Arrays whose first axis is time: the report names the worst step.

    Returns
    -------
    GradcheckReport
        ``print(report)`` shows the table; ``report.passed`` is the verdict.
    """
    for name, a in inputs.items():
        _require_float64(name, a)
    unknown = sorted(set(grads) - set(inputs))
    if unknown:
        raise KeyError(f"grads has keys {unknown} that are not among the inputs {sorted(inputs)}")
    gate_blocks = dict(gate_blocks or {})
    rng = host_rng(seed)
    checks = []
    for name, ref in inputs.items():
        if name in fixed:
            continue
        shape = tuple(ref.shape)
        g = grads.get(name)
        if g is None:
            checks.append(_missing(name, shape, f"missing: the backward returned no gradient for {name}"))
            continue
        if tuple(g.shape) != shape:
            checks.append(_missing(name, shape, f"wrong shape: the backward returned {tuple(g.shape)} for {name}"))
            continue
        checks.append(_check_array(loss_fn, inputs, name, to_numpy(g).astype(np.float64), eps, max_entries, rng,
                                   gate_blocks.get(name), name in time_major))
    return GradcheckReport(checks=checks, threshold=threshold, eps=eps)


def _check_array(loss_fn, inputs, name, analytic, eps, max_entries, rng, blocks, time_major) -> ParamCheck:
    """Centred differences for every (or ``max_entries`` random) entries of ``inputs[name]``."""
    ref = inputs[name]
    base = to_numpy(ref).astype(np.float64)
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
    if not diff.size:
        return ParamCheck(name, tuple(base.shape), 0, 0.0, 0.0, (), 0.0, 0.0)
    worst = int(np.argmax(diff))
    abs_error = float(diff[worst])
    rel_error = relative_error(a, n)
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))))  # the gate blocks' errors use the same scale
    worst_index = tuple(int(i) for i in np.unravel_index(flat[worst], base.shape))
    block_errors = None
    if blocks:
        width = base.shape[-1] // len(blocks)
        column = np.unravel_index(flat, base.shape)[-1]  # the last-axis index of every checked entry
        block_errors = {}
        for k, gate in enumerate(blocks):
            inside = (column >= k * width) & (column < (k + 1) * width)
            worst_in = float(np.max(diff[inside], initial=0.0))
            block_errors[gate] = worst_in / scale if scale > 0 else (0.0 if worst_in == 0 else math.inf)
    return ParamCheck(name, tuple(base.shape), int(flat.size), rel_error, abs_error, worst_index, float(a[worst]),
                      float(n[worst]), blocks=block_errors, worst_step=worst_index[0] if time_major else None)


# ----------------------------------------------------------------------------------------------
# recurrent layers


def relative_error(analytic, numeric) -> float:
    """The check's error of one array: ``max_k |a_k - n_k| / max(max_k |a_k|, max_k |n_k|)``.

    Parameters
    ----------
    analytic : array
        The backward's gradient entries.
    numeric : array
        The finite-difference estimates of the same entries.

    Returns
    -------
    rel_error : float
        The largest entry error over the size of the array's gradient: about 1e-10 for a right
        float64 backward, 1e-3 to 1 for a wrong term; 0 when both are zero, inf when only the
        error is not.
    """
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    n = np.asarray(numeric, dtype=np.float64).reshape(-1)
    if not a.size:
        return 0.0
    abs_error = float(np.max(np.abs(a - n)))
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))))
    return abs_error / scale if scale > 0 else (0.0 if abs_error == 0 else math.inf)


def lstm_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, c0: Array | None = None, *,
                   engine: str = "reference", forward: Callable | None = None, backward: Callable | None = None,
                   seed: int = 0, **kwargs) -> GradcheckReport:
    """Gradient-check an LSTM layer's backward: every parameter, ``x``, ``h0`` and ``c0``.

    The loss is a fixed random projection of everything forward returns,

        L = sum(R * hs) + sum(r_h * h_T) + sum(r_c * c_T),

    so that every output, and both final states, carry a gradient (``dhs = R``, ``dh_T = r_h``,
    ``dc_T = r_c``). ``h0``/``c0`` default to random states (zeros would leave the terms that
    multiply them unchecked).

    Parameters
    ----------
    params : dict
        ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)`` as for ``lstm_forward``, in float64.
    x : array
        ``(T, B, D)`` input, in float64.
    h0, c0 : array, optional
        ``(B, H)`` initial states, in float64; random when omitted.
    engine : {"reference", "fast"}
        Which of the package's engines to check (``lstm_forward``/``lstm_backward`` as they are when
        this is called, so an edit to ``scratchlstm/nn/lstm.py`` is checked).
    forward, backward : callable, optional
        Your own pair instead: ``forward(params, x, h0, c0) -> (hs, (h_T, c_T), cache)`` and
        ``backward(cache, dhs, dh_T, dc_T) -> (grads, dx, dh0, dc0)``.
    seed : int
        Seed of the random states, projections and checked entries.
    **kwargs
        Passed to ``gradcheck`` (``eps``, ``threshold``, ``max_entries``).
    """
    return cell_gradcheck("lstm", params, x, (h0, c0), engine=engine, forward=forward, backward=backward, seed=seed, **kwargs)


def gru_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, **kwargs) -> GradcheckReport:
    """Gradient-check a GRU layer's backward (see ``cell_gradcheck``); the loss is
    ``L = sum(R * hs) + sum(r_h * h_T)``."""
    return cell_gradcheck("gru", params, x, (h0,), **kwargs)


def rnn_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, **kwargs) -> GradcheckReport:
    """Gradient-check a vanilla RNN layer's backward (see ``cell_gradcheck``); the loss is
    ``L = sum(R * hs) + sum(r_h * h_T)``."""
    return cell_gradcheck("rnn", params, x, (h0,), **kwargs)


def _package_pair(cell_name: str, engine: str):
    """The package's own forward and backward of a cell, looked up now (so edits and patches are seen)."""
    if cell_name == "lstm":
        return (lambda p, x, h0, c0: _lstm.lstm_forward(p, x, h0, c0, engine=engine)), _lstm.lstm_backward
    cell = _cells.CELLS[cell_name]
    return (lambda p, x, *state: cell.forward(p, x, state, engine=engine)), (lambda cache, dhs, *d: _flat(cell.backward(cache, dhs, d)))


def _flat(result):
    grads, dx, dstate = result
    return (grads, dx, *dstate)


def _what_runs(cell_name: str, engine: str, x: Array, custom: bool) -> str:
    if custom:
        return "checked: the forward/backward pair you passed"
    cell = _cells.CELLS[cell_name]
    if engine == "reference":
        return f"checked: the reference {cell_name.upper()} (scratchlstm/nn/{cell_name}.py)"
    if not cell.has_kernel:
        return f"checked: the reference {cell_name.upper()} (scratchlstm/nn/{cell_name}.py): the {cell_name} has no speed kernel, so engine 'fast' runs its reference"
    kernel = _lstm.kernels.kernel_for(namespace(x))
    where = "the reference (no kernel for this array library)" if kernel is None else f"the speed kernel ({kernel.__name__.replace('.', '/')}.py)"
    return f"checked: engine 'fast', which ran {where}"


def cell_gradcheck(cell: str, params: Mapping[str, Array], x: Array, state: Sequence[Array | None] | None = None, *,
                   engine: str = "reference", forward: Callable | None = None, backward: Callable | None = None,
                   seed: int = 0, **kwargs) -> GradcheckReport:
    """Gradient-check one recurrent layer of kind ``cell`` (lstm, gru or rnn).

    Every parameter, ``x`` and every initial state is checked, with the loss
    ``L = sum(R * hs) + sum over the final states s of sum(r_s * s)`` for fixed random ``R`` and
    ``r_s``. Missing initial states are drawn at random. ``forward(params, x, *state) -> (hs, state_T,
    cache)`` and ``backward(cache, dhs, *dstate_T) -> (grads, dx, *dstate_0)`` default to the package's
    own for ``engine``; a backward that returns fewer values, a None, or a gradient dict without some
    parameter fails with the missing names.
    """
    check_engine(engine)
    kind = _cells.get_cell(cell)
    custom = forward is not None or backward is not None
    own_forward, own_backward = _package_pair(cell, engine)
    forward, backward = forward or own_forward, backward or own_backward
    rng = host_rng(seed)
    T, B, _ = x.shape
    H = kind.sizes(params)[1]
    names = [f"{s}0" for s in kind.state_names]  # h0, c0
    state = [None] * len(names) if state is None else list(state)
    states = {k: like(rng.uniform(-0.5, 0.5, size=(B, H)), x) if v is None else v for k, v in zip(names, state)}
    R = like(rng.standard_normal((T, B, H)), x)
    finals = [like(rng.standard_normal((B, H)), x) for _ in names]  # one projection per final state
    inputs = {**params, "x": x, **states}
    for name, a in inputs.items():
        _require_float64(name, a)
    xp = namespace(x)

    def run(values):
        hs, last, cache = forward({k: values[k] for k in params}, values["x"], *(values[k] for k in names))
        return hs, (last if isinstance(last, tuple) else (last,)), cache

    def loss_fn(values):
        hs, last, _ = run(values)
        return float(xp.sum(R * hs) + sum(xp.sum(r * s) for r, s in zip(finals, last)))

    _, _, cache = run(inputs)
    out = backward(cache, R, *finals)
    grads, rest = (out[0], list(out[1:])) if isinstance(out, (tuple, list)) and out else ({}, [])
    rest += [None] * (1 + len(names) - len(rest))  # a backward that returned too few values
    analytic = {**(grads or {}), "x": rest[0], **dict(zip(names, rest[1:]))}
    blocks = {name: kind.gate_blocks(name) for name in params if kind.gate_blocks(name)}
    report = gradcheck(loss_fn, inputs, {k: v for k, v in analytic.items() if k in inputs}, seed=seed,
                       gate_blocks=blocks, time_major=("x",), **kwargs)
    report.notes.append(_what_runs(cell, engine, x, custom))
    return report
