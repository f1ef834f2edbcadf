"""Finite-difference gradient checking: is a hand-written backward right?

For every checked entry k of every input array, the numeric derivative is the centred difference

    n_k = (L(v + eps e_k) - L(v - eps e_k)) / (2 eps)

whose error is O(eps^2) from truncation plus O(u |L| / eps) from rounding (u = 2.2e-16 in float64).
The default eps = 1e-5 balances the two for losses and gradients of order one: measured on the
layers of this package, the numeric derivative is then within about 1e-9 of the true one. In
float32 (u = 1.2e-7) the rounding term swamps everything, so the checker refuses float32.

**The error measure.** Every entry is compared on its own, relative to its own size, with an
absolute floor:

    err_k = |a_k - n_k| / max(|a_k|, |n_k|, floor * G)        G = max over every checked entry of |n_k|

(``a`` analytic, ``n`` numeric; ``floor`` = 1e-2 by default). An array's error is its largest
``err_k``; it passes below ``threshold`` (1e-7). Per entry, so that a wrong entry cannot hide
behind a large one elsewhere in the array: a sign error in a saturated gate, whose gradients are
1e-8 of the others, gives err of order 1e-6 where a measure relative to the array's largest entry
gives 1e-8 and passes. The floor, because the finite difference itself is only good to about 1e-9
absolute: an entry that is zero up to that noise would otherwise have a relative error of order 1,
and ``floor * G`` (about 1e-2 of the largest gradient) keeps the noise at 1e-9 / 1e-2 = 1e-7 of it
at worst, well under the threshold for every layer here. Below ``floor * G * threshold`` (about
1e-9 of the largest gradient) no finite difference can tell a right gradient from a wrong one.

**Precision and finite values are checked too.** A gradient that comes back in another dtype than
its input (float32 for a float64 check), or whose every entry is a float32 number (a float64 array
computed or rounded in float32, which the 1e-7 threshold alone cannot see: float32 rounding is
6e-8), fails; so does a gradient with NaN or inf entries, naming the steps where they are.

The report locates a bug: the worst entry with both values, the worst time step of a sequence
(``x``), and for the fused weights of a cell the error of each gate block (i, f, g, o for the LSTM;
r, z, n for the GRU), there as the block's largest ``|a_k - n_k|`` over the array's largest ``|a|``
or ``|n|``: an error made in one gate's block reaches the others too (through ``dh_{t-1}`` at the
earlier steps), smaller in size, and this measure keeps the block where it was made the largest.

**It cannot be fooled by omission.** Every input needs a gradient: a backward that returns no
gradient for a parameter, for the input or for an initial state (or returns fewer values than the
contract says) fails, and the report names what is missing. Hold an input fixed on purpose with
``fixed=``. A forward or backward that raises fails too (a crash of the code under check is a
failed check, not an error of the checker), with the exception and the time step where it raised.

**What gets checked is what runs.** ``lstm_gradcheck(params, x)`` checks ``lstm_forward`` and
``lstm_backward`` as they are when it is called, with the reference engine by default: edit
``scratchlstm/nn/lstm.py`` and the check sees your edit; ``engine="fast"`` (or ``"compiled"``) checks a speed kernel;
``forward=``/``backward=`` check your own pair. Every code path a caller can reach is checked, each
as a *path* of the report (see ``cell_gradcheck``): the gradients of every step's output and of the
final states together, and of the final states alone (``dhs=None``, the path of a model that reads
only the last step); the initial states left out (``h0=None``: zeros, as training and prediction
start); the fast kernel at the batch of ``x`` and at batch 1 (it has a branch for a single column),
the compiled one also at a batch it cuts into slices; both GRU variants; for the LSTM the one-step
functions ``lstm_cell_forward`` and ``lstm_cell_backward`` on their own; and the forward without a
cache (``need_cache=False``: prediction, validation), compared with the forward the gradients were
checked through, at ``T`` steps and at ``T - 1`` (a kernel keeps the state in alternate buffers).
"""

from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from .backend import Array, host_rng, like, namespace, to_numpy
from .errors import ConfigError, ScratchLSTMError
from .settings import is_number
from .nn import cells as _cells
from .nn import gru as _gru
from .nn import lstm as _lstm
from .nn import rnn as _rnn
from .nn.shapes import check_engine, check_sequence, check_state, dtype_name


class GradcheckError(ScratchLSTMError, ValueError):
    """The gradient check was asked for something it cannot check reliably (float32 input)."""


@dataclass
class ParamCheck:
    """Result for one input array (on one path of the check)."""

    name: str
    shape: tuple[int, ...]
    checked: int  # entries compared
    rel_error: float  # max over entries of |a - n| / max(|a|, |n|, floor * G) (inf when no usable gradient came back)
    abs_error: float  # |a - n| at worst_index
    worst_index: tuple[int, ...]  # where the entry's error is largest
    analytic: float  # a at worst_index
    numeric: float  # n at worst_index
    problem: str = ""  # why there is nothing to compare: a missing gradient, a wrong shape or dtype, a crash
    blocks: dict[str, float] | None = None  # each gate block's largest |a - n|, over the array's largest |a| or |n|
    worst_step: int | None = None  # time step of worst_index, for sequences (T, B, D)
    path: str = ""  # which path of a cell's check (empty for a single ``gradcheck``)
    compared: str = "analytic vs numeric"  # what the worst entry's two values are


@dataclass
class GradcheckReport:
    """Per-array results of ``gradcheck``, with a pass/fail verdict against ``threshold``.

    A cell's check runs several paths (``paths``, in order); each ``ParamCheck`` names its path."""

    checks: list[ParamCheck]
    threshold: float
    eps: float
    notes: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all arrays (and paths)."""
        return max((c.rel_error for c in self.checks), default=0.0)

    @property
    def passed(self) -> bool:
        """True when every array has a usable gradient and its relative error is below ``threshold``."""
        return all(c.rel_error < self.threshold for c in self.checks)

    def failed(self) -> list[ParamCheck]:
        """The arrays whose gradient is missing or unusable, or whose relative error is at or above the threshold."""
        return [c for c in self.checks if not c.rel_error < self.threshold]

    def _table(self, checks: list[ParamCheck]) -> list[str]:
        compared = checks[0].compared if checks else ParamCheck.compared
        w = max([8, *(len(c.name) for c in checks)])  # the names' column
        head = f"{'array':<{w}} {'shape':<14} {'checked':>7} {'rel error':>10} {'abs error':>10}  worst entry ({compared})"
        lines = [head, "-" * len(head)]
        for c in checks:
            flag = "" if c.rel_error < self.threshold else "   <-- FAIL"
            if c.problem:
                lines.append(f"{c.name:<{w}} {str(c.shape):<14} {'-':>7} {'-':>10} {'-':>10}  {c.problem}{flag}")
                continue
            step = "" if c.worst_step is None else f" (step t = {c.worst_step})"
            lines.append(f"{c.name:<{w}} {str(c.shape):<14} {c.checked:>7} {c.rel_error:>10.2e} {c.abs_error:>10.2e}  "
                         f"{c.worst_index}: {c.analytic:+.10e} vs {c.numeric:+.10e}{step}{flag}")
            if c.blocks:  # where the error is: the block with the largest one is marked when the array fails
                blamed = max(c.blocks, key=c.blocks.get) if not c.rel_error < self.threshold else None
                # (the blocks' measure is not the array's: against the threshold, most blocks of a failing array would
                # be marked; the largest is where the bug is)
                parts = [f"{g} {e:.1e}{' <-- largest' if g == blamed else ''}" for g, e in c.blocks.items()]
                lines.append(f"{'':<{w}} by gate block: " + ", ".join(parts))
        return lines

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        summary = f"{verdict}: max rel error {self.max_rel_error:.2e} (threshold {self.threshold:g}, eps {self.eps:g})"
        if not self.paths:
            return "\n".join(self._table(self.checks) + [summary] + self.notes)
        lines = []
        for k, path in enumerate(self.paths):
            checks = [c for c in self.checks if c.path == path]
            ok = all(c.rel_error < self.threshold for c in checks)
            worst = max((c.rel_error for c in checks), default=0.0)
            lines.append(f"path {k + 1}/{len(self.paths)}: {path}: {'PASS' if ok else 'FAIL'}, max rel error {worst:.2e}")
            if not ok or k == 0:  # every failing path in full, and the first for a look at what is compared
                lines += ["  " + line for line in self._table(checks)]
        return "\n".join(lines + [summary + f" over {len(self.paths)} paths"] + self.notes)


def _require_float64(name: str, a: Array) -> None:
    xp = namespace(a)
    if a.dtype != xp.float64:
        why = ("in float32 the rounding error of a finite difference (about 1e-7 / eps) hides any bug"
               if xp.isdtype(a.dtype, "real floating") else "a finite-difference step needs a floating-point array")
        raise GradcheckError(f"gradcheck needs float64 arrays, but {name!r} is {a.dtype}: {why}; build the inputs with dtype float64")


def _require_finite(name: str, a: Array) -> None:
    """Refuse an input with NaN or inf: every gradient it reaches would be NaN, read as a wrong backward."""
    xp = namespace(a)
    bad = int(xp.sum(xp.astype(~xp.isfinite(a), xp.int64)))
    if bad:
        raise GradcheckError(f"{name!r} holds {bad} NaN or infinite value{'s' if bad > 1 else ''}: every gradient it reaches "
                             "would be NaN too, and the check would blame the backward; check at finite values")


def _missing(name: str, shape: tuple[int, ...], problem: str) -> ParamCheck:
    return ParamCheck(name, shape, 0, math.inf, math.inf, (), math.nan, math.nan, problem=problem)


def _unusable(name: str, ref: Array, g, time_major: bool) -> str:
    """Why the gradient ``g`` of ``ref`` cannot be compared (empty when it can)."""
    shape = tuple(ref.shape)
    if g is None:
        return f"missing: the backward returned no gradient for {name}"
    if not hasattr(g, "shape") or not hasattr(g, "dtype"):
        return f"not an array: the backward returned a {type(g).__name__} for {name}"
    if tuple(g.shape) != shape:
        return f"wrong shape: the backward returned {tuple(g.shape)} for {name}"
    if dtype_name(g.dtype) != dtype_name(ref.dtype):
        return f"wrong dtype: the backward returned {dtype_name(g.dtype)} for {name}, whose input is {dtype_name(ref.dtype)}"
    host = to_numpy(g)
    bad = ~np.isfinite(host)
    if bad.any():
        what = "NaN" if np.isnan(host).any() else "inf"
        where = ""
        if time_major:
            steps = sorted({int(t) for t in np.nonzero(bad)[0]})
            where = f" at step{'s' if len(steps) > 1 else ''} t = {', '.join(map(str, steps))}"
        return f"not finite: {int(bad.sum())} of {host.size} entries of the gradient of {name} are {what}{where}"
    if host.dtype == np.float64 and _computed_in_float32(host):
        return (f"float32 precision: every entry of the gradient of {name} is a float32 number; the backward computed it "
                "in float32 (or rounded it) though the check runs in float64")
    return ""


DEFAULT_EPS = 1e-5  # the finite-difference step: its own error is about 1e-9 here (docs/lstm.md)
SHORT_BITS = 12  # a number with at most this many significant bits (3.0, 0.375, -2.5) is exact in any precision
FLOAT32_EVIDENCE = 2  # the entries needed to say a float64 gradient was computed in float32


def _computed_in_float32(g: np.ndarray) -> bool:
    """Whether every entry of the float64 array ``g`` is a float32 number, with at least ``FLOAT32_EVIDENCE`` entries
    that say so: a number computed in float64 is a float32 number about once in 2^29, unless it is short (an integer
    or a simple fraction, as the gradient of a bias under a sum is), which every precision holds exactly."""
    nonzero = g[g != 0]
    if not np.all(nonzero.astype(np.float32).astype(np.float64) == nonzero):
        return False
    mantissa, _ = np.frexp(nonzero)
    long = np.ldexp(mantissa, SHORT_BITS) != np.round(np.ldexp(mantissa, SHORT_BITS))
    return int(np.count_nonzero(long)) >= FLOAT32_EVIDENCE


SETTINGS = ("eps", "threshold", "floor", "max_entries")  # the keywords the layer checks pass on to ``gradcheck``


def _check_settings(eps: float, threshold: float, floor: float, max_entries: int | None) -> None:
    """Refuse the settings under which a verdict means nothing."""
    if not (is_number(eps) and math.isfinite(eps) and eps > 0):
        raise ConfigError(f"eps must be a positive step such as 1e-5, got {eps!r}")
    if not (is_number(threshold) and 0 < threshold < 1):
        raise ConfigError(f"threshold must be above 0 and below 1 (an entry's relative error is at most 2, and at 1 a "
                          f"gradient 7 times too large passes); the default is 1e-7, got {threshold!r}")
    if not (is_number(floor) and 0 <= floor < 1):
        raise ConfigError(f"floor must be at least 0 and below 1 (a fraction of the largest derivative); the default is "
                          f"1e-2, got {floor!r}")
    if max_entries is not None and not (isinstance(max_entries, (int, np.integer)) and not isinstance(max_entries, bool)
                                        and max_entries >= 1):
        raise ConfigError(f"max_entries must be a whole number, at least 1 (None checks every entry), got {max_entries!r}")


def _check_names(argument: str, names, inputs: Mapping[str, Array]) -> None:
    """``fixed`` and ``time_major`` are lists of input names: a string would be read letter by letter
    (``fixed="W_x"`` also held ``x`` fixed), and a name that is not an input would hold nothing."""
    if isinstance(names, str):
        raise ConfigError(f"{argument} must be a list of input names, got the string {names!r}; write {argument}=[{names!r}]")
    unknown = sorted(set(names) - set(inputs))
    if unknown:
        raise ConfigError(f"{argument} names {unknown}, which are not among the inputs {sorted(inputs)}")


def gradcheck(
    loss_fn: Callable[[dict[str, Array]], float],
    inputs: Mapping[str, Array],
    grads: Mapping[str, Array | None],
    *,
    eps: float = DEFAULT_EPS,
    threshold: float = 1e-7,
    floor: float = 1e-2,
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
        The analytic gradient of the loss for every key of ``inputs``, in the input's dtype. A key
        that is absent, or whose value is None, fails the check (named in the report) unless it is
        listed in ``fixed``; so does a gradient of another shape or dtype, or with NaN or inf entries.
    eps : float
        Finite-difference step.
    threshold : float
        An array passes when its relative error is below this.
    floor : float
        The absolute floor of each entry's relative error, as a fraction of the largest numeric
        derivative of the check: ``err_k = |a_k - n_k| / max(|a_k|, |n_k|, floor * G)``.
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
    _check_settings(eps, threshold, floor, max_entries)
    _check_names("fixed", fixed, inputs)
    _check_names("time_major", time_major, inputs)
    if not set(inputs) - set(fixed):
        raise ConfigError("nothing to check: " + ("every input is in fixed" if inputs else "inputs is empty")
                          + "; a check that compares no derivative cannot pass")
    for name, a in inputs.items():
        _require_float64(name, a)
        _require_finite(name, a)
    unknown = sorted(set(grads) - set(inputs))
    if unknown:
        raise KeyError(f"grads has keys {unknown} that are not among the inputs {sorted(inputs)}")
    at_point = _scalar(loss_fn(dict(inputs)))
    if not math.isfinite(at_point):  # else every array fails, one row each, which reads as a wrong backward
        raise GradcheckError(f"loss_fn returns {at_point} at the point given, every input finite: a finite difference needs a "
                             "finite loss; check at a point where the loss is defined (a log, a square root or a division "
                             "of something near 0 or below it?)")
    gate_blocks = dict(gate_blocks or {})
    rng = host_rng(seed)
    results: list[ParamCheck | tuple] = []
    for name, ref in inputs.items():
        if name in fixed:
            continue
        g = grads.get(name)
        problem = _unusable(name, ref, g, name in time_major)
        if problem:
            results.append(_missing(name, tuple(ref.shape), problem))
            continue
        flat, numeric = _numeric(loss_fn, inputs, name, eps, max_entries, rng)
        results.append((name, to_numpy(g).astype(np.float64), flat, numeric))
    compared = [r for r in results if isinstance(r, tuple)]  # (name, analytic, checked entries, numeric)
    # G: the largest numeric derivative of the whole check, the scale of the floor
    scale = max((float(np.max(np.abs(r[3].reshape(-1)[r[2]]), initial=0.0)) for r in compared), default=0.0)
    if compared and scale == 0 and not any(np.any(r[1].reshape(-1)[r[2]]) for r in compared):
        raise GradcheckError("every derivative compared is 0, numeric and analytic (the loss does not change with any "
                             "checked entry here: an empty batch, or a point where every path is cut): a wrong gradient "
                             "would pass as well as a right one; check at a point with random nonzero values")
    checks = [r if isinstance(r, ParamCheck) else
              _compare(r[0], r[1], r[2], r[3], floor * scale, gate_blocks.get(r[0]), r[0] in time_major) for r in results]
    report = GradcheckReport(checks=checks, threshold=threshold, eps=eps)
    report.notes += _eps_note(report)
    return report


def _eps_note(report: GradcheckReport) -> list[str]:
    """When a check with another ``eps`` than the default fails, the step may be what failed it; a threshold far from
    the default says either nothing about a right backward (below what finite differences reach) or passes wrong ones."""
    notes = []
    if not report.passed and report.eps != DEFAULT_EPS:
        notes.append(f"eps {report.eps:g} is not the default {DEFAULT_EPS:g}: a finite difference is itself off by about eps^2 "
                     f"of the derivative above that and by about 1e-16 / eps below it; rerun with the default before looking for a bug")
    threshold, default = report.threshold, _settings_of_gradcheck()["threshold"]
    if threshold < RIGHT_BACKWARD_ERROR and not report.passed:
        notes.append(f"threshold {threshold:g} is below what a right float64 backward reaches against finite differences (about "
                     f"{RIGHT_BACKWARD_ERROR:g}): a FAIL here says nothing; rerun with the default {default:g}")
    elif threshold > WRONG_TERM_ERROR and report.passed:
        notes.append(f"threshold {threshold:g} passes errors of {WRONG_TERM_ERROR:g} and above, which a wrong term can give (1e-3 to 2): "
                     f"this PASS is weaker than the default {default:g}'s")
    return notes


RIGHT_BACKWARD_ERROR = 1e-9  # the error of a right float64 backward against centred differences at the default eps
WRONG_TERM_ERROR = 1e-3  # the smallest error a wrong term gave in the planted bugs (a factor 1.001 on one gate's product)


def _numeric(loss_fn, inputs, name, eps, max_entries, rng) -> tuple[np.ndarray, np.ndarray]:
    """Centred differences for every (or ``max_entries`` random) entries of ``inputs[name]``:
    ``(flat indices checked, numeric gradient with zeros elsewhere)``."""
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
            values.append(_scalar(loss_fn({**inputs, name: like(probe, ref)})))
            if not math.isfinite(values[-1]):  # else every entry after it reads as a wrong gradient, one row each
                raise GradcheckError(f"loss_fn returns {values[-1]} with {name}{list(map(int, idx))} moved by {step:+g}, finite "
                                     "at the point itself: the point is within eps of where the loss is undefined; check at a "
                                     "point further from it, or with a smaller eps")
        numeric[idx] = (values[0] - values[1]) / (2 * eps)
    return flat, numeric


def _scalar(loss) -> float:
    """The loss as a float; a loss of several values (a per-sample vector) has no single gradient to check."""
    if loss is None or isinstance(loss, (tuple, list)):
        pair = " (this package's losses return (value, gradient): return the value alone)" if isinstance(loss, tuple) else ""
        raise GradcheckError(f"loss_fn must return one number (a float or a 0-d array), got {type(loss).__name__}{pair}")
    shape = tuple(getattr(loss, "shape", ()))  # a 0-d array of any library (a torch tensor's .size is a method)
    if shape:
        raise GradcheckError(f"loss_fn must return one number (a float or a 0-d array), got an array of shape {shape}: "
                             "reduce it to the one number whose gradient grads holds (its sum or its mean)")
    return float(loss)


def entry_errors(analytic, numeric, floor: float = 0.0):
    """Each entry's error ``|a_k - n_k| / max(|a_k|, |n_k|, floor)``: the check's measure, entry by entry.

    Parameters
    ----------
    analytic : array
        The backward's gradient entries.
    numeric : array
        The finite-difference estimates of the same entries.
    floor : float
        The absolute floor of the denominator (the check passes ``1e-2`` times its largest numeric
        derivative), so that an entry near zero, where the finite difference is mostly rounding,
        cannot fail a right backward.

    Returns
    -------
    errors : numpy array
        One error per entry, flattened: 0 where ``a_k == n_k``, inf where they differ and there is
        no scale at all (both zero and no floor).
    """
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    n = np.asarray(numeric, dtype=np.float64).reshape(-1)
    diff = np.abs(a - n)
    size = np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(diff == 0, 0.0, diff / size)


def relative_error(analytic, numeric, floor: float = 0.0) -> float:
    """The check's error of one array: its largest entry error, ``max_k |a_k - n_k| / max(|a_k|, |n_k|, floor)``.

    Parameters
    ----------
    analytic : array
        The backward's gradient entries.
    numeric : array
        The finite-difference estimates of the same entries.
    floor : float
        The absolute floor of each entry's denominator (see ``entry_errors``).

    Returns
    -------
    rel_error : float
        About 1e-9 for a right float64 backward, 1e-3 to 2 (the largest it can be) for a wrong term, also in a saturated
        gate whose gradients are tiny next to the array's largest; 0 for no entries.
    """
    errors = entry_errors(analytic, numeric, floor)
    return float(np.max(errors)) if errors.size else 0.0


def _compare(name, analytic, flat, numeric, floor, blocks, time_major) -> ParamCheck:
    """Each entry's error ``|a - n| / max(|a|, |n|, floor)``, the worst entry, and each gate block's worst."""
    shape = tuple(numeric.shape)
    a, n = analytic.reshape(-1)[flat], numeric.reshape(-1)[flat]
    if not flat.size:
        return ParamCheck(name, shape, 0, 0.0, 0.0, (), 0.0, 0.0)
    diff = np.abs(a - n)
    err = entry_errors(a, n, floor)
    worst = int(np.argmax(err))
    worst_index = tuple(int(i) for i in np.unravel_index(flat[worst], shape))
    block_errors = None
    if blocks:
        # Where the error is, by absolute size against one scale for the whole array: an error made in
        # one gate's block reaches the other blocks too (through dh_{t-1} at earlier steps), smaller,
        # but an entry-by-entry ratio can make it look larger there, on entries close to zero.
        width = shape[-1] // len(blocks)
        column = np.unravel_index(flat, shape)[-1]  # the last-axis index of every checked entry
        scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), floor)
        block_errors = {gate: float(np.max(diff[(column >= k * width) & (column < (k + 1) * width)], initial=0.0)) / scale
                        if scale > 0 else 0.0 for k, gate in enumerate(blocks)}
    return ParamCheck(name, shape, int(flat.size), float(err[worst]), float(diff[worst]), worst_index, float(a[worst]),
                      float(n[worst]), blocks=block_errors, worst_step=worst_index[0] if time_major else None)


def _crash(part: str, exc: BaseException) -> ParamCheck:
    """A forward or backward that raised: a failed check naming the exception, the time step and the line."""
    step, frame, lineno = None, None, None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not _library_file(code.co_filename):
            t = tb.tb_frame.f_locals.get("t")
            if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
                step = int(t)
            frame, lineno = code, tb.tb_lineno
        tb = tb.tb_next
    where = "" if step is None else f" at step t = {step}"
    line = "" if frame is None else f" in {frame.co_name} ({_short(frame.co_filename)}:{lineno})"
    message = str(exc).splitlines()[0] if str(exc) else ""
    return _missing(part, (), f"the {part} raised {type(exc).__name__}{': ' + message if message else ''}{where}{line}")


# the package's own checking helpers: a shape check that raised points at the line that called it, in the code under check
_HELPER_FILES = ("nn/shapes.py", "backend.py")


def _library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to an array library, or is one of the package's helpers that check and convert
    arrays (their frames say nothing about where the code under check went wrong)."""
    parts = set(os.path.normpath(filename).split(os.sep))
    package = os.path.dirname(os.path.abspath(__file__))
    helper = any(os.path.abspath(filename) == os.path.join(package, *name.split("/")) for name in _HELPER_FILES)
    return bool(parts & {"numpy", "cupy", "array_api_strict", "cupyx"}) or filename.startswith("<") or helper


def _short(filename: str) -> str:
    package = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(package)
    return os.path.relpath(filename, root) if os.path.abspath(filename).startswith(package) else filename


# ----------------------------------------------------------------------------------------------
# recurrent layers


def lstm_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, c0: Array | None = None, *,
                   engine: str = "reference", forward: Callable | None = None, backward: Callable | None = None,
                   seed: int = 0, **kwargs) -> GradcheckReport:
    """Gradient-check an LSTM layer's backward: every parameter, ``x``, ``h0`` and ``c0``, on every path.

    The loss of the main path is a fixed random projection of everything forward returns,

        L = sum(R * hs) + sum(r_h * h_T) + sum(r_c * c_T),

    so that every output, and both final states, carry a gradient (``dhs = R``, ``dh_T = r_h``,
    ``dc_T = r_c``); the other paths are listed in ``cell_gradcheck``. ``h0``/``c0`` default to
    random states (zeros would leave the terms that multiply them unchecked).

    Parameters
    ----------
    params : dict
        ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)`` as for ``lstm_forward``, in float64.
    x : array
        ``(T, B, D)`` input, in float64.
    h0, c0 : array, optional
        ``(B, H)`` initial states, in float64; random when omitted.
    engine : {"reference", "fast", "compiled"}
        Which of the package's engines to check (``lstm_forward``/``lstm_backward`` as they are when
        this is called, so an edit to ``scratchlstm/nn/lstm.py`` is checked).
    forward, backward : callable, optional
        Your own pair instead: ``forward(params, x, h0, c0) -> (hs, (h_T, c_T), cache)`` and
        ``backward(cache, dhs, dh_T, dc_T) -> (grads, dx, dh0, dc0)``, where ``dhs`` may be None.
    seed : int
        Seed of the random states, projections and checked entries.
    **kwargs
        Passed to ``gradcheck`` (``eps``, ``threshold``, ``floor``, ``max_entries``).
    """
    return cell_gradcheck("lstm", params, x, (h0, c0), engine=engine, forward=forward, backward=backward, seed=seed, **kwargs)


def gru_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, *, reset_after: bool | str = "both",
                  **kwargs) -> GradcheckReport:
    """Gradient-check a GRU layer's backward (see ``cell_gradcheck``); the loss is
    ``L = sum(R * hs) + sum(r_h * h_T)``. ``reset_after``: True (PyTorch's GRU), False (the reset
    gate before the recurrent product, Keras's ``reset_after=False``) or "both" (the default)."""
    return cell_gradcheck("gru", params, x, (h0,), reset_after=reset_after, **kwargs)


def rnn_gradcheck(params: Mapping[str, Array], x: Array, h0: Array | None = None, **kwargs) -> GradcheckReport:
    """Gradient-check a vanilla RNN layer's backward (see ``cell_gradcheck``); the loss is
    ``L = sum(R * hs) + sum(r_h * h_T)``."""
    return cell_gradcheck("rnn", params, x, (h0,), **kwargs)


def _package_pair(cell_name: str, engine: str, reset_after: bool, need_cache: bool = True):
    """The package's own forward and backward of a cell, looked up at every call (so edits and patches are seen);
    ``need_cache=False``: the forward that prediction and validation run, whose cache is None."""
    if cell_name == "lstm":
        return (lambda p, x, h0, c0: _lstm.lstm_forward(p, x, h0, c0, engine=engine, need_cache=need_cache)), \
               (lambda cache, dhs, dh_T, dc_T: _lstm.lstm_backward(cache, dhs, dh_T, dc_T))
    if cell_name == "gru":
        return (lambda p, x, h0: _gru.gru_forward(p, x, h0, reset_after=reset_after, need_cache=need_cache)), \
               (lambda cache, dhs, dh_T: _gru.gru_backward(cache, dhs, dh_T))
    return (lambda p, x, h0: _rnn.rnn_forward(p, x, h0, need_cache=need_cache)), \
           (lambda cache, dhs, dh_T: _rnn.rnn_backward(cache, dhs, dh_T))


def _one_step_pair():
    """``lstm_cell_forward`` and ``lstm_cell_backward`` as a one-step sequence pair (x of one step)."""
    def forward(p, x, h0, c0):
        h, c, step = _lstm.lstm_cell_forward(p, x[0, :, :], h0, c0)
        return h[None, :, :], (h, c), (p, step)

    def backward(cache, dhs, dh_T, dc_T):
        p, step = cache
        grads, dx_t, dh_prev, dc_prev = _lstm.lstm_cell_backward(p, dhs[0, :, :] + dh_T, dc_T, step)
        return grads, dx_t[None, :, :], dh_prev, dc_prev
    return forward, backward


def _what_runs(cell_name: str, engine: str, x: Array, custom: bool) -> str:
    """The "checked:" line: which code ran, by the file this Python imported it from (a learner who edited a copy of
    the package and ran the installed one got a PASS that named no file)."""
    if custom:
        return "checked: the forward/backward pair you passed"
    cell = _cells.CELLS[cell_name]
    reference = {"lstm": _lstm, "gru": _gru, "rnn": _rnn}[cell_name].__file__
    if engine == "reference":
        return f"checked: the reference {cell_name.upper()}, {reference}"
    if not cell.has_kernel:
        return (f"checked: the reference {cell_name.upper()}, {reference}: the {cell_name} has no speed kernel, so engine "
                f"'{engine}' runs its reference")
    kernel = _lstm.kernels.kernel_for(namespace(x), engine)
    where = f"the reference (no kernel for this array library), {reference}" if kernel is None else f"the speed kernel, {kernel.__file__}"
    return f"checked: engine '{engine}', which ran {where}"


@dataclass
class _Path:
    """One way of running a layer's backward: which variant, which columns of x, which output gradients."""

    label: str
    batch: int  # the first ``batch`` columns of x and of the states
    every_step: bool  # dhs given, or None (no step's output carries a gradient)
    finals: str = "all"  # which final states carry a gradient: "all", "h" (dc_T=None) or "none" (every dstate_T None)
    reset_after: bool = True  # the GRU's variant
    one_step: bool = False  # lstm_cell_forward / lstm_cell_backward on the first step alone
    zero_state: bool = False  # every initial state None (zeros), as training and prediction start: not checked then
    compare: str = ""  # no gradients, forwards compared: "cache" (without a cache, with one), "zeros" (states None, zeros)


def _variants(cell: str, reset_after, custom: bool) -> list[bool]:
    if cell != "gru":
        if reset_after != "both":
            raise ConfigError(f"reset_after is a setting of the GRU; the {cell} has no such variant (leave it out)")
        return [True]
    if reset_after == "both":
        return [True] if custom else [True, False]
    if not isinstance(reset_after, bool):  # (1 == True: it passed as True)
        raise ConfigError(f"reset_after must be True, False or 'both', got {reset_after!r}")
    return [reset_after]


def check_paths(cell: str, B: int, *, engine: str = "reference", reset_after: bool | str = "both",
                custom: bool = False, has_kernel: bool = True, sliced: int | None = None) -> list[_Path]:
    """The paths ``cell_gradcheck`` runs for a layer of kind ``cell`` and an input of batch ``B``; ``sliced``: the
    smallest batch that the compiled kernel cuts into slices, run too where ``B`` is smaller (its other columns
    are drawn at random)."""
    paths = []
    # the kernel has a branch for a single column (online prediction): run it at B and at 1
    kernel = cell == "lstm" and engine != "reference" and has_kernel and not custom
    batches = [B, 1] if kernel and B > 1 else [B]
    if kernel and sliced is not None and B < sliced:  # the compiled kernel's slices: each one's offsets in the batch
        batches.insert(1, sliced)
    variants = {variant: f"reset_after={variant}, " if cell == "gru" else "" for variant in _variants(cell, reset_after, custom)}
    for variant, name in variants.items():
        for b in batches:  # each branch of the backward on a missing gradient is a path (training takes them all)
            paths.append(_Path(f"{name}B={b}, every step's output and the final state", b, True, "all", variant))
            paths.append(_Path(f"{name}B={b}, the final state only (dhs=None)", b, False, "all", variant))
            if cell == "lstm":  # the top layer under a head on the last step
                paths.append(_Path(f"B={b}, the last step's h only (dhs=None, dc_T=None)", b, False, "h", variant))
            paths.append(_Path(f"{name}B={b}, every step's output only (no gradient on the final state)", b, True, "none",
                               variant))  # a layer under another, or under a head on every step
    if cell == "lstm" and engine == "reference" and not custom:
        paths.append(_Path(f"one step: lstm_cell_forward, lstm_cell_backward (B={B})", B, True, one_step=True))
    if not custom:  # what training's first window and every prediction run; and what prediction's forward is
        states = "h0=None, c0=None" if cell == "lstm" else "h0=None"
        for variant, name in variants.items():
            paths.append(_Path(f"{name}B={B}, initial states left out ({states}: zeros, as training starts)", B, True, "all", variant, zero_state=True))
        for variant, name in variants.items():
            paths.append(_Path(f"{name}B={B}, the forward without a cache (prediction, validation) equals the one with a cache", B, True, "all", variant, compare="cache"))
            paths.append(_Path(f"{name}B={B}, the forward with the states left out equals the one given zeros", B, True, "all", variant, compare="zeros"))
    return paths


def _sliced_batch(cell: str, engine: str, D: int, H: int) -> int | None:
    """The smallest batch the compiled kernel cuts into more than one slice (``threads.batch_slices``), or None."""
    if cell != "lstm" or engine != "compiled":
        return None
    from .nn.kernels.threads import batch_slices

    return next((b for b in range(2, 1025) if len(batch_slices(b, D, H)) > 1), None)


def _widened(a: Array, axis: int, size: int, rng) -> Array:
    """``a`` cut or widened to ``size`` along ``axis`` (the batch's): its own columns first, then new random ones
    (never copies of its own, which would hide a slice that reads another slice's columns)."""
    have = a.shape[axis]
    xp = namespace(a)
    if size <= have:
        return a[:, :size, :] if axis == 1 else a[:size, :]
    shape = list(a.shape)
    shape[axis] = size - have
    return xp.concat([a, like(rng.uniform(-1.0, 1.0, size=tuple(shape)), a)], axis=axis)


def cell_gradcheck(cell: str, params: Mapping[str, Array], x: Array, state: Sequence[Array | None] | None = None, *,
                   engine: str = "reference", forward: Callable | None = None, backward: Callable | None = None,
                   seed: int = 0, reset_after: bool | str = "both", **kwargs) -> GradcheckReport:
    """Gradient-check one recurrent layer of kind ``cell`` (lstm, gru or rnn) on every path that runs.

    Every parameter, ``x`` and every initial state is checked, with the loss
    ``L = sum(R * hs) + sum over the final states s of sum(r_s * s)`` for fixed random ``R`` and
    ``r_s``. Missing initial states are drawn at random. ``forward(params, x, *state) -> (hs, state_T,
    cache)`` and ``backward(cache, dhs, *dstate_T) -> (grads, dx, *dstate_0)`` default to the package's
    own for ``engine``; a backward that returns fewer values, a None, or a gradient dict without some
    parameter fails with the missing names, and so does one that raises (with the step where it did).

    The paths, each a part of the report (``report.paths``):

    - every step's output and the final states carry a gradient (``dhs = R``);
    - only the final states do (``dhs=None``);
    - for the LSTM, only the last step's h does (``dhs=None, dc_T=None``: the top layer of a model whose
      head reads the last step);
    - only every step's output does (every ``dstate_T`` None: a layer under another, or a model whose
      head reads every step); each missing gradient is a branch of the backward, and training takes them;
    - for the fast LSTM kernel, both of these at the batch of ``x`` and at batch 1 (its branch for a
      single column);
    - for the GRU, both variants (``reset_after`` True and False; one of them when given);
    - for the reference LSTM, the one-step functions ``lstm_cell_forward`` and ``lstm_cell_backward``
      on the first step of ``x``;
    - for the compiled kernel, the first four also at the smallest batch it cuts into slices (``x``
      widened with random columns where it is narrower);
    - for the package's own code (not a pair passed in): the gradients with every initial state left
      out (None: zeros, as training's first window and prediction run it), and two comparisons of
      forwards, no gradient involved, with the forward whose gradients were checked: the forward
      without a cache (prediction, validation) at ``T`` steps and at ``T - 1``, and the forward with
      the states left out against the one given zeros, with and without a cache.
    """
    check_engine(engine)
    kind = _cells.get_cell(cell)
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        raise ConfigError(f"seed must be a whole number >= 0, got {seed!r}")
    custom = forward is not None or backward is not None
    _check_layer_settings(kwargs)
    D, H = kind.sizes(params)
    T, B = check_sequence(x, D)
    if B == 0:  # every gradient is then exactly 0, and any backward passed
        raise ConfigError("x holds no sequences (batch 0, shape (T, 0, D)): there is nothing to check; give it at least one")
    names = [f"{s}0" for s in kind.state_names]  # h0, c0
    state = [None] * len(names) if state is None else list(state)
    if len(state) != len(names):
        raise ConfigError(f"the {cell}'s initial state is ({', '.join(names)}): pass {len(names)} value{'s' if len(names) > 1 else ''} "
                          f"(an array or None each), got {len(state)}")
    for name, s in zip(names, state):
        check_state(name, s, B, H)
    extra = sorted(set(params) - set(kind.param_names))
    if extra:  # (the forward ignores them, and the backward returns no gradient for them: blamed on the backward)
        raise ConfigError(f"params has {', '.join(map(repr, extra))}, which the {cell} has no use for: its parameters are "
                          f"{', '.join(kind.param_names)}; leave {'them' if len(extra) > 1 else 'it'} out")
    for name, a in {**params, "x": x, **{k: v for k, v in zip(names, state) if v is not None}}.items():
        _require_float64(name, a)
        _require_finite(name, a)
    rng = host_rng(seed)
    states = {k: like(rng.uniform(-0.5, 0.5, size=(B, H)), x) if v is None else v for k, v in zip(names, state)}
    has_kernel = engine != "reference" and _lstm.kernels.kernel_for(namespace(x), engine) is not None
    paths = check_paths(cell, B, engine=engine, reset_after=reset_after, custom=custom, has_kernel=has_kernel,
                        sliced=_sliced_batch(cell, engine, D, H) if has_kernel else None)
    widened = max(p.batch for p in paths)  # x and the states with the columns of every path's batch
    x_all, states_all = _widened(x, 1, widened, rng), {k: _widened(v, 0, widened, rng) for k, v in states.items()}
    checks = []
    for path in paths:
        if path.one_step:
            pair = _one_step_pair()
        else:
            pair = _package_pair(cell, engine, path.reset_after)
        run_forward, run_backward = forward or pair[0], backward or pair[1]
        xp_ = x_all[:1, :path.batch, :] if path.one_step else x_all[:, :path.batch, :]
        inputs = {**params, "x": xp_, **({} if path.zero_state else {k: v[:path.batch, :] for k, v in states_all.items()})}
        if path.compare:
            without_cache = _package_pair(cell, engine, path.reset_after, need_cache=False)[0]
            found = _compare_forwards(path.compare, names, params, inputs, without_cache, run_forward)
        else:
            found = _check_path(kind, names, params, inputs, run_forward, run_backward, path, rng, seed, kwargs)
        for c in found:
            c.path = path.label
            checks.append(c)
    settings = {**_settings_of_gradcheck(), **kwargs}
    report = GradcheckReport(checks=checks, threshold=settings["threshold"], eps=settings["eps"], paths=[p.label for p in paths])
    report.notes.append(_what_runs(cell, engine, x, custom))
    report.notes += _eps_note(report)
    if cell == "lstm" and has_kernel and not custom and B == 1:  # has_kernel: engine is not the reference
        report.notes.append("not checked: the kernel at a batch > 1 (x has one column); check it with B >= 2 (--batch 2)")
    return report


def _check_layer_settings(kwargs: Mapping) -> None:
    """The keywords a layer check passes on to ``gradcheck``, checked once before any path runs (a misspelt one
    was reported as a crash of the forward under check, on every path)."""
    unknown = sorted(set(kwargs) - set(SETTINGS) - {"fixed"})
    if unknown:
        raise ConfigError(f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; the settings passed on to "
                          f"gradcheck are {', '.join(SETTINGS)} and fixed")
    _check_settings(**{**_settings_of_gradcheck(), **{k: v for k, v in kwargs.items() if k in SETTINGS}})


def _settings_of_gradcheck() -> dict:
    """``gradcheck``'s defaults of ``SETTINGS``, read from its signature (declared there only)."""
    return {name: p.default for name, p in inspect.signature(gradcheck).parameters.items() if name in SETTINGS}


class _ForwardShape(Exception):
    """A forward that returned something other than ``(hs, state_T, cache)``: said as such, not as its crash."""


def _check_path(kind, names, params, inputs, forward, backward, path: _Path, rng, seed, kwargs) -> list[ParamCheck]:
    """One path of ``cell_gradcheck``: the backward's gradients against finite differences, or why there are none."""
    x = inputs["x"]
    T, B, _ = x.shape
    H = kind.sizes(params)[1]
    xp = namespace(x)
    R = like(rng.standard_normal((T, B, H)), x) if path.every_step else None
    carried = {"all": len(names), "h": 1, "none": 0}[path.finals]  # the first final states carry a gradient
    finals = [like(rng.standard_normal((B, H)), x) if k < carried else None for k in range(len(names))]  # r_s or None

    def run(values):
        out = forward({k: values[k] for k in params}, values["x"], *(values.get(k) for k in names))  # (None: zeros)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            got = f"{len(out)} values" if isinstance(out, (tuple, list)) else f"a {type(out).__name__}"
            raise _ForwardShape(f"the forward returned {got}; it must return (hs, final state, cache)")
        hs, last, cache = out
        return hs, (last if isinstance(last, tuple) else (last,)), cache

    def loss_fn(values):
        hs, last, _ = run(values)
        outputs = xp.sum(R * hs) if R is not None else 0.0
        return float(outputs + sum(xp.sum(r * s) for r, s in zip(finals, last) if r is not None))

    try:
        _, _, cache = run(inputs)
    except _ForwardShape as exc:
        return [_missing("forward", (), str(exc))]
    except Exception as exc:  # the code under check crashed: a failed check, not an error of the checker
        return [_crash("forward", exc)]
    given = [None if a is None else xp.asarray(a, copy=True) for a in (R, *finals)]  # the backward's own copies:
    try:                                                                              # the loss keeps R and finals
        out = backward(cache, *given)
    except Exception as exc:
        return [_crash("backward", exc)]
    argument_names = ["dhs", *(f"d{name.removesuffix('0')}_T" for name in names)]  # dhs, dh_T, dc_T
    changed = [n for n, a, b in zip(argument_names, (R, *finals), given) if a is not None and not bool(xp.all(a == b))]
    if changed:  # it changed the loss the finite differences measure: a gradient 2x too large passed, a right one failed
        return [_missing("backward", (), f"the backward changed its argument{'s' if len(changed) > 1 else ''} "
                                         f"{', '.join(changed)} in place: a caller's gradient would change under it; compute "
                                         "into new arrays (dh = dhs[t] + dh_next, not dh = dhs[t]; dh += dh_next)")]
    grads, rest = (out[0], list(out[1:])) if isinstance(out, (tuple, list)) and out else ({}, [])
    rest += [None] * (1 + len(names) - len(rest))  # a backward that returned too few values
    analytic = {**(grads if isinstance(grads, Mapping) else {}), "x": rest[0], **dict(zip(names, rest[1:]))}
    blocks = {name: kind.gate_blocks(name) for name in params if kind.gate_blocks(name)}
    try:
        report = gradcheck(loss_fn, inputs, {k: v for k, v in analytic.items() if k in inputs}, seed=seed,
                           gate_blocks=blocks, time_major=("x",), **kwargs)
    except ScratchLSTMError:
        raise
    except Exception as exc:  # the forward crashed on a perturbed input
        return [_crash("forward", exc)]
    return report.checks


def _compare_forwards(how: str, names, params, inputs, without_cache: Callable, with_cache: Callable) -> list[ParamCheck]:
    """Forwards that must give the same numbers as the one whose gradients the other paths check, output by output:
    ``how="cache"``, the forward without a cache against the forward with one, at ``T`` steps and at ``T - 1`` (a
    kernel keeps the state in alternate buffers); ``how="zeros"``, the forward with every initial state None against
    the forward given zeros, with a cache (training's first window) and without one (prediction)."""
    x = inputs["x"]
    xp = namespace(x)
    params = {k: inputs[k] for k in params}
    states = [inputs.get(k) for k in names]
    zeros = [xp.zeros_like(s) for s in states]
    none = [None] * len(names)
    if how == "cache":
        runs = [(f"T={T}", without_cache, (params, x[:T, :, :], *states), (params, x[:T, :, :], *states))
                for T in sorted({x.shape[0], max(x.shape[0] - 1, 1)}, reverse=True)]
    else:
        runs = [("None", with_cache, (params, x, *none), (params, x, *zeros)),
                ("None, no cache", without_cache, (params, x, *none), (params, x, *zeros))]
    outputs = ["hs", *(f"{name.removesuffix('0')}_T" for name in names)]  # hs, h_T, c_T
    checks = []
    for label, forward, args, reference_args in runs:
        try:
            hs, last, cache = forward(*args)
            hs_ref, last_ref, _ = with_cache(*reference_args)
        except Exception as exc:
            return [_crash("forward", exc)]
        last, last_ref = (v if isinstance(v, tuple) else (v,) for v in (last, last_ref))
        for name, a, b in zip(outputs, (hs, *last), (hs_ref, *last_ref)):
            row = f"{name} ({label})"
            if forward is without_cache and cache is not None:
                checks.append(_missing(row, tuple(b.shape), "the forward without a cache returned a cache"))
            elif tuple(a.shape) != tuple(b.shape):
                checks.append(_missing(row, tuple(b.shape), f"shape {tuple(a.shape)}, and {tuple(b.shape)} from the reference forward"))
            else:
                got, expected = to_numpy(a), to_numpy(b)
                check = _compare(row, got, np.arange(expected.size), expected, 0.0, None, name == "hs")
                check.compared = "this forward vs the one checked"
                checks.append(check)
    return checks
