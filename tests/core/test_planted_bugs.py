"""The guard of the gradient check's promise: a bug planted in any backward that runs fails the default check, and so
does one in a forward that runs without a backward (prediction's, validation's, training's first window's).

Each case rewrites one line of a backward (the reference LSTM's loop, its one-step backward and its
elementwise step; the NumPy kernel's loop, its batch-1 and batch > 1 weight-gradient branches and
its final-state-only branch; the branches of a missing final-state gradient; the compiled kernel's
slices of a batch; both GRU variants; the RNN) or of such a forward (without a cache; with the
initial states left out), one at a time, in a copy of the function
that replaces the original for the test, as a learner's edit of the file would. Then the default
command, ``scratchlstm gradcheck --cell X`` (``--engine fast`` for the kernel), must exit 1 with a
report whose failing gate blocks are the planted line's gate, and the unmodified code must pass the
same commands. Most cases call the command's own ``main`` in this process; a few run the real
command line in a subprocess, on a copy of the package with the edit written into its file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from scratchlstm.cli import main
from scratchlstm.nn import gru as gru_module
from scratchlstm.nn import lstm as lstm_module
from scratchlstm.nn import rnn as rnn_module
from scratchlstm.nn.kernels import numpy_lstm
from tests.helpers import HAS_NUMBA, edited_function

if HAS_NUMBA:
    from scratchlstm.nn.kernels import compiled_lstm
else:
    compiled_lstm = None  # its bugs skip

ROOT = Path(__file__).parents[2]
COMMANDS = {"lstm": ["gradcheck"], "fast": ["gradcheck", "--engine", "fast"], "gru": ["gradcheck", "--cell", "gru"],
            "rnn": ["gradcheck", "--cell", "rnn"], "compiled": ["gradcheck", "--engine", "compiled"]}


@dataclass(frozen=True)
class Bug:
    """One line of ``module.function`` rewritten: ``old`` (exactly once in the function) becomes ``new``."""

    id: str
    command: str  # a key of COMMANDS
    module: object
    function: str
    old: str
    new: str
    gates: frozenset = frozenset()  # the gate blocks the report must blame (empty: the bug is in no gate's block)
    arrays: frozenset = frozenset()  # arrays the report must name as failing
    crash: bool = False  # the planted line makes the backward raise


def bug(id, command, module, function, old, new, gates="", arrays=(), crash=False):
    return Bug(id, command, module, function, old, new, frozenset(gates), frozenset(arrays), crash)


L, K, G, R, C = lstm_module, numpy_lstm, gru_module, rnn_module, compiled_lstm
PLANTED = [
    # the reference LSTM's elementwise step (_gates_backward), one line per gate
    bug("lstm-do", "lstm", L, "_gates_backward", "do = dh * tc", "do = dh * tc * 1.01", "o"),
    bug("lstm-dc-from-h", "lstm", L, "_gates_backward", "dc = dc + dh * o * tanh_grad_from_output(tc)",
        "dc = dc + dh * tanh_grad_from_output(tc)", "ifg"),
    bug("lstm-di-sign", "lstm", L, "_gates_backward", "di = dc * g", "di = -dc * g", "i"),
    bug("lstm-df", "lstm", L, "_gates_backward", "df = dc * c_prev", "df = dc * c_prev * 1.01", "f"),
    bug("lstm-dg", "lstm", L, "_gates_backward", "dg = dc * i", "dg = dc * i * i", "g"),
    bug("lstm-dc-prev", "lstm", L, "_gates_backward", "dc_prev = dc * f", "dc_prev = dc * f * 0.99", arrays={"c0"}),
    bug("lstm-sigmoid-i", "lstm", L, "_gates_backward", "di * sigmoid_grad_from_output(i),", "di * sigmoid_grad_from_output(f),", "i"),
    bug("lstm-tanh-g", "lstm", L, "_gates_backward", "dg * tanh_grad_from_output(g),", "dg * sigmoid_grad_from_output(g),", "g"),
    bug("lstm-sigmoid-o", "lstm", L, "_gates_backward", "do * sigmoid_grad_from_output(o),", "do * sigmoid_grad_from_output(o) * 1.001,", "o"),
    # the one-step backward (lstm_cell_backward), which lstm_backward calls at every step
    bug("cell-dW_x", "lstm", L, "lstm_cell_backward", '"W_x": step_cache["x"].T @ da,', '"W_x": step_cache["x"].T @ da * 1.0001,', arrays={"W_x"}),
    bug("cell-dW_h", "lstm", L, "lstm_cell_backward", '"W_h": step_cache["h_prev"].T @ da,', '"W_h": step_cache["c_prev"].T @ da,', arrays={"W_h"}),
    bug("cell-db", "lstm", L, "lstm_cell_backward", '"b": xp.sum(da, axis=0),', '"b": xp.sum(da[1:], axis=0),', arrays={"b"}),
    bug("cell-dx", "lstm", L, "lstm_cell_backward", 'dx_t = da @ params["W_x"].T', 'dx_t = da @ params["W_x"].T * 1.0001', arrays={"x"}),
    bug("cell-dh-prev", "lstm", L, "lstm_cell_backward", 'dh_prev = da @ params["W_h"].T', 'dh_prev = da @ params["W_h"].T * 0.999', arrays={"h0"}),
    # the reference loop through time (lstm_backward)
    bug("loop-skips-t0", "lstm", L, "lstm_backward", "for t in reversed(range(T)):", "for t in reversed(range(1, T)):", crash=True),
    bug("loop-drops-dhs", "lstm", L, "lstm_backward", "dh = dh_next if dhs is None else dhs[t, :, :] + dh_next",
        "dh = dh_next if dhs is None else dhs[t, :, :]", arrays={"W_x", "x"}),
    bug("loop-c-prev", "lstm", L, "lstm_backward", "c_prev = cache.cs[t - 1, :, :] if t > 0 else cache.c0",
        "c_prev = cache.cs[t, :, :] if t > 0 else cache.c0", "f"),
    bug("loop-h-prev", "lstm", L, "lstm_backward", "h_prev = hs[t - 1, :, :] if t > 0 else cache.h0",
        "h_prev = hs[t - 1, :, :] if t > 1 else cache.h0", arrays={"W_h"}),
    bug("loop-drops-dc_T", "lstm", L, "lstm_backward", "dc_next = zeros_like_state(B, H, x) if dc_T is None else dc_T",
        "dc_next = zeros_like_state(B, H, x)", arrays={"c0"}),
    bug("loop-drops-dh_T", "lstm", L, "lstm_backward", "dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T",
        "dh_next = zeros_like_state(B, H, x)", arrays={"h0"}),
    # the branches of a missing final-state gradient (training's paths: a head on the last step gives dc_T=None, a
    # layer under another or a head on every step dh_T=dc_T=None); no path of the check ran them before
    bug("loop-none-dc_T", "lstm", L, "lstm_backward", "dc_next = zeros_like_state(B, H, x) if dc_T is None else dc_T",
        "dc_next = zeros_like_state(B, H, x) + 0.5 if dc_T is None else dc_T", arrays={"c0", "W_x"}),
    bug("loop-none-dh_T", "lstm", L, "lstm_backward", "dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T",
        "dh_next = zeros_like_state(B, H, x) + 0.5 if dh_T is None else dh_T", arrays={"h0", "W_x"}),
    bug("loop-no-sum", "lstm", L, "lstm_backward", "grads[name] + step_grads[name]", "step_grads[name]", arrays={"W_x", "W_h", "b"}),
    # the NumPy kernel: factors computed for all steps at once, then the loop
    bug("kernel-o-factor", "fast", K, "_local_gate_gradients", "(TC, P_o)", "(h, P_o)", "o"),
    bug("kernel-g-factor", "fast", K, "_local_gate_gradients", "np.subtract(1.0, P_g, out=P_g)", "np.subtract(1.01, P_g, out=P_g)", "g"),
    bug("kernel-g-times-i", "fast", K, "_local_gate_gradients", "np.multiply(P_g, i, out=P_g)", "np.multiply(P_g, f, out=P_g)", "g"),
    bug("kernel-dc-gain", "fast", K, "_local_gate_gradients", "np.subtract(o, dc_gain, out=dc_gain)", "np.add(o, dc_gain, out=dc_gain)", "ifg"),
    bug("kernel-drops-dh_T", "fast", K, "backward",
        "dh_T = np.zeros((H, B), dtype=dtype) if dh_T is None else np.ascontiguousarray(dh_T.T, dtype=dtype)",
        "dh_T = np.zeros((H, B), dtype=dtype)", arrays={"h0"}),
    bug("kernel-drops-dc_T", "fast", K, "backward",
        'dc = np.zeros((H, B), dtype=dtype) if dc_T is None else np.array(dc_T.T, dtype=dtype, order="C")',
        "dc = np.zeros((H, B), dtype=dtype)", arrays={"c0"}),
    bug("kernel-none-dh_T", "fast", K, "backward", "dh_T = np.zeros((H, B), dtype=dtype) if dh_T is None",
        "dh_T = np.full((H, B), 0.5, dtype=dtype) if dh_T is None", arrays={"h0", "W_x"}),
    bug("kernel-none-dc_T", "fast", K, "backward", "dc = np.zeros((H, B), dtype=dtype) if dc_T is None",
        "dc = np.full((H, B), 0.5, dtype=dtype) if dc_T is None", arrays={"c0", "W_x"}),
    bug("kernel-final-only-dh", "fast", K, "_backward_loop", "            dh = dh_next\n", "            dh = dh_next * 0.5\n", arrays={"h0"}),
    bug("kernel-every-step-dh", "fast", K, "_backward_loop", "np.add(dhs[t], dh_next, out=dh)", "np.add(dhs[t], 0.5 * dh_next, out=dh)", arrays={"x"}),
    bug("kernel-da-o", "fast", K, "_backward_loop", "np.multiply(da_o, dh, out=da_o)", "np.multiply(da_o, dc, out=da_o)", "o"),
    bug("kernel-dc-prev", "fast", K, "_backward_loop", "np.multiply(dc, f, out=dc)", "np.multiply(dc, 0.99 * f, out=dc)", arrays={"c0"}),
    bug("kernel-batch-1", "fast", K, "_backward_loop", "return dA.reshape(T, 4 * H).T", "return dA.reshape(T, 4 * H).T[:, ::-1]", arrays={"W_x"}),
    bug("kernel-batch-many", "fast", K, "_backward_loop", "np.copyto(dA_steps, dA.transpose(1, 0, 2))",
        "np.copyto(dA_steps, dA.transpose(1, 0, 2)[:, ::-1])", arrays={"W_x"}),
    bug("kernel-db-float32", "fast", K, "backward", '"b": dW[K - 1].copy()', '"b": dW[K - 1].astype(np.float32)', arrays={"b"}),
    # the compiled kernel's loop back through time (Numba): the local factors and their products per element
    bug("compiled-da-o", "compiled", C, "_backward_columns", "da_o = (o - o * o) * tc_t * dh", "da_o = (o - o * o) * tc_t * dc_t", "o"),
    bug("compiled-dc-gain", "compiled", C, "_backward_columns", "dh * (o - Z[j, t + 1, b] * tc_t)", "dh * (o + Z[j, t + 1, b] * tc_t)", "ifg"),
    bug("compiled-da-g", "compiled", C, "_backward_columns", "da_g = _one_minus_square(g) * i * dc_t", "da_g = _one_minus_square(g) * f * dc_t", "g"),
    bug("compiled-dc-prev", "compiled", C, "_backward_columns", "dc[j, b] = dc_t * f", "dc[j, b] = dc_t * f * 0.99", arrays={"c0"}),
    bug("compiled-final-only-dh", "compiled", C, "_backward_columns", "dh = dh_next[j, b] if dhs is None",
        "dh = 0.5 * dh_next[j, b] if dhs is None", arrays={"h0"}),
    bug("compiled-weights-copy", "compiled", C, "_backward_columns", "dA_steps[3 * H + j, t, b] = da_g, da_o",
        "dA_steps[3 * H + j, t, b] = da_o, da_g", "go", arrays={"W_x", "b"}),
    # the compiled kernel's slices of the batch (B >= 64 at the check's sizes, training's batch size): offsets
    bug("compiled-slice-offset", "compiled", C, "_backward_columns", "WT, 0, 4 * H, da, b0, B)", "WT, 0, 4 * H, da, 0, B)",
        arrays={"x"}),
    # the forwards that prediction, validation and training's first window run, which no gradient path reaches:
    # without a cache, and with the initial states left out (they must equal the forward checked, given zeros)
    bug("lstm-no-cache-states", "lstm", L, "lstm_forward", "return xp.stack(hs, axis=0), (h, c), None",
        "return xp.stack(hs, axis=0), (c, h), None", arrays={"h_T", "c_T"}),
    bug("lstm-h0-none", "lstm", L, "lstm_forward", "h0 = zeros_like_state(B, H, x) if h0 is None else h0",
        "h0 = zeros_like_state(B, H, x) + 0.5 if h0 is None else h0", arrays={"hs", "h_T", "c_T"}),
    bug("kernel-no-cache-buffer", "fast", K, "forward_without_cache", "C[T % 2].T)", "C[(T + 1) % 2].T)", arrays={"c_T"}),
    bug("kernel-c0-none", "fast", K, "forward", "C[0] = 0.0 if c0 is None else c0.T", "C[0] = 1.0 if c0 is None else c0.T",
        arrays={"hs", "c_T"}),
    bug("kernel-no-cache-c0-none", "fast", K, "forward_without_cache", "C[0] = 0.0 if c0 is None else c0.T",
        "C[0] = 1.0 if c0 is None else c0.T", arrays={"hs", "c_T"}),
    bug("gru-no-cache", "gru", G, "gru_forward", 'return xp.stack(steps["hs"], axis=0), (h,), None',
        'return xp.stack(steps["hs"][::-1], axis=0), (h,), None', arrays={"hs"}),
    bug("rnn-no-cache", "rnn", R, "rnn_forward", "return xp.stack(hs, axis=0), (h,), None", "return xp.stack(hs, axis=0), (hs[0],), None",
        arrays={"h_T"}),
    # the GRU, both variants
    bug("gru-dn", "gru", G, "gru_backward", "dn = dh * (1 - z)", "dn = dh * (1 + z)", "nr"),
    bug("gru-dz-sign", "gru", G, "gru_backward", "dz = dh * (h_prev - n)", "dz = dh * (n - h_prev)", "z"),
    bug("gru-da-n", "gru", G, "gru_backward", "da_n = dn * tanh_grad_from_output(n)", "da_n = dn * sigmoid_grad_from_output(n)", "nr"),
    bug("gru-da-z", "gru", G, "gru_backward", "da_z = dz * sigmoid_grad_from_output(z)", "da_z = dz * tanh_grad_from_output(z)", "z"),
    bug("gru-dr-after", "gru", G, "gru_backward", "dr = da_n * cache.gh_n[t, :, :]", "dr = -da_n * cache.gh_n[t, :, :]", "r"),
    bug("gru-dgh-after", "gru", G, "gru_backward", "dgh = xp.concat([da_r, da_z, da_n * r], axis=1)",
        "dgh = xp.concat([da_r, da_z, da_n], axis=1)", "n"),
    bug("gru-dr-before", "gru", G, "gru_backward", "dr = dq * h_prev", "dr = dq * h_prev * 1.01", "r"),
    # dq is the gradient of the reset state q = r * h_{t-1}, which the candidate n reads: it feeds dr and dh_{t-1}
    bug("gru-dq-before", "gru", G, "gru_backward", "dq = da_n @ W_h[:, 2 * H : 3 * H].T", "dq = da_n @ W_h[:, 1 * H : 2 * H].T", "rn"),
    bug("gru-dh-before", "gru", G, "gru_backward", "@ W_h[:, 0 * H : 2 * H].T + dq * r", "@ W_h[:, 0 * H : 2 * H].T + dq", arrays={"h0"}),
    bug("gru-dW_hn-before", "gru", G, "gru_backward", "q.T @ dgh_all[:, 2 * H : 3 * H]", "h_prev.T @ dgh_all[:, 2 * H : 3 * H]", "n"),
    bug("gru-drops-dhs", "gru", G, "gru_backward", "dh = dh_next if dhs is None else dhs[t, :, :] + dh_next",
        "dh = dh_next if dhs is None else dhs[t, :, :]", arrays={"x"}),
    bug("gru-drops-dh_T", "gru", G, "gru_backward", "dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T",
        "dh_next = zeros_like_state(B, H, x)", arrays={"h0"}),
    bug("gru-none-dh_T", "gru", G, "gru_backward", "dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T",
        "dh_next = zeros_like_state(B, H, x) + 0.5 if dh_T is None else dh_T", arrays={"h0", "W_x"}),
    # the RNN
    bug("rnn-da", "rnn", R, "rnn_backward", "da = dh * tanh_grad_from_output(hs[t, :, :])", "da = dh * tanh_grad_from_output(hs[t - 1, :, :])",
        arrays={"W_x"}),
    bug("rnn-dh-prev", "rnn", R, "rnn_backward", 'dh_next = da @ params["W_h"].T', 'dh_next = da @ params["W_h"].T * 0.99', arrays={"h0"}),
    bug("rnn-db", "rnn", R, "rnn_backward", '"b": xp.sum(da_all, axis=0)', '"b": xp.sum(da_all[1:], axis=0)', arrays={"b"}),
    bug("rnn-skips-t0", "rnn", R, "rnn_backward", "for t in reversed(range(T)):", "for t in reversed(range(1, T)):", crash=True),
    bug("rnn-drops-dh_T", "rnn", R, "rnn_backward", "dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T",
        "dh_next = zeros_like_state(B, H, x)", arrays={"h0"}),
    bug("rnn-none-dh_T", "rnn", R, "rnn_backward", "dh_next = zeros_like_state(B, H, x) if dh_T is None else dh_T",
        "dh_next = zeros_like_state(B, H, x) + 0.5 if dh_T is None else dh_T", arrays={"h0", "W_x"}),
]


def _blamed_gates(report: str) -> Counter:
    """For the 'by gate block' line of every failing array, the block the report marks."""
    blamed = Counter()
    for line in report.splitlines():
        if "by gate block:" in line and "<-- largest" in line:
            blamed[re.search(r"(\w) \S+(?: <-- FAIL)? <-- largest", line)[1]] += 1
    return blamed


def _failing_arrays(report: str) -> set[str]:
    return {line.split()[0] for line in report.splitlines() if line.rstrip().endswith("<-- FAIL") and "by gate block" not in line}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_unmodified_code_passes_the_default_commands(command, capsys):
    assert main(COMMANDS[command]) == 0
    assert "PASS" in capsys.readouterr().out


@pytest.mark.parametrize("planted", PLANTED, ids=[b.id for b in PLANTED])
def test_a_bug_planted_in_a_backward_fails_the_default_command(planted, monkeypatch, capsys):
    if planted.module is None:
        pytest.skip("engine 'compiled' needs Numba (pip install 'scratchlstm[compiled]')")
    monkeypatch.setattr(planted.module, planted.function, edited_function(planted.module, planted.function, planted.old, planted.new))
    assert main(COMMANDS[planted.command]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    if planted.crash:
        assert re.search(r"the backward raised \w+.* at step t = \d+ in \w+ \(scratchlstm/nn/", out), out
    if planted.gates:
        blamed = _blamed_gates(out)  # over the failing arrays of every failing path, the block most often marked
        assert blamed and blamed.most_common(1)[0][0] in planted.gates, (planted.gates, blamed, out)
    assert planted.arrays <= _failing_arrays(out), (planted.arrays, out)


# the real command line, on a copy of the package whose file holds the edit
SUBPROCESS = [b for b in PLANTED if b.id in ("gru-dr-before", "kernel-drops-dh_T", "kernel-batch-1", "loop-skips-t0")]


@pytest.mark.parametrize("planted", SUBPROCESS, ids=[b.id for b in SUBPROCESS])
def test_the_command_line_fails_on_a_bug_planted_in_the_file(planted, tmp_path):
    package = tmp_path / "scratchlstm"
    shutil.copytree(ROOT / "scratchlstm", package, ignore=shutil.ignore_patterns("__pycache__", "*.csv"))
    path = package / Path(planted.module.__file__).relative_to(ROOT / "scratchlstm")
    text = path.read_text()
    assert text.count(planted.old) == 1
    path.write_text(text.replace(planted.old, planted.new))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "scratchlstm", *COMMANDS[planted.command]], env=env, capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAIL" in run.stdout and "internal error" not in run.stderr
    if planted.crash:
        assert "the backward raised" in run.stdout and "at step t = " in run.stdout


# an edit that stops the package from importing at all: the command's entry point says so in one line, with status 2
BROKEN_EDITS = {
    "does-not-parse": ("    return da, dc_prev\n", "    return da, dc_prev +\n",
                       r"^scratchlstm: error: \S+lstm\.py, line (\d+), does not parse \(invalid syntax\): "
                       r"'return da, dc_prev \+', so scratchlstm cannot start\. If you edited that file, fix the line"),
    "imports-a-missing-module": ("from __future__ import annotations\n", "from __future__ import annotations\nimport no_such_module\n",
                                 r"^scratchlstm: error: importing scratchlstm failed \(ModuleNotFoundError: No module named "
                                 r"'no_such_module'\)\. Reinstall"),
}


@pytest.mark.parametrize("edit", BROKEN_EDITS, ids=list(BROKEN_EDITS))
def test_an_edit_that_stops_the_import_ends_the_command_in_one_line(edit, tmp_path):
    old, new, said = BROKEN_EDITS[edit]
    shutil.copytree(ROOT / "scratchlstm", tmp_path / "scratchlstm", ignore=shutil.ignore_patterns("__pycache__", "*.csv"))
    shutil.copy(ROOT / "scratchlstm_launch.py", tmp_path)
    path = tmp_path / "scratchlstm" / "nn" / "lstm.py"
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))
    # what the installed ``scratchlstm`` script runs (pyproject.toml's [project.scripts]), from the copy
    entry = "import sys; sys.argv[0] = 'scratchlstm'; from scratchlstm_launch import run; run()"
    run = subprocess.run([sys.executable, "-c", entry, "gradcheck"], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
    found = re.search(said, run.stderr)
    assert found, run.stderr
    if edit == "does-not-parse":  # the line named is the edited one
        assert path.read_text().splitlines()[int(found.group(1)) - 1] == new.rstrip("\n")


def test_the_installed_command_runs_through_the_entry_point_that_reports_import_failures():
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"scratchlstm": "scratchlstm_launch:run"}
