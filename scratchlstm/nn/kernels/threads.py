"""How many threads the NumPy kernel's matrix products get: one, when the step's product is small.

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
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from typing import Callable

ONE_THREAD_BELOW = 2**22  # multiply-adds in one step's product (B=64: H below about 128)

_blas = None  # the BLAS libraries NumPy loaded, found once (finding them takes about 0.6 ms)


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
    return _blas_libraries().limit(limits=1) if step_work < ONE_THREAD_BELOW else nullcontext()


def small_products_on_one_thread(sizes: Callable[..., tuple[int, int, int]]):
    """Decorate a kernel function so that it runs under ``blas_threads_for``; ``sizes(*args)`` gives its (B, D, H)."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with blas_threads_for(step_work(*sizes(*args))):
                return fn(*args, **kwargs)
        return run
    return decorate
