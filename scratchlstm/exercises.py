"""Checkers for the course's exercises: your function against the reference, with a report that says what is wrong.

Each checker runs the function you wrote and the package's reference (``scratchlstm/nn/lstm.py``) on
the same random float64 inputs, at several shapes (B = 1 and H = 1 among them), and returns an
``ExerciseReport``:

    check_cell_forward(lstm_cell_forward)     # one step forward: (h_t, c_t, step_cache)
    check_gates_backward(gates_backward)      # the elementwise part of one step backward: (da, dc_prev)

A right answer gets one line, PASS. A wrong one gets FAIL and what differs: which output, which gate
block (i, f, g, o), by how much, and, where a common slip explains the numbers exactly, which slip.
A function that raises (the exercise's ``raise NotImplementedError("write this")`` included),
returns the wrong number of values, arrays of the wrong shape, or changes its inputs in place gets
one paragraph saying so, not a traceback.

The gate backward is also checked through time: ``bptt_with(gates_backward)`` is the reference
backpropagation through time, ``lstm_backward``, with your function in place of the reference's
``_gates_backward``, and ``lstm_gradcheck`` compares its gradients with finite differences. A failing
report includes the check's table, with its per-gate-block and worst-step lines.

Two arrays agree when ``max |yours - reference| <= TOLERANCE * max |reference|``; different but correct
ways of writing the equations (the sigmoid as ``1 / (1 + exp(-a))``, say) differ by about 1e-16.
"""

from __future__ import annotations

import copy
import math
import traceback
import types
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .gradcheck import GradcheckReport, lstm_gradcheck
from .nn import lstm as _lstm
from .nn.init import init_lstm_params

GATES = ("i", "f", "g", "o")  # the blocks of a, W_x, W_h and b, in this order
SHAPES = ((3, 2, 4), (1, 3, 2), (2, 2, 1), (1, 1, 1))  # (B, D, H): every size differs in the first, then B = 1, H = 1, all 1
TOLERANCE = 1e-9


@dataclass(repr=False)
class ExerciseReport:
    """A checker's verdict: ``passed``, and the text a notebook shows (``print(report)`` or the report itself)."""

    exercise: str  # the function's name in the exercise
    passed: bool
    lines: list[str]
    gradcheck: GradcheckReport | None = field(default=None)  # the check through time, where one ran

    def __str__(self) -> str:
        return "\n".join(self.lines)

    __repr__ = __str__  # a notebook cell ending with the report shows the text, not the fields


class _Refusal(Exception):
    """Raised inside a checker when the function cannot be compared; its message is the paragraph."""


# ----------------------------------------------------------------------------------------------
# calling the learner's function safely


def _shape_text(B: int, D: int | None, H: int) -> str:
    return f"B = {B}, H = {H}" if D is None else f"B = {B}, D = {D}, H = {H}"


def _describe(args: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {tuple(a.shape)}" for name, a in args.items())


def _where(exc: BaseException, fn: Callable) -> str:
    """Where in ``fn`` the exception came from (", on line 3 of the function, `a = W_x @ x_t`"), or ""."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == code.co_filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = f", `{frame.line.strip()}`" if frame.line else ""
    return f", on line {frame.lineno - code.co_firstlineno + 1} of the function{line}"


def _not_written(name: str, exc: NotImplementedError) -> "_Refusal":
    """The one-line report of an exercise whose placeholder still raises."""
    return _Refusal(f"FAIL: {name} is not written yet (it raises NotImplementedError: {exc}). Replace the raise line "
                    f"with your code, run that cell, then run this check again.")


SHAPE_HINT = "Check that line's shapes against the ones the exercise gives."


def _same(a: object, b: object) -> bool:
    """Equal values, compared through dicts, lists and tuples, arrays entry by entry."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return a == b


def _edited_in_place(k: str, given: object, after: object) -> tuple[str, str] | None:
    """What the call changed of argument ``k`` (the caller's value ``given``, the copy it was handed ``after``), and
    the fix to name; None when nothing changed. A dict of arrays is blamed key by key."""
    if isinstance(given, dict) and isinstance(after, dict) and given.keys() == after.keys() \
            and all(isinstance(v, np.ndarray) for v in given.values()):
        p = next((p for p, v in given.items() if not _same(after[p], v)), None)
        return None if p is None else (f"{k}[{p!r}]", f"read {k}[{p!r}] into a new name and leave {k} as it is")
    if _same(after, given):
        return None
    return k, f"`{k} = {k} + ...` makes a new array, `{k} += ...` changes the caller's"


def _call(fn: Callable, name: str, args: dict[str, object], case: str, hint: str = SHAPE_HINT) -> object:
    """``fn(*args)`` on deep copies of the arguments; a raise or an argument changed in place becomes a ``_Refusal``."""
    copies = copy.deepcopy(args)
    try:
        out = fn(*copies.values())
    except NotImplementedError as exc:
        raise _not_written(name, exc) from None
    except Exception as exc:  # the learner's bug, reported as one paragraph
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
        if len(message) > 240:
            message = message[:237] + "..."
        dicts = [f"{k} has the keys {', '.join(map(repr, a))}." for k, a in args.items() if isinstance(a, dict)]
        hint = " ".join(dicts) if isinstance(exc, KeyError) and dicts else hint
        raise _Refusal(f"FAIL: {name} raised {type(exc).__name__}{_where(exc, fn)}, at {case}: {message}. {hint}") from None
    for k, given in args.items():
        edited = _edited_in_place(k, given, copies[k])
        if edited is not None:
            what, fix = edited
            raise _Refusal(f"FAIL: {name} changed its argument {what} in place (at {case}). The caller's arrays must "
                           f"stay as they were: {fix}.")
    return out


def _values(out: object, name: str, count: int, contract: str) -> tuple:
    """The ``count`` values ``fn`` returned, or a ``_Refusal`` that says what came back instead."""
    if out is None:
        raise _Refusal(f"FAIL: {name} returned None: does it end with a return line? It must return {count} values: "
                       f"{contract}.")
    if not isinstance(out, (tuple, list)):
        raise _Refusal(f"FAIL: {name} returned one {type(out).__name__}; it must return {count} values: {contract}.")
    if len(out) != count:
        raise _Refusal(f"FAIL: {name} returned {len(out)} values; it must return {count}: {contract}.")
    return tuple(out)


def _array(value: object, label: str, shape: tuple[int, ...], name: str, case: str, meaning: str) -> np.ndarray:
    """``value`` as a float array of ``shape``, or a ``_Refusal`` naming what came back."""
    try:
        a = np.asarray(value)
    except Exception:  # an object NumPy cannot read
        a = None
    if a is None or a.dtype.kind not in "fiu":
        raise _Refusal(f"FAIL: {name} returned {type(value).__name__} for {label}, not an array of numbers; "
                       f"{label} is {meaning}, of shape {shape}.")
    if a.shape != shape:
        looks = " (it looks transposed)" if a.shape == shape[::-1] and len(shape) == 2 else ""
        raise _Refusal(f"FAIL: {name} returned {label} of shape {a.shape}{looks}, at {case}; {label} is {meaning}, "
                       f"of shape {shape}. Follow the shapes through your code (a shape comment on every line helps).")
    return a


# ----------------------------------------------------------------------------------------------
# comparing, and naming the slip


def _close(a: np.ndarray, ref: np.ndarray) -> bool:
    return bool(np.max(np.abs(a - ref), initial=0.0) <= TOLERANCE * max(np.max(np.abs(ref), initial=0.0), 1e-300))


def _difference(a: np.ndarray, ref: np.ndarray, offset: int = 0) -> str:
    """'off by up to 2.1e-01 (at [0, 5]: yours +0.4213, reference +0.6312; the reference's entries reach 8.0e-01)'."""
    diff = np.abs(a - ref)
    b, k = np.unravel_index(int(np.argmax(diff)), diff.shape)
    # enough decimals for the two values to differ where they do (0.27051 against 0.27049, not +0.2705 twice)
    places = min(16, max(4, 1 - math.floor(math.log10(diff[b, k])))) if diff[b, k] > 0 else 4
    return (f"off by up to {diff[b, k]:.1e} (at [{b}, {k + offset}]: yours {a[b, k]:+.{places}f}, reference "
            f"{ref[b, k]:+.{places}f}; the reference's entries reach {np.max(np.abs(ref)):.1e})")


def _dtype_note(lines: list[str], arrays: dict[str, np.ndarray]) -> list[str]:
    """``lines``, and when something is wrong, a line naming the outputs not computed in float64."""
    narrow = [f"{name} is {a.dtype}" for name, a in arrays.items() if a.dtype != np.float64]
    if lines and narrow:
        return lines + [f"  {', '.join(narrow)}, but every input is float64: compute in the inputs' dtype"]
    return lines


def _slip(a: np.ndarray, slips: Sequence[tuple[str, np.ndarray]]) -> str | None:
    """The first slip whose value ``a`` equals."""
    return next((text for text, value in slips if _close(a, value)), None)


def _blocks(a: np.ndarray, H: int) -> list[np.ndarray]:
    return [a[:, k * H : (k + 1) * H] for k in range(4)]  # (B, H) each, i | f | g | o


def _block_lines(yours: list[np.ndarray], ref: list[np.ndarray], label: str, H: int,
                 slips: dict[str, list[tuple[str, np.ndarray]]]) -> list[str]:
    """One line per wrong gate block, with the slip that explains it (merged when every block has the same)."""
    wrong = [k for k in range(4) if not _close(yours[k], ref[k])]
    hints = {k: _slip(yours[k], slips[GATES[k]]) for k in wrong}
    lines = [f"  {label} block {GATES[k]} (columns {k}H:{k + 1}H): {_difference(yours[k], ref[k], k * H)}" for k in wrong]
    shared = {hints[k] for k in wrong}
    if len(wrong) > 1 and len(shared) == 1 and None not in shared:
        return lines + [f"    blocks {', '.join(GATES[k] for k in wrong)}: {shared.pop()}"]
    for k in reversed(wrong):
        if hints[k]:
            lines.insert(wrong.index(k) + 1, f"    {hints[k]}")
    return lines


def _state_lines(label: str, yours: np.ndarray, ref: np.ndarray, rule: str, *, follows: bool,
                 slips: Sequence[tuple[str, np.ndarray]]) -> list[str]:
    """Lines for a wrong c_t, tc, h_t or dc_prev: by how much, then whether ``rule`` holds for your own wrong
    inputs to it (``follows``: fix those first) or which slip explains it."""
    if _close(yours, ref):
        return []
    why = (f"it follows from your wrong values before it ({rule} holds for them): fix those first" if follows else
           _slip(yours, slips) or rule)
    return [f"  {label}: {_difference(yours, ref)}", f"    {why}"]


def _report(name: str, problems: dict[tuple[int, ...], list[str]], shapes: Sequence[tuple[int, ...]], case_text) -> list[str]:
    """The FAIL lines: how many shapes fail, then the first failing shape's details."""
    failing = [s for s in shapes if problems.get(s)]
    first = failing[0]
    return ([f"FAIL: {name} differs from the reference at {len(failing)} of {len(shapes)} shapes; "
             f"at {case_text(first)}:"] + problems[first])


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(a, -500, 500)))


def _random_step(B: int, D: int, H: int, seed: int) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Float64 params with non-zero biases and inputs of one step, at a scale where every gate varies."""
    rng = np.random.default_rng(seed)
    params = {"W_x": rng.normal(0, 0.6, (D, 4 * H)), "W_h": rng.normal(0, 0.6, (H, 4 * H)), "b": rng.normal(0, 0.5, 4 * H)}
    return params, rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))


# ----------------------------------------------------------------------------------------------
# exercise 1: one step forward

FORWARD_CONTRACT = ("h_t (B, H), c_t (B, H) and step_cache, a dict with 'gates' (B, 4H), the activated gates "
                    "in the order i | f | g | o, and 'tc' (B, H), tanh(c_t)")
C_RULE, H_RULE = "c_t = f * c_{t-1} + i * g", "h_t = o * tanh(c_t)"


def check_cell_forward(fn: Callable, name: str = "lstm_cell_forward") -> ExerciseReport:
    """Check ``fn(params, x_t, h_prev, c_prev) -> (h_t, c_t, step_cache)`` against ``lstm_cell_forward``.

    Parameters
    ----------
    fn : callable
        Your one-step forward. ``params`` holds ``W_x (D, 4H)``, ``W_h (H, 4H)`` and ``b (4H,)``;
        ``x_t`` is (B, D), ``h_prev`` and ``c_prev`` (B, H). ``step_cache`` must hold ``"gates"``
        (B, 4H), the activated gates in the order i | f | g | o, and ``"tc"`` (B, H), tanh(c_t): what
        the backward reuses.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL with every wrong quantity in the order gates (block by block), c_t, tc, h_t,
        each saying whether it merely follows from a wrong one before it.
    """
    if not callable(fn):
        return ExerciseReport(name, False, [f"FAIL: check_cell_forward needs your function, got {type(fn).__name__}."])
    problems: dict[tuple[int, ...], list[str]] = {}
    try:
        for seed, (B, D, H) in enumerate(SHAPES):
            problems[(B, D, H)] = _forward_problems(fn, name, B, D, H, seed)
    except _Refusal as refusal:
        return ExerciseReport(name, False, [str(refusal)])
    if not any(problems.values()):
        shapes = ", ".join(str(s) for s in SHAPES)
        return ExerciseReport(name, True, [f"PASS: {name} matches the reference (h_t, c_t, every gate block, tc) at "
                                           f"(B, D, H) = {shapes}."])
    return ExerciseReport(name, False, _report(name, problems, SHAPES, lambda s: _shape_text(*s)))


def _forward_problems(fn: Callable, name: str, B: int, D: int, H: int, seed: int) -> list[str]:
    params, x_t, h_prev, c_prev = _random_step(B, D, H, seed)
    case = _shape_text(B, D, H) + f" ({_describe({'x_t': x_t, 'h_prev': h_prev, 'c_prev': c_prev})}; " \
                                  f"{_describe(params)})"
    hint = "Check that line's shapes: x_t (B, D) @ W_x (D, 4H) and h_prev (B, H) @ W_h (H, 4H) give a (B, 4H)."
    out = _call(fn, name, {"params": params, "x_t": x_t, "h_prev": h_prev, "c_prev": c_prev}, case, hint)
    h, c, cache = _values(out, name, 3, FORWARD_CONTRACT)
    h = _array(h, "h_t", (B, H), name, case, "the new hidden state")
    c = _array(c, "c_t", (B, H), name, case, "the new cell state")
    if not isinstance(cache, dict):
        raise _Refusal(f"FAIL: {name} returned {type(cache).__name__} as its third value; it must be step_cache, a dict "
                       f"with 'gates' and 'tc'. The three values are {FORWARD_CONTRACT}.")
    for key, meaning in (("gates", "the activated gates, np.concatenate([i, f, g, o], axis=1)"), ("tc", "tanh(c_t)")):
        if key not in cache:
            raise _Refusal(f"FAIL: {name}'s step_cache has no {key!r} (it has {sorted(cache)}); the backward needs "
                           f"{key!r}: {meaning}.")
    gates = _array(cache["gates"], "step_cache['gates']", (B, 4 * H), name, case, "the activated gates i | f | g | o")
    tc = _array(cache["tc"], "step_cache['tc']", (B, H), name, case, "tanh(c_t)")

    ref_h, ref_c, ref_cache = _lstm.lstm_cell_forward(params, x_t, h_prev, c_prev)
    ref_gates = _blocks(ref_cache["gates"], H)
    yours = _blocks(gates, H)
    lines = _block_lines(yours, ref_gates, "gates", H, _forward_slips(params, x_t, h_prev, ref_gates, H))
    i, f, g, o = yours
    ri, rf, rg, ro = ref_gates
    lines += _state_lines("c_t", c, ref_c, C_RULE, follows=bool(lines) and _close(c, f * c_prev + i * g), slips=[
        (f"{C_RULE}: the factor i is missing from i * g", rf * c_prev + rg),
        (f"{C_RULE}: the factor f is missing from f * c_{{t-1}}", c_prev + ri * rg),
        (f"{C_RULE}: the two products are swapped", ri * c_prev + rf * rg)])
    lines += _state_lines("step_cache['tc']", tc, np.tanh(ref_c), "tc = tanh(c_t)",
                          follows=bool(lines) and _close(tc, np.tanh(c)),
                          slips=[("tc must be tanh(c_t), not c_t", ref_c),
                                 ("tc must be tanh(c_t), not tanh(c_{t-1})", np.tanh(c_prev))])
    lines += _state_lines("h_t", h, ref_h, H_RULE, follows=bool(lines) and _close(h, o * np.tanh(c)), slips=[
        (f"{H_RULE}: the tanh is missing", ro * ref_c),
        (f"{H_RULE}: the factor o is missing", np.tanh(ref_c)),
        (f"{H_RULE}: it uses c_{{t-1}} where c_t belongs", ro * np.tanh(c_prev))])
    return _dtype_note(lines, {"h_t": h, "c_t": c, "step_cache['gates']": gates, "step_cache['tc']": tc})


def _forward_slips(params: dict, x_t: np.ndarray, h_prev: np.ndarray, ref_gates: list[np.ndarray],
                   H: int) -> dict[str, list[tuple[str, np.ndarray]]]:
    """For each gate block: the values a common slip would give it, with the slip's description."""
    xw, hw, b = x_t @ params["W_x"], h_prev @ params["W_h"], params["b"]
    a = _blocks(xw + hw + b, H)
    parts = {"b": _blocks(np.broadcast_to(b, xw.shape), H), "h_{t-1} W_h": _blocks(hw, H), "x_t W_x": _blocks(xw, H)}
    activation = {"i": _sigmoid, "f": _sigmoid, "g": np.tanh, "o": _sigmoid}
    order = "the blocks of a are in the order i | f | g | o (columns 0H:1H, 1H:2H, 2H:3H, 3H:4H)"
    slips = {}
    for k, gate in enumerate(GATES):
        act = activation[gate]
        options = [(f"it is computed from block {GATES[j]} of a: {order}", act(a[j])) for j in range(4) if j != k]
        options += [(f"it holds gate {GATES[j]}'s values: {order}", ref_gates[j]) for j in range(4) if j != k]
        if gate == "g":
            options.append(("g is the candidate: tanh of its block, not the sigmoid", _sigmoid(a[k])))
        else:
            options.append((f"{gate} is a gate: the sigmoid of its block, not tanh", np.tanh(a[k])))
        options.append(("it is the block of a itself: apply the nonlinearity", a[k]))
        options += [(f"a is missing the term {term}: a = x_t W_x + h_{{t-1}} W_h + b", act(a[k] - part[k]))
                    for term, part in parts.items()]
        slips[gate] = options
    return slips


# ----------------------------------------------------------------------------------------------
# exercise 2: the elementwise part of one step backward

BACKWARD_CONTRACT = "da (B, 4H), the gradient of the gate pre-activations in the order i | f | g | o, and dc_prev (B, H)"
DC_RULE = "dc = dc + dh * o * (1 - tc^2), then dc_prev = dc * f"


def bptt_with(gates_backward: Callable) -> Callable:
    """``lstm_backward`` with ``gates_backward`` in place of the reference's elementwise step.

    Parameters
    ----------
    gates_backward : callable
        ``gates_backward(dh, dc, gates, c_prev, tc) -> (da (B, 4H), dc_prev (B, H))``, the
        signature of ``_gates_backward`` in ``scratchlstm/nn/lstm.py``.

    Returns
    -------
    backward : callable
        ``backward(cache, dhs, dh_T=None, dc_T=None) -> (grads, dx, dh0, dc0)`` for caches of
        ``lstm_forward(..., engine="reference")``: the reference's own loop through time, dx,
        dh_{t-1} and weight gradients around your elementwise step. Pass it to
        ``lstm_gradcheck(params, x, backward=...)``.

    Notes
    -----
    The module is not patched: the backward runs the code of ``lstm_backward`` itself with the name
    ``_gates_backward`` bound to your function, so your function may call the reference's.
    """
    calls = []

    def step(*args):
        calls.append(1)
        return gates_backward(*args)

    def rebound(reference, names):  # ``reference``'s own code, with ``names`` bound to other functions
        fn = types.FunctionType(reference.__code__, {**reference.__globals__, **names}, reference.__name__,
                                reference.__defaults__, reference.__closure__)
        fn.__kwdefaults__ = reference.__kwdefaults__
        return fn

    # lstm_backward calls lstm_cell_backward at every step, which calls _gates_backward
    cell_backward = rebound(_lstm.lstm_cell_backward, {"_gates_backward": step})
    loop = rebound(_lstm.lstm_backward, {"_gates_backward": step, "lstm_cell_backward": cell_backward})

    def backward(cache, dhs, dh_T=None, dc_T=None):
        if not isinstance(cache, _lstm.LSTMCache):
            raise ValueError("bptt_with(...) needs a cache of the reference engine: lstm_forward(params, x, engine='reference')")
        calls.clear()
        out = loop(cache, dhs, dh_T, dc_T)
        if len(calls) != cache.x.shape[0]:  # lstm_backward no longer calls _gates_backward once per step
            raise AssertionError(f"lstm_backward called the elementwise step {len(calls)} times for {cache.x.shape[0]} steps; "
                                 "bptt_with must follow how it is written now")
        return out

    return backward


def check_gates_backward(fn: Callable, name: str = "gates_backward") -> ExerciseReport:
    """Check ``fn(dh, dc, gates, c_prev, tc) -> (da, dc_prev)`` against the reference, then through time.

    Parameters
    ----------
    fn : callable
        Your elementwise backward of one step: ``dh`` and ``dc`` (B, H) are the gradients of the loss
        with respect to h_t and c_t (dc from step t+1 only); ``gates`` (B, 4H) the activated gates
        i | f | g | o, ``c_prev`` (B, H) c_{t-1}, ``tc`` (B, H) tanh(c_t).
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL with which of da's blocks and whether dc_prev differ, by how much and, where a
        common slip explains it, which; then the gradient check through time of ``bptt_with(fn)``
        (``report.gradcheck``), whose table names the failing gate blocks and the worst time step.
    """
    if not callable(fn):
        return ExerciseReport(name, False, [f"FAIL: check_gates_backward needs your function, got {type(fn).__name__}."])
    shapes = [(B, H) for B, _, H in SHAPES]
    problems: dict[tuple[int, ...], list[str]] = {}
    try:
        for seed, (B, D, H) in enumerate(SHAPES):
            problems[(B, H)] = _backward_problems(fn, name, B, D, H, seed)
        gradcheck = _gradcheck_through_time(fn, name)
    except _Refusal as refusal:
        return ExerciseReport(name, False, [str(refusal)])
    if not any(problems.values()) and gradcheck.passed:
        return ExerciseReport(name, True, [
            f"PASS: {name} matches the reference (every block of da, and dc_prev) at (B, H) = "
            f"{', '.join(str(s) for s in shapes)}, and inside backpropagation through time it passes the gradient "
            f"check (max rel error {gradcheck.max_rel_error:.1e} over W_x, W_h, b, x, h0 and c0)."], gradcheck)
    lines = (_report(name, problems, shapes, lambda s: _shape_text(s[0], None, s[1])) if any(problems.values()) else
             [f"FAIL: {name} matches the reference on the checker's inputs, but not inside backpropagation through time:"])
    lines += ["", f"The gradient check through time, with {name} inside lstm_backward "
                  f"(lstm_gradcheck(params, x, backward=bptt_with({name}))):"]
    lines += ["  " + line for line in str(gradcheck).splitlines()]
    return ExerciseReport(name, False, lines, gradcheck)


def _backward_problems(fn: Callable, name: str, B: int, D: int, H: int, seed: int) -> list[str]:
    params, x_t, h_prev, c_prev = _random_step(B, D, H, seed)
    _, _, step = _lstm.lstm_cell_forward(params, x_t, h_prev, c_prev)
    rng = np.random.default_rng(100 + seed)
    dh, dc = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    args = {"dh": dh, "dc": dc, "gates": step["gates"], "c_prev": c_prev, "tc": step["tc"]}
    case = _shape_text(B, None, H) + f" ({_describe(args)})"
    hint = ("Check that line's shapes: dh, dc, c_prev and tc are (B, H); gates is (B, 4H), and gates[:, 0:H] is i, "
            "gates[:, H:2H] f, gates[:, 2H:3H] g, gates[:, 3H:4H] o.")
    out = _call(fn, name, args, case, hint)
    da, dc_prev = _values(out, name, 2, BACKWARD_CONTRACT)
    da = _array(da, "da", (B, 4 * H), name, case, "the gradient of the pre-activations a, blocks i | f | g | o")
    dc_prev = _array(dc_prev, "dc_prev", (B, H), name, case, "the gradient of c_{t-1}")

    gates, tc = step["gates"], step["tc"]
    ref_da, ref_dc_prev = _lstm._gates_backward(dh, dc, gates, c_prev, tc)
    lines = _block_lines(_blocks(da, H), _blocks(ref_da, H), "da", H, _backward_slips(dh, dc, gates, c_prev, tc, H))
    _, f, _, o = _blocks(gates, H)
    total = dc + dh * o * (1 - tc**2)  # dc with the path through h_t
    lines += _state_lines("dc_prev", dc_prev, ref_dc_prev, DC_RULE, follows=False, slips=[
        ("dc_prev = dc * f: the factor f (the forget gate) is missing", total),
        ("dc must first collect the path through h_t, dc = dc + dh * o * (1 - tc^2), before dc_prev = dc * f", dc * f),
        ("dc_prev = dc * f, with dc = dc + dh * o * (1 - tc^2): both are missing", dc),
        ("tanh's derivative is 1 - tc^2 (tc = tanh(c_t) is saved), not 1 - tc", (dc + dh * o * (1 - tc)) * f)])
    return _dtype_note(lines, {"da": da, "dc_prev": dc_prev})


def _backward_slips(dh, dc, gates, c_prev, tc, H: int) -> dict[str, list[tuple[str, np.ndarray]]]:
    """For each block of da: the values a common slip would give it, with the slip's description."""
    i, f, g, o = _blocks(gates, H)
    total = dc + dh * o * (1 - tc**2)  # dc with the path through h_t
    upstream = {"i": total * g, "f": total * c_prev, "g": total * i, "o": dh * tc}  # di, df, dg, do
    partial = {"i": dc * g, "f": dc * c_prev, "g": dc * i}  # the same with the incoming dc alone
    gate_value = {"i": i, "f": f, "g": g, "o": o}
    right = {k: upstream[k] * (1 - g**2) if k == "g" else upstream[k] * gate_value[k] * (1 - gate_value[k]) for k in GATES}
    slips = {}
    for k, gate in enumerate(GATES):
        s = gate_value[gate]
        options = [(f"it holds block {GATES[j]}'s values: da's blocks are in the order i | f | g | o", right[GATES[j]])
                   for j in range(4) if j != k]
        options.append((f"the nonlinearity's derivative is missing: da_{gate} = d{gate} * "
                        + ("(1 - g^2)" if gate == "g" else f"{gate} * (1 - {gate})"), upstream[gate]))
        if gate == "g":
            options.append(("g = tanh(...), so its derivative is 1 - g^2, not g * (1 - g)", upstream[gate] * g * (1 - g)))
        else:
            options.append((f"{gate} = sigmoid(...), so its derivative is {gate} * (1 - {gate}), not 1 - {gate}^2",
                            upstream[gate] * (1 - s**2)))
        if gate in partial:
            options.append((f"d{gate} needs the total dc, dc + dh * o * (1 - tc^2), not the dc passed in",
                            partial[gate] * ((1 - g**2) if gate == "g" else s * (1 - s))))
        slips[gate] = options
    return slips


def _gradcheck_through_time(fn: Callable, name: str) -> GradcheckReport:
    """``lstm_gradcheck`` of the reference forward with ``bptt_with(fn)`` as its backward."""
    params = init_lstm_params(3, 3, seed=0, dtype="float64", forget_bias=1.0)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))  # (T, B, D)
    try:
        return lstm_gradcheck(params, x, backward=bptt_with(fn))
    except Exception as exc:  # the learner's function failed on inputs of the loop through time
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
        raise _Refusal(f"FAIL: inside backpropagation through time (T = 5, B = 2, H = 3), {name} raised "
                       f"{type(exc).__name__}{_where(exc, fn)}: {message}.") from None
