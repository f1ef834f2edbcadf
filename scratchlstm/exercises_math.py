"""Checkers for the course's later exercises: loops through time, clipping, Adam, the GRU cell, the gradient check.

Each checker works as those of ``scratchlstm.exercises``: your function and the package's own code
run on the same random float64 inputs at several shapes (B = 1 and H = 1 among them); the report is
PASS in one line, or FAIL with which output differs, by how much, and, where a common slip explains
the numbers exactly, which slip. A function that raises (the exercise's placeholder included),
returns the wrong number of values or arrays of the wrong shape, or changes its inputs, gets one
paragraph, never a traceback.

    check_forward_loop(lstm_forward_loop)        # h_t, c_t carried through T steps
    check_bptt_loop(lstm_bptt_loop)              # the backward loop: gradients summed, dh and dc carried back
    check_truncated_bptt(truncated_bptt)         # chunks: states handed on, gradients cut at the boundary
    check_clip_by_norm(clip_by_norm)             # one global norm, scaled only when above the limit
    check_adam_step(adam_step)                   # moments, bias correction, update
    check_gru_cell_forward(gru_cell_forward)     # one GRU step
    check_gru_cell_backward(gru_cell_backward)   # its gradients
    check_relative_error(relative_error)         # the gradient check's measure of one array
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import clipping as _clipping
from .gradcheck import relative_error as _relative_error
from .exercises import TOLERANCE, ExerciseReport, _array, _call, _Refusal, _values
from .nn import gru as _gru
from .nn import lstm as _lstm
from .nn.init import init_gru_params
from .optim import Adam

LOOP_SHAPES = ((5, 3, 2, 4), (4, 1, 3, 2), (3, 2, 2, 1), (3, 1, 1, 1))  # (T, B, D, H): B = 1, H = 1, all 1 but T


# ----------------------------------------------------------------------------------------------
# the shared driver: run every case, compare every output, name the slip


def _difference(a: np.ndarray, ref: np.ndarray) -> str:
    """'off by up to 2.1e-01 (at [0, 5]: yours +0.4213, reference +0.6312)', for arrays of any shape."""
    a, ref = np.asarray(a, dtype=float), np.asarray(ref, dtype=float)
    diff = np.abs(a - ref)
    if diff.ndim == 0:
        return f"off by {float(diff):.1e} (yours {float(a):+.6g}, reference {float(ref):+.6g})"
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return (f"off by up to {diff[where]:.1e} (at {list(map(int, where))}: yours {a[where]:+.4f}, "
            f"reference {ref[where]:+.4f}; the reference's entries reach {np.max(np.abs(ref)):.1e})")


def _near(a: np.ndarray, ref: np.ndarray, tol: float) -> bool:
    a, ref = np.asarray(a, dtype=float), np.asarray(ref, dtype=float)
    return bool(np.max(np.abs(a - ref), initial=0.0) <= tol * max(np.max(np.abs(ref), initial=0.0), 1e-300))


def _output_lines(label: str, yours: np.ndarray, ref: np.ndarray, slips: Sequence[tuple[str, np.ndarray]],
                  tol: float = TOLERANCE) -> list[str]:
    if _near(yours, ref, tol):
        return []
    why = next((t for t, v in slips if np.shape(v) == np.shape(yours) and _near(yours, v, tol)), None)
    return [f"  {label}: {_difference(yours, ref)}"] + ([f"    {why}"] if why else [])


def _drive(fn: Callable, name: str, cases: list[tuple[str, dict]], run: Callable[[object, dict, str], list[str]],
           what: str) -> ExerciseReport:
    """Run ``run(out, args, case)`` on every case; PASS when no case has a problem line."""
    if not callable(fn):
        return ExerciseReport(name, False, [f"FAIL: the checker needs your function {name}, got {type(fn).__name__}."])
    problems = []
    try:
        for case, args in cases:
            out = _call(fn, name, args, case)
            lines = run(out, args, case)
            if lines:
                problems.append((case, lines))
    except _Refusal as refusal:
        return ExerciseReport(name, False, [str(refusal)])
    if not problems:
        return ExerciseReport(name, True, [f"PASS: {name} matches the reference ({what}) at "
                                           f"{'; '.join(case for case, _ in cases)}."])
    case, lines = problems[0]
    return ExerciseReport(name, False, [f"FAIL: {name} differs from the reference in {len(problems)} of {len(cases)} "
                                        f"cases; at {case}:"] + lines)


def _grad_dict(value: object, ref: dict, label: str, name: str, case: str) -> dict:
    if not isinstance(value, dict) or set(value) != set(ref):
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise _Refusal(f"FAIL: {name} returned {got} as {label}; it must be a dict with the keys {sorted(ref)} "
                       f"(the shapes of params), at {case}.")
    return {k: _array(value[k], f"{label}[{k!r}]", tuple(np.shape(ref[k])), name, case, f"the gradient of {k}") for k in ref}


def _lstm_case(T: int, B: int, D: int, H: int, seed: int) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {"W_x": rng.normal(0, 0.6, (D, 4 * H)), "W_h": rng.normal(0, 0.6, (H, 4 * H)), "b": rng.normal(0, 0.5, 4 * H)}
    return params, rng.standard_normal((T, B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))


def _shape(T: int, B: int, D: int, H: int) -> str:
    return f"T = {T}, B = {B}, D = {D}, H = {H}"


# ----------------------------------------------------------------------------------------------
# the forward loop through time

FORWARD_LOOP = "hs (T, B, H), the hidden state of every step, and the final h_T (B, H) and c_T (B, H)"


def _steps(params, x, h, c, carry_h=True, carry_c=True):
    hs, cs = [], []
    h0, c0 = h, c
    for t in range(x.shape[0]):
        h_in, c_in = (h if carry_h else h0), (c if carry_c else c0)
        h, c, _ = _lstm.lstm_cell_forward(params, x[t], h_in, c_in)
        hs.append(h)
        cs.append(c)
    return np.stack(hs), h, c


def check_forward_loop(fn: Callable, name: str = "lstm_forward_loop") -> ExerciseReport:
    """Check ``fn(params, x, h0, c0) -> (hs, h_T, c_T)``, a loop of ``lstm_cell_forward`` over time.

    Parameters
    ----------
    fn : callable
        Your loop: ``x`` (T, B, D), ``h0`` and ``c0`` (B, H); it may call the package's
        ``lstm_cell_forward(params, x_t, h_prev, c_prev) -> (h_t, c_t, step_cache)``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the wrong output and the slip (a state not carried, the hidden state
        stored before the step, the sequence run backwards).
    """
    cases = []
    for seed, (T, B, D, H) in enumerate(LOOP_SHAPES):
        params, x, h0, c0 = _lstm_case(T, B, D, H, seed)
        cases.append((_shape(T, B, D, H), {"params": params, "x": x, "h0": h0, "c0": c0}))

    def run(out, a, case):
        T, B, H = a["x"].shape[0], a["x"].shape[1], a["h0"].shape[1]
        hs, h_T, c_T = _values(out, name, 3, FORWARD_LOOP)
        hs = _array(hs, "hs", (T, B, H), name, case, "the hidden state of every step")
        h_T = _array(h_T, "h_T", (B, H), name, case, "the last hidden state")
        c_T = _array(c_T, "c_T", (B, H), name, case, "the last cell state")
        ref_hs, (ref_h, ref_c), _ = _lstm.lstm_forward(a["params"], a["x"], a["h0"], a["c0"])
        no_h = _steps(a["params"], a["x"], a["h0"], a["c0"], carry_h=False)
        no_c = _steps(a["params"], a["x"], a["h0"], a["c0"], carry_c=False)
        back = _steps(a["params"], a["x"][::-1], a["h0"], a["c0"])
        before = np.concatenate([a["h0"][None], ref_hs[:-1]])
        slips = [("h is not carried: every step must start from the h the step before returned, not from h0", no_h[0]),
                 ("c is not carried: every step must start from the c the step before returned, not from c0", no_c[0]),
                 ("hs[t] holds h_{t-1}: append h after the step, not before it", before),
                 ("the loop runs from the last step to the first: the forward goes t = 0, 1, ..., T-1", back[0]),
                 ("the loop runs from the last step to the first: the forward goes t = 0, 1, ..., T-1", back[0][::-1])]
        lines = _output_lines("hs", hs, ref_hs, slips)
        lines += _output_lines("h_T", h_T, ref_h, [("h_T is h0: return the h of the last step", a["h0"]),
                                                   (slips[0][0], no_h[1]), (slips[1][0], no_c[1]), (slips[3][0], back[1])])
        lines += _output_lines("c_T", c_T, ref_c, [("c_T is c0: return the c of the last step", a["c0"]),
                                                   (slips[0][0], no_h[2]), (slips[1][0], no_c[2]), (slips[3][0], back[2])])
        return lines

    return _drive(fn, name, cases, run, "hs, h_T and c_T")


# ----------------------------------------------------------------------------------------------
# the backward loop through time

BPTT_LOOP = "grads (a dict like params), dx (T, B, D), dh0 (B, H) and dc0 (B, H)"


def _bptt(params, steps, dhs, dh_T, dc_T, *, add_dhs=True, carry_h=True, carry_c=True, accumulate=True):
    T = len(steps)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dxs = [None] * T
    dh_next, dc_next = dh_T, dc_T
    for t in reversed(range(T)):
        dh = (dhs[t] if add_dhs else 0) + (dh_next if carry_h else (dh_T if t == T - 1 else 0))
        dc = dc_next if carry_c else (dc_T if t == T - 1 else np.zeros_like(dc_T))
        g, dxs[t], dh_next, dc_next = _lstm.lstm_cell_backward(params, dh, dc, steps[t])
        for k in grads:
            grads[k] = grads[k] + g[k] if accumulate or t == T - 1 else grads[k]
    return grads, np.stack(dxs), dh_next, dc_next


def check_bptt_loop(fn: Callable, name: str = "lstm_bptt_loop") -> ExerciseReport:
    """Check ``fn(params, steps, dhs, dh_T, dc_T) -> (grads, dx, dh0, dc0)``, the loop of backpropagation through time.

    Parameters
    ----------
    fn : callable
        Your loop: ``steps[t]`` is the ``step_cache`` of step t from ``lstm_cell_forward``; ``dhs``
        (T, B, H) the gradient of the loss with respect to every output, ``dh_T`` and ``dc_T`` (B, H)
        with respect to the final states. It may call the package's
        ``lstm_cell_backward(params, dh, dc, step_cache) -> (grads, dx_t, dh_prev, dc_prev)``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the wrong output and the slip (dhs[t] not added, a gradient not
        carried back, the weight gradients not summed over the steps).
    """
    cases = []
    for seed, (T, B, D, H) in enumerate(LOOP_SHAPES):
        params, x, h0, c0 = _lstm_case(T, B, D, H, seed)
        steps, h, c = [], h0, c0
        for t in range(T):
            h, c, step = _lstm.lstm_cell_forward(params, x[t], h, c)
            steps.append(step)
        rng = np.random.default_rng(50 + seed)
        cases.append((_shape(T, B, D, H), {"params": params, "steps": steps, "dhs": rng.standard_normal((T, B, H)),
                                           "dh_T": rng.standard_normal((B, H)), "dc_T": rng.standard_normal((B, H))}))

    def run(out, a, case):
        T, B, H = a["dhs"].shape
        D = a["params"]["W_x"].shape[0]
        ref = _bptt(a["params"], a["steps"], a["dhs"], a["dh_T"], a["dc_T"])
        grads, dx, dh0, dc0 = _values(out, name, 4, BPTT_LOOP)
        grads = _grad_dict(grads, ref[0], "grads", name, case)
        dx = _array(dx, "dx", (T, B, D), name, case, "the gradient of every input")
        dh0 = _array(dh0, "dh0", (B, H), name, case, "the gradient of h0")
        dc0 = _array(dc0, "dc0", (B, H), name, case, "the gradient of c0")
        slip_runs = [("dhs[t] is not added: at step t, dh = dhs[t] + the dh_prev of step t+1",
                      _bptt(a["params"], a["steps"], a["dhs"], a["dh_T"], a["dc_T"], add_dhs=False)),
                     ("dh is not carried back: at step t, dh = dhs[t] + the dh_prev that step t+1 returned",
                      _bptt(a["params"], a["steps"], a["dhs"], a["dh_T"], a["dc_T"], carry_h=False)),
                     ("dc is not carried back: step t gets the dc_prev that step t+1 returned",
                      _bptt(a["params"], a["steps"], a["dhs"], a["dh_T"], a["dc_T"], carry_c=False)),
                     ("the weight gradients are not summed over the steps: grads[k] += the step's gradient",
                      _bptt(a["params"], a["steps"], a["dhs"], a["dh_T"], a["dc_T"], accumulate=False))]
        lines = []
        for k in ref[0]:
            lines += _output_lines(f"grads[{k!r}]", grads[k], ref[0][k], [(t, r[0][k]) for t, r in slip_runs])
        for label, yours, index in (("dx", dx, 1), ("dh0", dh0, 2), ("dc0", dc0, 3)):
            lines += _output_lines(label, yours, ref[index], [(t, r[index]) for t, r in slip_runs])
        return lines

    return _drive(fn, name, cases, run, "every weight gradient, dx, dh0 and dc0")


# ----------------------------------------------------------------------------------------------
# truncated backpropagation through time: the states handed on, the gradient cut

TRUNCATED = "hs (T, B, H) and grads (a dict like params), the sum of every chunk's gradients"


def _truncated(params, x, chunk, dhs, *, hand_on=True, cut=True, last_only=False, drop_tail=False):
    T, B, _ = x.shape
    H = params["W_h"].shape[0]
    h = c = np.zeros((B, H))
    starts = list(range(0, T - T % chunk if drop_tail else T, chunk))
    caches, hs = [], []
    for s in starts:
        if not hand_on:
            h = c = np.zeros((B, H))
        out, (h, c), cache = _lstm.lstm_forward(params, x[s:s + chunk], h, c)
        hs.append(out)
        caches.append((s, cache))
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh0 = dc0 = None
    for s, cache in reversed(caches):
        g, _, dh, dc = _lstm.lstm_backward(cache, dhs[s:s + chunk], None if cut else dh0, None if cut else dc0)
        dh0, dc0 = dh, dc
        if last_only:
            grads = g if s == caches[-1][0] else grads
        else:
            grads = {k: grads[k] + g[k] for k in grads}
    return np.concatenate(hs), grads


def check_truncated_bptt(fn: Callable, name: str = "truncated_bptt") -> ExerciseReport:
    """Check ``fn(params, x, chunk, dhs) -> (hs, grads)``: truncated backpropagation through time.

    Parameters
    ----------
    fn : callable
        Your function: run ``x`` (T, B, D) in chunks of ``chunk`` steps (the last one shorter when
        ``chunk`` does not divide T), from zero states; hand each chunk's final (h, c) on as the
        next chunk's initial states; backpropagate each chunk alone (no gradient from the next
        chunk into this one) with ``dhs`` (T, B, H) as the gradient of its outputs; sum the chunks'
        weight gradients. It may call ``lstm_forward`` and ``lstm_backward``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip: states not handed on, the gradient not cut (that is full
        backpropagation through time), only the last chunk's gradients, the short last chunk dropped.
    """
    cases = []
    for seed, (T, B, D, H, chunk) in enumerate(((7, 3, 2, 4, 3), (6, 1, 3, 2, 2), (5, 2, 2, 1, 2), (4, 1, 1, 1, 3))):
        params, x, _, _ = _lstm_case(T, B, D, H, seed)
        dhs = np.random.default_rng(70 + seed).standard_normal((T, B, H))
        cases.append((_shape(T, B, D, H) + f", chunk = {chunk}", {"params": params, "x": x, "chunk": chunk, "dhs": dhs}))

    def run(out, a, case):
        T, B, H = a["dhs"].shape
        ref_hs, ref_grads = _truncated(a["params"], a["x"], a["chunk"], a["dhs"])
        hs, grads = _values(out, name, 2, TRUNCATED)
        if np.shape(hs) == (T - T % a["chunk"], B, H) and T % a["chunk"]:
            raise _Refusal(f"FAIL: {name} returned hs for {T - T % a['chunk']} of the {T} steps, at {case}: the last "
                           f"chunk is shorter ({T % a['chunk']} steps) and must be run too.")
        hs = _array(hs, "hs", (T, B, H), name, case, "the hidden state of every step")
        grads = _grad_dict(grads, ref_grads, "grads", name, case)
        kw = [("the states are not handed on: each chunk must start from the (h, c) the chunk before ended with",
               dict(hand_on=False)),
              ("the gradient is not cut: a chunk's backward must start from zero dh_T and dc_T (passing the next "
               "chunk's dh0, dc0 back is full backpropagation through time, not truncated)", dict(cut=False)),
              ("only the last chunk's gradients: sum the gradients of every chunk", dict(last_only=True))]
        runs = [(t, _truncated(a["params"], a["x"], a["chunk"], a["dhs"], **k)) for t, k in kw]
        lines = _output_lines("hs", hs, ref_hs, [(t, r[0]) for t, r in runs])
        for k in ref_grads:
            lines += _output_lines(f"grads[{k!r}]", grads[k], ref_grads[k], [(t, r[1][k]) for t, r in runs])
        return lines

    return _drive(fn, name, cases, run, "hs and the summed gradients")


# ----------------------------------------------------------------------------------------------
# clipping by the global norm

CLIP_TOLERANCE = 1e-5  # the package, as PyTorch, divides by norm + 1e-6: a relative difference of about 1e-7
CLIP = "clipped (a dict with the same keys and shapes) and norm, the global norm before clipping (a float)"


def check_clip_by_norm(fn: Callable, name: str = "clip_by_norm") -> ExerciseReport:
    """Check ``fn(grads, max_norm) -> (clipped, norm)`` against ``clipping.clip_grad_norm``.

    Parameters
    ----------
    fn : callable
        Your clipping: ``grads`` a dict of arrays, ``max_norm`` a positive float. ``norm`` is the
        norm of all the arrays together, ``sqrt(sum of every entry squared)``; when it is above
        ``max_norm`` every array is multiplied by ``max_norm / norm``, otherwise left as it is.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip (one norm per array, no square root, scaled when below the
        limit too, the norm after clipping returned).
    """
    cases = []
    for seed, (D, H, factor) in enumerate(((2, 4, 0.3), (3, 2, 3.0), (2, 1, 0.5), (1, 1, 2.0))):
        rng = np.random.default_rng(90 + seed)
        grads = {"W_x": rng.standard_normal((D, 4 * H)), "W_h": rng.standard_normal((H, 4 * H)), "b": rng.standard_normal(4 * H)}
        max_norm = factor * _clipping.global_norm(grads)
        cases.append((f"D = {D}, H = {H}, max_norm = {factor}x the norm", {"grads": grads, "max_norm": max_norm}))

    def run(out, a, case):
        grads, max_norm = a["grads"], a["max_norm"]
        ref, ref_norm = _clipping.clip_grad_norm(grads, max_norm)
        clipped, norm = _values(out, name, 2, CLIP)
        clipped = _grad_dict(clipped, ref, "clipped", name, case)
        norm = _array(norm, "norm", (), name, case, "the global norm before clipping")
        squares = sum(float(np.sum(g**2)) for g in grads.values())
        each = {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}
        no_root = {k: g * min(1.0, max_norm / squares) for k, g in grads.items()}
        always = {k: g * (max_norm / ref_norm) for k, g in grads.items()}
        lines = []
        for k in ref:
            lines += _output_lines(f"clipped[{k!r}]", clipped[k], ref[k], [
                ("each array is clipped by its own norm: the norm is one number, over every array together", each[k]),
                ("the norm has no square root: norm = sqrt(sum of every entry squared)", no_root[k]),
                ("it scales when the norm is below max_norm too: scale only when norm > max_norm", always[k]),
                ("it is not clipped: multiply every array by max_norm / norm when norm > max_norm", grads[k])], tol=CLIP_TOLERANCE)
        lines += _output_lines("norm", norm, ref_norm, [
            ("norm has no square root: norm = sqrt(sum of every entry squared)", squares),
            ("norm is the norm after clipping: return the one before", min(ref_norm, max_norm))], tol=CLIP_TOLERANCE)
        # float32 is within the tolerance (which allows for the 1e-6 in the division), but not the inputs' dtype
        lines += [f"  clipped[{k!r}] is {clipped[k].dtype}, but the gradients are float64: compute in their dtype"
                  for k in ref if clipped[k].dtype != np.float64]
        return lines

    return _drive(fn, name, cases, run, "the clipped arrays and the norm, above and below the limit")


# ----------------------------------------------------------------------------------------------
# one step of Adam

ADAM = "the new param, m and v, each of param's shape"


def check_adam_step(fn: Callable, name: str = "adam_step") -> ExerciseReport:
    """Check ``fn(param, grad, m, v, t, lr, beta1, beta2, eps) -> (param, m, v)`` against ``optim.Adam``.

    Parameters
    ----------
    fn : callable
        One Adam step on one array: ``m`` and ``v`` the running first and second moments before
        the step, ``t`` the number of this step (1 for the first).
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip (no bias correction, the gradient not squared in v, eps
        inside the square root, the step added instead of subtracted).
    """
    cases = []
    for seed, (shape, t) in enumerate((((3, 8), 1), ((1, 4), 3), ((2, 1), 10), ((1, 1), 2))):
        rng = np.random.default_rng(110 + seed)
        m, v = (rng.standard_normal(shape) * 0.1, rng.random(shape) * 0.01) if t > 1 else (np.zeros(shape), np.zeros(shape))
        args = {"param": rng.standard_normal(shape), "grad": rng.standard_normal(shape), "m": m, "v": v, "t": t,
                "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
        cases.append((f"param {shape}, t = {t}", args))

    def run(out, a, case):
        opt = Adam(lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
        opt.t, opt.steps = a["t"] - 1, {"p": a["t"] - 1}  # steps taken before this one
        opt.state = {"p": {"exp_avg": a["m"], "exp_avg_sq": a["v"]}}
        params = {"p": a["param"].copy()}
        opt.step(params, {"p": a["grad"]})
        ref_p, ref_m, ref_v = params["p"], opt.state["p"]["exp_avg"], opt.state["p"]["exp_avg_sq"]
        p, m, v = _values(out, name, 3, ADAM)
        shape = a["param"].shape
        p, m, v = (_array(val, label, shape, name, case, meaning) for val, label, meaning in
                   ((p, "param", "the updated parameter"), (m, "m", "the new first moment"), (v, "v", "the new second moment")))
        b1, b2, g, t, lr, eps = a["beta1"], a["beta2"], a["grad"], a["t"], a["lr"], a["eps"]

        def update(m_, v_, correct=True, eps_inside=False, sign=-1):
            mh, vh = (m_ / (1 - b1**t), v_ / (1 - b2**t)) if correct else (m_, v_)
            return a["param"] + sign * lr * mh / (np.sqrt(vh + eps) if eps_inside else np.sqrt(vh) + eps)

        v_unsquared = b2 * a["v"] + (1 - b2) * g
        lines = _output_lines("m", m, ref_m, [("m = beta1 * m + (1 - beta1) * grad: the weights are swapped", b1 * g + (1 - b1) * a["m"])])
        lines += _output_lines("v", v, ref_v, [("v = beta2 * v + (1 - beta2) * grad**2: the gradient is not squared", v_unsquared),
                                               ("v = beta2 * v + (1 - beta2) * grad**2: the weights are swapped", b2 * g**2 + (1 - b2) * a["v"])])
        lines += _output_lines("param", p, ref_p, [
            ("no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t)", update(ref_m, ref_v, correct=False)),
            ("eps goes outside the square root: sqrt(v_hat) + eps", update(ref_m, ref_v, eps_inside=True)),
            ("the step is added: param = param - lr * m_hat / (sqrt(v_hat) + eps)", update(ref_m, ref_v, sign=+1)),
            ("the update uses the old m and v: update them first, then step", update(a["m"], a["v"]))])
        return lines

    return _drive(fn, name, cases, run, "param, m and v")


# ----------------------------------------------------------------------------------------------
# the GRU cell, forward and backward

GRU_SHAPES = ((3, 2, 4), (1, 3, 2), (2, 2, 1), (1, 1, 1))  # (B, D, H)


def _gru_case(B: int, D: int, H: int, seed: int):
    rng = np.random.default_rng(130 + seed)
    params = init_gru_params(D, H, seed=seed, dtype="float64")
    params = {k: v + rng.normal(0, 0.3, v.shape) for k, v in params.items()}
    return params, rng.standard_normal((B, D)), rng.standard_normal((B, H))


def _gru_step(params, x_t, h_prev, *, swap_z=False, reset="recurrent", tanh_n=True):
    """One GRU step with a learner's slip: ``reset`` says what r multiplies in n's block ("recurrent": right; "none",
    "both" or "input": the slips), ``swap_z`` and ``tanh_n`` the others."""
    H = h_prev.shape[1]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    gx, gh = x_t @ params["W_x"] + params["b_x"], h_prev @ params["W_h"] + params["b_h"]
    r, z = sig(gx[:, :H] + gh[:, :H]), sig(gx[:, H:2 * H] + gh[:, H:2 * H])
    gx_n, gh_n = gx[:, 2 * H:], gh[:, 2 * H:]
    inner = {"recurrent": gx_n + r * gh_n, "none": gx_n + gh_n, "both": r * (gx_n + gh_n), "input": r * gx_n + gh_n}[reset]
    n = np.tanh(inner) if tanh_n else sig(inner)
    return (z * n + (1 - z) * h_prev) if swap_z else ((1 - z) * n + z * h_prev)


def check_gru_cell_forward(fn: Callable, name: str = "gru_cell_forward") -> ExerciseReport:
    """Check ``fn(params, x_t, h_prev) -> h_t``, one GRU step, against ``gru_forward`` over one step.

    Parameters
    ----------
    fn : callable
        ``params`` holds ``W_x (D, 3H)``, ``W_h (H, 3H)``, ``b_x (3H,)``, ``b_h (3H,)`` in the
        blocks r | z | n; ``x_t`` is (B, D) and ``h_prev`` (B, H). The equations are on the RNN and
        GRU page: r and z are sigmoids of their blocks of ``x_t W_x + b_x + h_prev W_h + b_h``,
        ``n = tanh(x_t W_x,n + b_x,n + r * (h_prev W_h,n + b_h,n))`` and ``h_t = (1 - z) * n + z * h_prev``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip (z and 1 - z swapped, no reset gate in n's block or one on its input
        part, a sigmoid for n).
    """
    cases = []
    for seed, (B, D, H) in enumerate(GRU_SHAPES):
        params, x_t, h_prev = _gru_case(B, D, H, seed)
        cases.append((f"B = {B}, D = {D}, H = {H}", {"params": params, "x_t": x_t, "h_prev": h_prev}))

    def run(out, a, case):
        B, H = a["h_prev"].shape
        h = _array(out, "h_t", (B, H), name, case, "the new hidden state")
        hs, _, _ = _gru.gru_forward(a["params"], a["x_t"][None], a["h_prev"])
        p, x, hp = a["params"], a["x_t"], a["h_prev"]
        return _output_lines("h_t", h, hs[0], [
            ("z and 1 - z are swapped: h_t = (1 - z) * n + z * h_prev (z keeps the old state)", _gru_step(p, x, hp, swap_z=True)),
            ("n's block has no reset gate: r multiplies its recurrent part, n = tanh(x W_x,n + b_x,n + r * (h W_h,n + b_h,n))",
             _gru_step(p, x, hp, reset="none")),
            ("r multiplies only the recurrent part of n's block, not the input's too: n = tanh(x W_x,n + b_x,n + r * (h W_h,n "
             "+ b_h,n))", _gru_step(p, x, hp, reset="both")),
            ("r multiplies the recurrent part of n's block, not the input's: n = tanh(x W_x,n + b_x,n + r * (h W_h,n + b_h,n))",
             _gru_step(p, x, hp, reset="input")),
            ("n is the candidate: tanh of its block, not the sigmoid", _gru_step(p, x, hp, tanh_n=False))])

    return _drive(fn, name, cases, run, "h_t")


GRU_BACKWARD = "grads (a dict like params), dx_t (B, D) and dh_prev (B, H)"


def check_gru_cell_backward(fn: Callable, name: str = "gru_cell_backward") -> ExerciseReport:
    """Check ``fn(params, x_t, h_prev, dh) -> (grads, dx_t, dh_prev)`` against ``gru_backward`` over one step.

    Parameters
    ----------
    fn : callable
        The gradients of one GRU step (recompute the forward inside): ``dh`` (B, H) is the gradient
        of the loss with respect to h_t; ``grads`` has the keys and shapes of ``params``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL with every wrong array; dh_prev names the most common slip (the direct path
        ``z * dh`` missing).
    """
    cases = []
    for seed, (B, D, H) in enumerate(GRU_SHAPES):
        params, x_t, h_prev = _gru_case(B, D, H, seed)
        dh = np.random.default_rng(150 + seed).standard_normal((B, H))
        cases.append((f"B = {B}, D = {D}, H = {H}", {"params": params, "x_t": x_t, "h_prev": h_prev, "dh": dh}))

    def run(out, a, case):
        B, H = a["h_prev"].shape
        D = a["x_t"].shape[1]
        _, _, cache = _gru.gru_forward(a["params"], a["x_t"][None], a["h_prev"])
        ref_grads, ref_dx, ref_dh = _gru.gru_backward(cache, a["dh"][None])
        grads, dx, dh_prev = _values(out, name, 3, GRU_BACKWARD)
        grads = _grad_dict(grads, ref_grads, "grads", name, case)
        dx = _array(dx, "dx_t", (B, D), name, case, "the gradient of x_t")
        dh_prev = _array(dh_prev, "dh_prev", (B, H), name, case, "the gradient of h_prev")
        z = cache.z[0]
        lines = []
        for k in ref_grads:
            lines += _output_lines(f"grads[{k!r}]", grads[k], ref_grads[k], [])
        lines += _output_lines("dx_t", dx, ref_dx[0], [])
        lines += _output_lines("dh_prev", dh_prev, ref_dh, [
            ("the direct path is missing: h_t = (1 - z) * n + z * h_prev gives dh_prev the term z * dh", ref_dh - z * a["dh"])])
        return lines

    return _drive(fn, name, cases, run, "every weight gradient, dx_t and dh_prev")


# ----------------------------------------------------------------------------------------------
# the gradient check's relative error


def check_relative_error(fn: Callable, name: str = "relative_error") -> ExerciseReport:
    """Check ``fn(analytic, numeric, floor) -> float`` against ``gradcheck.relative_error``.

    Parameters
    ----------
    fn : callable
        The gradient check's error of one array: the largest entry error,
        ``max_k |a_k - n_k| / max(|a_k|, |n_k|, floor)``.
    name : str
        The name the report uses.

    Returns
    -------
    ExerciseReport
        PASS, or FAIL naming the slip (no absolute value, the mean instead of the largest, one scale
        for the whole array, the absolute error alone, the floor left out, the analytic entry alone).
    """
    cases = []
    for seed, shape in enumerate(((3, 8), (1, 4), (5,), (1, 1))):
        rng = np.random.default_rng(170 + seed)
        a = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3)
        n = a + rng.standard_normal(shape) * 1e-2 * np.abs(a)
        cases.append((f"arrays of shape {shape}", {"analytic": a, "numeric": n, "floor": 1e-2 * float(np.abs(n).max())}))
    # a saturated gate: its entries are tiny next to the array's largest, and one of them has the wrong sign
    cases.append(("a gradient with a sign error in its small entries", {"analytic": np.array([2.0, 3e-3, -1e-3]),
                                                                      "numeric": np.array([2.0, -3e-3, -1e-3]), "floor": 1e-4}))
    cases.append(("entries near zero, under the floor", {"analytic": np.array([1e-9, 2.0, -1e-9]),
                                                         "numeric": np.array([2e-9, 2.0, -1e-9]), "floor": 2e-2}))

    def run(out, args, case):
        a, n, floor = args["analytic"], args["numeric"], args["floor"]
        value = _array(out, "the relative error", (), name, case, "one number")
        diff, size = np.abs(a - n), np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
        return _output_lines("relative error", value, _relative_error(a, n, floor), [
            ("the absolute value of the difference is missing: |a_k - n_k|", np.max((a - n) / size)),
            ("it is the mean error: the check uses the largest entry's", np.mean(diff / size)),
            ("one scale for the whole array (max |a|, max |n|): a wrong entry in a saturated gate hides behind the "
             "array's largest gradient; divide entry by entry", np.max(diff) / max(np.abs(a).max(), np.abs(n).max())),
            ("it is the absolute error: divide each entry's by max(|a_k|, |n_k|, floor)", np.max(diff)),
            ("the floor is missing: max(|a_k|, |n_k|, floor) keeps entries near zero, where the finite difference is "
             "mostly rounding, from failing a right backward",
             np.max(np.where(diff == 0, 0.0, diff / np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-300)))),
            ("the scale is the analytic entry alone: use max(|a_k|, |n_k|, floor)", np.max(diff / np.maximum(np.abs(a), floor)))])

    return _drive(fn, name, cases, run, "the relative error")
