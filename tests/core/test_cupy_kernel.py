"""The CuPy speed kernel (fused elementwise kernels) against the reference, with and without a GPU.

Its kernels' bodies are one text that CuPy compiles as CUDA C++ and NumPy runs as Python. So:

1. the whole fused path, run by NumPy, equals the reference (loop, layout, kernel arithmetic);
2. the kernel text compiled by a C++ compiler and run gives NumPy's numbers for it, so the text
   means the same in both languages (no integer division, no Python-only operator);
3. with CuPy and a GPU, the public functions take this path and equal the reference.
"""

import re
import shutil
import subprocess

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.backend import to_numpy
from scratchlstm.nn.kernels.cupy_lstm import BACKWARD_STEP, FORWARD_STEP, CupyLSTMCache, ElementwiseStep
from scratchlstm.nn.kernels.cupy_lstm import backward as lstm_backward_fused
from scratchlstm.nn.kernels.cupy_lstm import forward as lstm_forward_fused

lstm_forward_reference, lstm_backward_reference = sl.lstm_forward, sl.lstm_backward

from tests.helpers import ALL_CASES, max_rel_diff, random_lstm_host

KERNELS = [FORWARD_STEP, BACKWARD_STEP]


def _host(a):
    return None if a is None else to_numpy(a)


def _problem(T, B, D, H, dtype, with_states, seed=0):
    """Host params, x, (h0, c0, dh_T, dc_T) and dhs of one dtype."""
    rng = np.random.default_rng(seed)
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, seed=T + H).items()}
    x = rng.normal(size=(T, B, D)).astype(dtype)
    states = [rng.normal(size=(B, H)).astype(dtype) if with_states else None for _ in range(4)]
    return params, x, states, rng.normal(size=(T, B, H)).astype(dtype)


def _check_against_reference(forward, backward, params, x, states, dhs, tol):
    """Run ``forward`` and ``backward`` on these arrays, the reference on host copies, compare all."""
    h0, c0, dh_T, dc_T = states
    hs, (h_T, c_T), cache = forward(params, x, h0, c0)
    host_params = {k: to_numpy(v) for k, v in params.items()}
    ref_hs, (ref_h, ref_c), ref_cache = lstm_forward_reference(host_params, to_numpy(x), _host(h0), _host(c0))
    for ours, ref in ((hs, ref_hs), (h_T, ref_h), (c_T, ref_c)):
        assert max_rel_diff(ours, ref) < tol
    grads, dx, dh0, dc0 = backward(cache, dhs, dh_T, dc_T)
    ref_grads, ref_dx, ref_dh0, ref_dc0 = lstm_backward_reference(ref_cache, _host(dhs), _host(dh_T), _host(dc_T))
    for name in ref_grads:
        assert max_rel_diff(grads[name], ref_grads[name]) < tol, name
        assert grads[name].dtype == params[name].dtype, name
    for ours, ref in ((dx, ref_dx), (dh0, ref_dh0), (dc0, ref_dc0)):
        assert max_rel_diff(ours, ref) < tol
    return cache


@pytest.mark.parametrize("T, B, D, H", [(1, 1, 1, 1), (5, 1, 1, 7), (4, 3, 6, 2), (9, 2, 1, 5), (3, 8, 16, 4)])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-13), ("float32", 1e-5)])
@pytest.mark.parametrize("with_states", [False, True])
def test_fused_path_run_by_numpy_equals_reference(T, B, D, H, dtype, tol, with_states):
    params, x, states, dhs = _problem(T, B, D, H, dtype, with_states, seed=T * 100 + B * 10 + D)
    cache = _check_against_reference(lstm_forward_fused, lstm_backward_fused, params, x, states, dhs, tol)
    assert isinstance(cache, CupyLSTMCache) and cache.gates.shape == (T, B, 4 * H)


def test_fused_backward_without_output_gradient():
    params, x, _, _ = _problem(6, 3, 2, 4, "float64", False)
    dh_T = np.random.default_rng(5).normal(size=(3, 4))
    _, _, cache = lstm_forward_fused(params, x)
    grads, dx, dh0, dc0 = lstm_backward_fused(cache, None, dh_T)
    _, _, ref_cache = lstm_forward_reference(params, x)
    ref_grads, ref_dx, ref_dh0, ref_dc0 = lstm_backward_reference(ref_cache, None, dh_T)
    assert all(max_rel_diff(grads[k], ref_grads[k]) < 1e-13 for k in grads)
    assert max(max_rel_diff(a, b) for a, b in ((dx, ref_dx), (dh0, ref_dh0), (dc0, ref_dc0))) < 1e-13


def test_saturated_gates_give_exact_limits_without_warnings():
    params, x, _, _ = _problem(4, 2, 1, 3, "float32", False)
    x = x * np.float32(1e4)  # pre-activations far beyond exp's range: sigmoid gives exactly 0 or 1
    with np.errstate(all="raise"):
        hs, _, cache = lstm_forward_fused(params, x)
    ref_hs, _, _ = lstm_forward_reference(params, x)
    assert np.all(np.isfinite(hs)) and max_rel_diff(hs, ref_hs) < 1e-5


# ----------------------------------------------------------------------------------------------
# the kernel text: one language subset, the same numbers in C++ and in NumPy

_LINE = re.compile(r"^(\w+) = ([\w\s.+\-*/()]+);$")


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
def test_kernel_text_stays_in_the_subset_of_c_and_python(kernel):
    """Every line assigns an output or temporary from arithmetic on known names, exp and tanh."""
    known = set(kernel.inputs + kernel.outputs + kernel.temporaries) | {"exp", "tanh"}
    assigned = set()
    for line in kernel.body.strip().splitlines():
        m = _LINE.match(line)
        assert m, f"{line!r} is not 'name = arithmetic;'"
        assert m.group(1) in kernel.outputs + kernel.temporaries, f"{line!r} assigns an input or unknown name"
        assert "**" not in line and "//" not in line, f"{line!r} uses an operator C reads differently"
        names = set(re.findall(r"[A-Za-z_]\w*", m.group(2)))
        assert names <= known, f"{line!r} uses {names - known}"
        assert not (names & set(kernel.temporaries + kernel.outputs)) - assigned, f"{line!r} reads a value before it is set"
        assigned.add(m.group(1))
    assert assigned == set(kernel.outputs + kernel.temporaries)


def test_elementwise_step_rejects_reserved_names_and_wrong_arity():
    with pytest.raises(ValueError, match="reserved"):
        ElementwiseStep("k", ("i",), ("y",), "y = i;")
    with pytest.raises(TypeError, match="2 inputs and 1 outputs"):
        ElementwiseStep("k", ("a", "b"), ("y",), "y = a + b;")(np.zeros(2), np.zeros(2))


def _cpp_source(kernel: ElementwiseStep, ctype: str, inputs: list[np.ndarray]) -> str:
    """A C++ program that runs ``kernel``'s body, as CuPy declares it, on every element of ``inputs``."""
    params = [f"const T {n}" for n in kernel.inputs] + [f"T &{n}" for n in kernel.outputs]
    data = "\n".join(f"static const double in_{n}[] = {{{', '.join(f'{v:.17g}' for v in a)}}};"
                     for n, a in zip(kernel.inputs, inputs))
    call = ", ".join([f"(T)in_{n}[k]" for n in kernel.inputs] + [f"out[{j}]" for j in range(len(kernel.outputs))])
    return f"""#include <cmath>
#include <cstdio>
using std::exp;
using std::tanh;
typedef {ctype} T;
static void step({', '.join(params)}) {{
{''.join(f'T {n};' for n in kernel.temporaries)}
{kernel.body}
}}
{data}
int main() {{
    for (int k = 0; k < {len(inputs[0])}; ++k) {{
        T out[{len(kernel.outputs)}];
        step({call});
        for (int j = 0; j < {len(kernel.outputs)}; ++j) std::printf("%.17g ", (double)out[j]);
        std::printf("\\n");
    }}
    return 0;
}}
"""


@pytest.mark.skipif(shutil.which("c++") is None, reason="no C++ compiler here")
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
@pytest.mark.parametrize("dtype, ctype, tol", [("float64", "double", 1e-13), ("float32", "float", 1e-5)])
def test_kernel_text_compiled_as_cpp_gives_numpys_numbers(kernel, dtype, ctype, tol, tmp_path):
    rng = np.random.default_rng(7)
    n = 64
    # values in (0, 1) where the kernel reads gates or tanh(c); elsewhere normal, and four beyond exp's range
    inputs = [(rng.uniform(0.01, 0.99, n) if name in {"i_t", "f_t", "g_t", "o_t", "tc_t"}
               else np.concatenate([rng.normal(0, 3, n - 4), [120.0, -120.0, 800.0, -800.0]])).astype(dtype)
              for name in kernel.inputs]
    source = tmp_path / "kernel.cpp"
    source.write_text(_cpp_source(kernel, ctype, inputs))
    exe = tmp_path / "kernel"
    subprocess.run([shutil.which("c++"), "-O1", "-std=c++17", str(source), "-o", str(exe)], check=True, capture_output=True)
    from_cpp = np.loadtxt(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines(), ndmin=2)

    outputs = [np.empty(n, dtype=dtype) for _ in kernel.outputs]
    with np.errstate(all="ignore"):
        kernel(*inputs, *outputs)
    from_numpy = np.stack(outputs, axis=1).astype(np.float64)
    assert from_cpp.shape == from_numpy.shape
    assert np.all(np.isfinite(from_numpy))
    np.testing.assert_allclose(from_cpp, from_numpy, rtol=tol, atol=tol * np.max(np.abs(from_numpy)))


# ----------------------------------------------------------------------------------------------
# on a GPU: the public functions take the fused path


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.backend == "cupy"], ids=str)
@pytest.mark.parametrize("with_states", [False, True])
def test_cupy_arrays_take_the_fused_path_and_equal_the_reference(case, with_states):
    xp = case.xp  # skips without CuPy and a GPU
    params, x, states, dhs = _problem(7, 5, 3, 6, case.dtype, with_states)
    on_gpu = [case.params(params), case.array(x), [None if s is None else case.array(s) for s in states], case.array(dhs)]
    tol = 1e-12 if case.dtype == "float64" else 1e-5
    cache = _check_against_reference(lambda *a: sl.lstm_forward(*a, engine="fast"), sl.lstm_backward, *on_gpu, tol)
    assert isinstance(cache, CupyLSTMCache)
    assert type(cache.Z) is type(xp.zeros(1))
