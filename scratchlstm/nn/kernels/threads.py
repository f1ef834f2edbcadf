"""How many threads the kernels get: BLAS held to one when a step's product is small, and the compiled kernel's
slices of the batch side by side on the cores.

NumPy hands its products to a BLAS library (OpenBLAS in NumPy's wheels), which splits a large
enough product over all the cores. At the sizes a forecaster trains (B = 64, H = 32 to 50) a step's
product is a few hundred thousand multiply-adds, and the second thread costs more than it brings:
the threads meet at the end of every product (a thousand times per call), and a thread that waits
keeps spinning, taking the core from everything else. Measured on a 2-core machine with other work
running, a training step at B=64, T=30, H=32 took 2.1 ms on one thread and 12 ms on two; the
forecaster's whole run used 7.7 s of CPU on one thread and 26.5 s on two (``docs/speed.md``; the
"BLAS threads" column of ``python -m benchmarks.bench_lstm`` repeats the comparison).

So the kernel's calls run with BLAS held to one thread when one step's product,
``4H x (H + D + 1) x B`` multiply-adds, is below ``ONE_THREAD_BELOW``, and with the library's own
setting above it (where a product is large enough for the split to pay on an idle machine). The
limit is set and restored around each call with ``threadpoolctl`` (about 10 microseconds). It is
process-wide while a call runs: two Python threads running kernels at once share it.

``train`` applies the same rule around its whole run (``train._step_work``), for the cells that have
no kernel (the GRU's and the RNN's reference code) and for the rest of each step.

The compiled kernel uses the cores another way: the rows of a batch never meet in an LSTM's
recurrence (row b's h_t needs only row b's h_{t-1}), so it splits the batch into slices
(``batch_slices``) and runs each slice through all T steps on a thread of its own (Numba's), its
products on one BLAS thread, with no meeting point until the last step. The slices depend on the layer's
sizes alone, never on the cores, so the numbers are the same on any machine and any number of threads
(tested); the threads only decide how many slices run at once (``slice_threads``): up to the cores
this process may use (``kernel_threads``), which the forecaster's worker processes share out between
them. Numba's threads wait for work by spinning a little before they sleep (OpenMP's way), which is
what a call of a millisecond needs: threads of our own that slept between calls were woken on the
core of the thread that woke them and ran the two slices one after the other in most calls (measured
1.3 to 1.8 ms a call at B=64, T=60, H=50, against 0.8 to 1.0 ms with Numba's).
"""

from __future__ import annotations

import functools
import os
import threading
from contextlib import contextmanager, nullcontext
from typing import Callable

ONE_THREAD_BELOW = 2**22  # multiply-adds in one step's product (B=64: H below about 128)

SLICE_AT_LEAST = 32  # batch rows in one slice: below this a slice's step product costs more per row (measured 0.27
# against 0.22 us a row at H=50, B=32 against 64)
SLICES_AT_MOST = 8
THREADS_FROM = 2**22  # multiply-adds of a whole call's products below which its slices run one after another (a
# thread's start and end cost tens of microseconds)

_blas = None  # the BLAS libraries loaded, found once (finding them takes about 0.6 ms)


def forget_blas_libraries() -> None:
    """Find the BLAS libraries again at the next call: one more was loaded (SciPy's, by the compiled kernel)."""
    global _blas
    _blas = None


def _blas_libraries():
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController().select(user_api="blas")
    return _blas


def step_work(B: int, D: int, H: int) -> int:
    """Multiply-adds of one step's product of an LSTM layer, ``4H x (H + D + 1) x B`` (the measure the rule compares
    with ``ONE_THREAD_BELOW``; an upper bound for the GRU's three gate blocks and the RNN's one)."""
    return 4 * H * (H + D + 1) * B


def blas_threads_for(step_work: int):
    """A context that holds BLAS to one thread when ``step_work`` (one step's multiply-adds) is small."""
    return one_blas_thread() if step_work < ONE_THREAD_BELOW else nullcontext()


_holders = 0  # contexts of one_blas_thread running now, in any thread
_holders_lock = threading.Lock()
_held_since = None  # threadpoolctl's record of the limits before the first of them


@contextmanager
def one_blas_thread():
    """A context that holds BLAS to one thread; the limits before it come back when the last such context running
    in the process ends. (The limit is process-wide: with a plain set-and-restore per call, Python threads
    calling kernels at once restored it out of order and left it changed. OpenBLAS's setting, changed by one
    thread just as another sets it again, was still measured to be lost now and then, for part of a call.)"""
    global _holders, _held_since
    with _holders_lock:
        if _holders == 0:
            _held_since = _blas_libraries().limit(limits=1)
        _holders += 1
    try:
        yield
    finally:
        with _holders_lock:
            _holders -= 1
            if _holders == 0:
                _held_since.restore_original_limits()
                _held_since = None


def small_products_on_one_thread(sizes: Callable[..., tuple[int, int, int]]):
    """Decorate a kernel function so that it runs under ``blas_threads_for``; ``sizes(*args)`` gives its (B, D, H)."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with blas_threads_for(step_work(*sizes(*args))):
                return fn(*args, **kwargs)
        return run
    return decorate


def batch_slices(B: int, D: int, H: int) -> list[tuple[int, int]]:
    """The compiled kernel's slices ``[(b0, b1), ...]`` of a batch of B rows of an LSTM layer of sizes D, H: as many as
    fit ``SLICE_AT_LEAST`` rows each, at most ``SLICES_AT_MOST``; a batch with room for one such slice only is cut
    in two all the same where its step's product is ``ONE_THREAD_BELOW`` multiply-adds or more (and B >= 16), since
    the kernel keeps BLAS on one thread (B=32, T=100, D=8, H=256: 2.0x torch's training step as one slice, 1.3x as two).
    A function of the sizes alone, never of the cores."""
    count = max(1, min(B // SLICE_AT_LEAST, SLICES_AT_MOST))
    if count == 1 and B >= 16 and step_work(B, D, H) >= ONE_THREAD_BELOW:
        count = 2
    return equal_parts(B, count)


def equal_parts(n: int, count: int) -> list[tuple[int, int]]:
    """``range(n)`` cut into ``count`` runs ``[(lo, hi), ...]`` whose lengths differ by at most one."""
    edges = [n * k // count for k in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


def local_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        return os.cpu_count() or 1


_threads_at_most: int | None = None  # kernel_threads_at_most's limit while one is held


def kernel_threads() -> int:
    """How many threads a compiled kernel call may run its slices on: the cores this process may run on, or fewer
    while ``kernel_threads_at_most`` holds a limit (the forecaster's worker processes each hold their share)."""
    cores = local_cores()
    return cores if _threads_at_most is None else max(1, min(cores, _threads_at_most))


def limit_kernel_threads(n: int | None) -> None:
    """Hold ``kernel_threads()`` to at most ``n`` in this process from now on (None: no limit)."""
    global _threads_at_most
    _threads_at_most = n


@contextmanager
def kernel_threads_at_most(n: int):
    """A context in which ``kernel_threads()`` is at most ``n`` (process-wide; the previous limit comes back after)."""
    previous = _threads_at_most
    limit_kernel_threads(n)
    try:
        yield
    finally:
        limit_kernel_threads(previous)


_side_by_side_in: int | None = None  # the process that first ran slices side by side: a child forked from it never
# does (GNU OpenMP, Numba's threads where it is installed, cannot start threads in a process forked after it ran,
# and Numba ends such a process), and runs them one after another instead, to the same numbers


@contextmanager
def slice_threads(slices: int, work: int):
    """A context that gives how many threads a compiled call of ``slices`` slices, whose products come to ``work``
    multiply-adds, runs them on: up to ``kernel_threads()``; one below ``THREADS_FROM``, and one in any thread
    but the main one (whoever started that thread runs things side by side already: Dask's worker threads, a
    server's). Above one, Numba's thread count for this thread is set to it, and comes back after. (The compiled
    kernel holds BLAS to one thread around every call, whatever the threads: ``compiled_lstm``.)"""
    import numba

    global _side_by_side_in
    n = min(slices, kernel_threads(), numba.config.NUMBA_NUM_THREADS)
    if (work < THREADS_FROM or threading.current_thread() is not threading.main_thread() or n <= 1
            or _side_by_side_in not in (None, os.getpid())):
        yield 1
        return
    _side_by_side_in = os.getpid()
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)
