"""The compiled kernel's slices of the batch: the same numbers on one thread and on several, the reference's numbers
and gradients at every batch size, BLAS called from compiled code against NumPy's products, and the thread rules."""

import threading
from contextlib import contextmanager

import numpy as np
import pytest

import scratchlstm as sl
from scratchlstm.nn.kernels import threads

from tests.helpers import HAS_NUMBA, random_lstm_host

pytestmark = pytest.mark.skipif(not HAS_NUMBA, reason="engine 'compiled' needs Numba and SciPy (pip install 'scratchlstm[compiled]')")

if HAS_NUMBA:
    from scratchlstm.nn.kernels import compiled_blas, compiled_lstm, numpy_lstm


@pytest.mark.parametrize("B", list(range(1, 300)) + [511, 512, 4096])
@pytest.mark.parametrize("D, H", [(1, 50), (8, 256)])
def test_batch_slices_cover_the_batch_in_runs_of_32_rows_or_more(B, D, H):
    slices = threads.batch_slices(B, D, H)
    assert slices[0][0] == 0 and slices[-1][1] == B
    assert all(hi == lo for (_, hi), (lo, _) in zip(slices, slices[1:]))  # consecutive, no gap, no overlap
    sizes = [hi - lo for lo, hi in slices]
    assert max(sizes) - min(sizes) <= 1
    large_step = threads.step_work(B, D, H) >= threads.ONE_THREAD_BELOW
    if B < 2 * threads.SLICE_AT_LEAST and large_step and B >= 16:  # a large step: two slices where 32 rows fit one
        assert len(slices) == 2
    else:
        assert len(slices) == max(1, min(B // threads.SLICE_AT_LEAST, threads.SLICES_AT_MOST))
        assert len(slices) == 1 or min(sizes) >= threads.SLICE_AT_LEAST


def _problem(T, B, D, H, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: v.astype(dtype) for k, v in random_lstm_host(D, H, seed).items()}
    x, h0, c0 = (rng.normal(size=shape).astype(dtype) for shape in ((T, B, D), (B, H), (B, H)))
    grads_out = [rng.normal(size=shape).astype(dtype) for shape in ((T, B, H), (B, H), (B, H))]
    return params, x, h0, c0, grads_out


def _everything(params, x, h0, c0, grads_out):
    """Every number the kernel gives: the cached forward's, the forward without a cache's and the backward's."""
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0, engine="compiled")
    hs2, (h_T2, c_T2), _ = sl.lstm_forward(params, x, h0, c0, engine="compiled", need_cache=False)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, *grads_out)
    return [hs, h_T, c_T, hs2, h_T2, c_T2, dx, dh0, dc0, *(grads[k] for k in sorted(grads))]


# above THREADS_FROM (T * 4H * K * B multiply-adds): 2 slices, 3 of 35 and 34 rows, and 8; the last with a step
# product of ONE_THREAD_BELOW or more, where numpy_lstm's rule would give BLAS its own threads
SIDE_BY_SIDE = [(30, 64, 1, 32), (30, 105, 3, 32), (20, 256, 1, 16), (20, 64, 1, 128), (4, 40, 8, 200)]


@pytest.mark.parametrize("T, B, D, H", SIDE_BY_SIDE)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_numbers_are_the_same_on_one_thread_and_on_several_bit_for_bit(T, B, D, H, dtype, monkeypatch):
    if threads.kernel_threads() < 2:
        pytest.skip("this machine gives the process one core: the slices cannot run side by side here")
    problem = _problem(T, B, D, H, dtype)
    original, ran_on = compiled_lstm.slice_threads, []

    @contextmanager
    def recording(slices, work):
        with original(slices, work) as n:
            ran_on.append(n)
            yield n
    monkeypatch.setattr(compiled_lstm, "slice_threads", recording)
    side_by_side = _everything(*problem)
    assert ran_on == [min(len(threads.batch_slices(B, D, H)), threads.kernel_threads())] * len(ran_on)
    ran_on.clear()
    with threads.kernel_threads_at_most(1):
        one_thread = _everything(*problem)
    assert set(ran_on) == {1}
    for a, b in zip(side_by_side, one_thread, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("T, B, D, H", [(6, 64, 2, 5), (5, 70, 1, 4)] + SIDE_BY_SIDE[:2])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-5)])
def test_sliced_batches_give_the_references_numbers(T, B, D, H, dtype, rtol):
    params, x, h0, c0, grads_out = _problem(T, B, D, H, dtype)
    hs, (h_T, c_T), cache = sl.lstm_forward(params, x, h0, c0)
    grads, dx, dh0, dc0 = sl.lstm_backward(cache, *grads_out)
    want = [hs, h_T, c_T, hs, h_T, c_T, dx, dh0, dc0, *(grads[k] for k in sorted(grads))]
    for got, ref in zip(_everything(params, x, h0, c0, grads_out), want):
        scale = np.abs(ref).max()
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("B", [64, 130])
def test_the_backward_against_the_numpy_kernels_from_the_same_cache(dtype, B):
    """Within rounding: BLAS may sum a slice's products, and a block of gate rows of the weight product, in another
    order than the whole batch's (OpenBLAS's AVX2 kernels did not in float64 up to two slices; its AVX-512 ones
    did). Bit for bit where the batch is one slice: tests/core/test_compiled_kernel.py."""
    params, x, h0, c0, grads_out = _problem(30, B, 1, 32, dtype)
    _, _, cache = sl.lstm_forward(params, x, h0, c0, engine="fast")
    want_grads, *want_rest = numpy_lstm.backward(cache, *grads_out)
    grads, *rest = compiled_lstm.backward(cache, *grads_out)
    for name, got, want in zip(["dx", "dh0", "dc0", *grads], [*rest, *grads.values()], [*want_rest, *want_grads.values()], strict=True):
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=0, atol=(2e-6 if dtype == "float32" else 1e-14) * scale, err_msg=name)


def test_finite_differences_check_the_gradients_of_a_batch_in_three_slices():
    params, x, h0, c0, _ = _problem(3, 100, 2, 3, "float64")
    report = sl.lstm_gradcheck(params, x, engine="compiled")
    assert report.passed, report


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("R, N, K", [(7, 5, 3), (200, 32, 52), (52, 1, 200), (9, 1, 4)])
@pytest.mark.parametrize("transposed", [False, True])
def test_blas_called_from_compiled_code_gives_numpys_products(dtype, R, N, K, transposed):
    """``out (R, N) = left (R, K) @ right (K, N)`` on blocks inside larger arrays, as the kernel calls it."""
    rng = np.random.default_rng(R * N * K)
    big_out, big_left = np.zeros((R + 2, N + 5), dtype), rng.normal(size=(R + 1, K + 3)).astype(dtype)
    big_right = rng.normal(size=(N + 4, K + 2) if transposed else (K + 4, N + 2)).astype(dtype)
    left = big_left[1 : R + 1, 2 : K + 2]
    right = big_right[3 : N + 3, 1 : K + 1].T if transposed else big_right[3 : K + 3, 1 : N + 1]
    scratch, scalars = np.empty(8, np.int32), np.empty(2, dtype)
    compiled_blas.matmul_into(compiled_blas.BLAS_AT[np.dtype(dtype)], scratch, scalars, R, N, K,
                              big_out, 1 * (N + 5) + 4, N + 5, big_left, 1 * (K + 3) + 2, K + 3,
                              big_right, 3 * big_right.shape[1] + 1, big_right.shape[1], transposed)
    want = left.astype(np.float64) @ right.astype(np.float64)
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(big_out[1 : R + 1, 4 : N + 4], want, rtol=tol, atol=tol * np.abs(want).max())
    untouched = big_out.copy()
    untouched[1 : R + 1, 4 : N + 4] = 0
    assert not untouched.any()  # nothing written outside the block


def test_slices_run_one_after_another_for_small_calls_other_threads_and_a_limit_of_one():
    seen = []
    with threads.slice_threads(4, threads.THREADS_FROM - 1) as n:
        seen.append(n)
    with threads.kernel_threads_at_most(1), threads.slice_threads(4, threads.THREADS_FROM) as n:
        seen.append(n)
    worker = threading.Thread(target=lambda: seen.append(threads.slice_threads(4, threads.THREADS_FROM).__enter__()))
    worker.start()
    worker.join()
    assert seen == [1, 1, 1]
    with threads.slice_threads(1, threads.THREADS_FROM) as n:  # one slice: one thread, whatever the cores
        assert n == 1


def _blas_threads():
    return [lib.num_threads for lib in threads._blas_libraries().lib_controllers]


def test_a_side_by_side_call_sets_numbas_threads_and_gives_them_back():
    import numba
    if threads.kernel_threads() < 2:
        pytest.skip("this machine gives the process one core")
    before = numba.get_num_threads()
    with threads.slice_threads(2, threads.THREADS_FROM) as n:
        assert n == 2 and numba.get_num_threads() == 2
    assert numba.get_num_threads() == before


def test_every_compiled_call_holds_blas_to_one_thread_even_for_large_steps(monkeypatch):
    """A product that BLAS splits over its own threads sums in another order: the numbers would depend on the cores."""
    T, B, D, H = 2, 64, 1, 200
    assert threads.step_work(B, D, H) >= threads.ONE_THREAD_BELOW  # where numpy_lstm's rule gives BLAS its threads
    before, seen = _blas_threads(), []
    for name in ("_forward_columns", "_backward_columns", "_weight_product_rows"):
        loop = getattr(compiled_lstm, name)
        monkeypatch.setattr(compiled_lstm, name, lambda *a, loop=loop: seen.append(_blas_threads()) or loop(*a))
    params, x, h0, c0, grads_out = _problem(T, B, D, H, "float64")
    with threads.kernel_threads_at_most(1):  # the slices one after another, through the loops watched above
        _everything(params, x, h0, c0, grads_out)
    assert len(seen) == 2 * 2 + 2 + 2 and all(set(s) == {1} for s in seen)  # two slices; two row blocks
    assert _blas_threads() == before


def test_calls_from_several_python_threads_at_once_give_a_lone_calls_numbers_and_leave_blas_as_it_was():
    """BLAS's thread count is one setting for the whole process. Each call used to set it and restore it when it
    ended, so calls at once restored it out of order and left it changed; now the last call running restores it.
    The numbers are a lone call's within rounding: OpenBLAS's setting, changed by one thread just as another
    sets it again, was measured to be lost now and then, and such a call runs a product on two BLAS threads."""
    problem = _problem(30, 130, 2, 32, "float64")
    want = _everything(*problem)
    before, results = _blas_threads(), []

    def calls():
        for _ in range(5):
            results.append(_everything(*problem))
    workers = [threading.Thread(target=calls) for _ in range(4)]
    for worker in workers:
        worker.start()
    calls()
    for worker in workers:
        worker.join()
    assert len(results) == 25
    for got in results:
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 * np.abs(b).max())
    assert _blas_threads() == before
