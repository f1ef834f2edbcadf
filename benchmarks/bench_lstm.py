"""scratchlstm's LSTM against torch.nn.LSTM, forward and forward+backward, in one process.

    python -m benchmarks.bench_lstm                       # CPU, NumPy vs torch (2 threads, eager autograd)
    python -m benchmarks.bench_lstm --device cuda         # CuPy vs torch on CUDA (cuDNN)
    python -m benchmarks.bench_lstm --json results.json

scratchlstm runs with ``engine="fast"`` (the speed kernel of NumPy or CuPy arrays). On the CPU, where
Numba is installed, ``engine="compiled"`` (the NumPy kernel compiled, the batch in slices side by side) is timed in the same
alternation and gets a second table; ``--engines fast`` leaves it out.

Each configuration is timed alternating ours and torch's (in blocks, see ``time_alternating``),
after warm-up calls, and the table shows medians and the ratios ours/torch (below 1: we are faster)
of three things: the forward that keeps the cache for a backward; the forward without a cache
(``need_cache=False``, what validation and prediction run) against torch's forward under
``torch.no_grad()``; and a training step (forward + backward) against torch's autograd. "BLAS
threads" times our training step again with the BLAS library's own thread count instead of the
kernel's one-thread rule for small products (``scratchlstm/nn/kernels/threads.py``), as a ratio to
the step with the rule (above 1: the rule pays). The JSON also holds the achieved GFLOP/s (forward
2*B*T*(D+H)*4H flops, backward twice that) next to the machine's own large-matmul rate measured in
the same run, and the peak memory of our cache against its theoretical size; the last column times
torch's forward on one thread, as a check on its 2-thread figure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import time
import tracemalloc
from contextlib import contextmanager

import numpy as np

import scratchlstm as sl
from scratchlstm.backend import get_namespace, to_numpy
from scratchlstm.interop import lstm_from_torch
from scratchlstm.nn.kernels import threads as kernel_threads

CPU_CONFIGS = [(64, 60, 1, 50, "60-day bitcoin tutorial"), (64, 60, 1, 128, ""), (32, 100, 8, 256, ""), (1, 60, 1, 50, "online prediction")]
GPU_CONFIGS = [(64, 60, 1, 50, ""), (256, 100, 1, 512, ""), (1024, 100, 1, 1024, "")]


QUIET_S = 0.15  # seconds of quiet before a timing, for the other library's threads to stop spinning


def time_host_and_wall(fn, warmup: int, repeats: int, sync=lambda: None) -> tuple[float, float]:
    """Median seconds until ``fn()`` returns (host) and until ``sync()`` returns after it (wall),
    after ``warmup`` calls. On a GPU the call returns once its work is queued, so the two differ."""
    for _ in range(warmup):
        fn()
    sync()
    host, wall = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        sync()
        host.append(t1 - t0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(host), statistics.median(wall)


def time_alone(fn, warmup: int, repeats: int, sync=lambda: None) -> float:
    """Median seconds of ``fn()`` (and ``sync()``) after ``warmup`` calls."""
    return time_host_and_wall(fn, warmup, repeats, sync)[1]


AVX512_FOR_SKYLAKEX = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}  # what OpenBLAS's SkylakeX kernels use


def blas_kernels() -> tuple[str, str | None]:
    """The BLAS libraries loaded (NumPy's, and SciPy's for the compiled engine), each with its version and the kernels
    it runs, and ``avx2_kernels_note``'s note on them."""
    from threadpoolctl import threadpool_info
    libraries = [info for info in threadpool_info() if info["user_api"] == "blas"]
    described = "; ".join(f"{info['internal_api']} {info['version']} ({info.get('architecture') or 'kernels not said'}, "
                          f"{info['filepath'].rsplit('/', 1)[-1]})" for info in libraries) or "none found"
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:
        flags = set()
    return described, avx2_kernels_note([info.get("architecture") for info in libraries], flags,
                                        os.environ.get("OPENBLAS_CORETYPE"))


def avx2_kernels_note(architectures: list, cpu_flags: set, coretype: str | None) -> str | None:
    """A note where a CPU with AVX-512 runs OpenBLAS's AVX2 (Haswell) kernels, saying why (``coretype``: the
    environment's OPENBLAS_CORETYPE) and what to do; None elsewhere."""
    if not (AVX512_FOR_SKYLAKEX <= cpu_flags and "Haswell" in architectures):
        return None
    why = (f"the environment sets OPENBLAS_CORETYPE={coretype}, which holds OpenBLAS to its AVX2 (Haswell) kernels on "
           "this CPU with AVX-512; unset, OpenBLAS chose its AVX-512 (SkylakeX) kernels on AMD Zen 5" if coretype else
           "OpenBLAS chose its AVX2 (Haswell) kernels on this CPU with AVX-512; OPENBLAS_CORETYPE=SkylakeX, set before "
           "Python starts, gives it its AVX-512 kernels")
    return why + ", whose small products were about twice as fast there (docs/speed.md)"


def matmul_gflops(xp, dtype, sync, n: int = 1024, repeats: int = 10) -> float:
    """The machine's large square matrix-product rate in this process (GFLOP/s)."""
    a = xp.asarray(np.random.default_rng(0).standard_normal((n, n)), dtype=dtype)
    b = xp.asarray(np.random.default_rng(1).standard_normal((n, n)), dtype=dtype)
    return 2 * n**3 / time_alone(lambda: a @ b, 3, repeats, sync) / 1e9


def forward_page_faults(fn, calls: int = 20) -> float | None:
    """Page faults per call of ``fn`` after warm-up (None where the OS does not count them).

    A forward that takes fresh pages from the system on every call pays for each one (about 1,500
    at B=64, T=60, H=50 float32, which tripled the forward's time): this column should read 0.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    for _ in range(5):
        fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def time_alternating(fns, warmup: int, repeats: int, sync, block: int = 5, pause: float = QUIET_S) -> list[float]:
    """Median seconds of each of ``fns``, timed alternately in blocks.

    Thread pools keep spinning for a while after a call (OpenBLAS's for about 0.1 s) and take CPU
    from whatever runs next: measured here, torch's forward at B=64, H=128 took 7.4 ms right after
    scratchlstm's calls and 3.4 ms after a 0.2 s pause. So each block of ``block`` calls starts
    after ``pause`` seconds of quiet, and its first call is not counted either.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    sync()
    times = [[] for _ in fns]
    for _ in range(max(1, repeats // (block - 1))):
        for fn, kept in zip(fns, times):
            time.sleep(pause)
            for k in range(block):
                t0 = time.perf_counter()
                fn()
                sync()
                if k:
                    kept.append(time.perf_counter() - t0)
    return [statistics.median(kept) for kept in times]


@contextmanager
def library_threads():
    """The kernel's calls with the BLAS library's own thread count (the one-thread rule off)."""
    rule = kernel_threads.ONE_THREAD_BELOW
    kernel_threads.ONE_THREAD_BELOW = 0
    try:
        yield
    finally:
        kernel_threads.ONE_THREAD_BELOW = rule


def run(device: str, dtypes, warmup: int, repeats: int, threads: int, configs=None, compiled: bool = False) -> dict:
    """Time every configuration (``configs``: (B, T, D, H, note) tuples; the device's defaults
    when None) in each dtype; the rows also hold the largest relative difference of our outputs from
    torch's, as a check that the two compute the same thing. ``compiled``: time ``engine="compiled"``'s
    forward without a cache and training step too, in the same alternations (CPU only)."""
    import torch

    torch.set_num_threads(threads)
    if device == "cuda":
        xp = get_namespace("cupy")
        import cupy

        def sync():
            cupy.cuda.Device().synchronize()
            torch.cuda.synchronize()

        # IEEE float32 products on both sides: CuPy does not use TF32 unless CUPY_TF32=1, and torch's
        # cuDNN does by default, which would compare 10-bit-mantissa products with full ones
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        configs = configs or GPU_CONFIGS
    else:
        xp = get_namespace("numpy")

        def sync():
            pass

        configs = configs or CPU_CONFIGS
    rows = []
    peak = {dt: matmul_gflops(xp, getattr(xp, dt), sync) for dt in dtypes}
    for dtype in dtypes:
        tdt = getattr(torch, dtype)
        for B, T, D, H, note in configs:
            torch.manual_seed(0)
            module = torch.nn.LSTM(D, H, dtype=tdt, device=device)
            params = lstm_from_torch(module, xp=xp)[0]
            rng = np.random.default_rng(0)
            x_host = rng.standard_normal((T, B, D)).astype(dtype)
            dh_host = rng.standard_normal((T, B, H)).astype(dtype)
            x = xp.asarray(x_host)
            dhs = xp.asarray(dh_host)
            xt = torch.tensor(x_host, device=device)
            xt_grad = xt.clone().requires_grad_(True)
            dht = torch.tensor(dh_host, device=device)

            def ours_fwd():
                sl.lstm_forward(params, x, engine="fast")

            def ours_fwd_no_cache(engine="fast"):
                sl.lstm_forward(params, x, engine=engine, need_cache=False)

            def ours_train(engine="fast"):
                _, _, cache = sl.lstm_forward(params, x, engine=engine)
                sl.lstm_backward(cache, dhs)

            def compiled_fwd_no_cache():
                ours_fwd_no_cache("compiled")

            def compiled_train():
                ours_train("compiled")

            def compiled_train_one_thread():
                with kernel_threads.kernel_threads_at_most(1):  # the slices one after another
                    ours_train("compiled")

            def ours_train_library_threads():
                with library_threads():
                    ours_train()

            def torch_fwd():
                with torch.no_grad():
                    module(xt)

            def torch_train():
                module.zero_grad(set_to_none=True)
                out, _ = module(xt_grad)
                out.backward(dht)

            extra_fwd = [compiled_fwd_no_cache] if compiled else []
            f_ours, f_no_cache, f_torch, *f_compiled = time_alternating([ours_fwd, ours_fwd_no_cache, torch_fwd, *extra_fwd],
                                                                       warmup, repeats, sync)
            f_torch_1 = None
            if device == "cpu" and threads > 1:
                # torch's forward on one thread, as a check on the figure above: on the shared
                # development VM torch's 2-thread pool sometimes runs in a slow state for the life of
                # a process (forward 4.5 ms instead of 1.6 ms at B=64, H=50; one thread: 1.7 ms)
                time.sleep(QUIET_S)
                torch.set_num_threads(1)
                f_torch_1 = time_alone(torch_fwd, 5, repeats)
                torch.set_num_threads(threads)
            train_fns = [ours_train, torch_train] + ([ours_train_library_threads] if device == "cpu" else [])
            compiled_fns = [compiled_train, compiled_train_one_thread] if compiled else []
            t_ours, t_torch, *t_more = time_alternating(train_fns + compiled_fns, warmup, repeats, sync)
            t_library = t_more[:1] if device == "cpu" else []
            t_compiled, t_compiled_one = t_more[-2:] if compiled else (None, None)
            flops_fwd = 2 * B * T * (D + H) * 4 * H
            itemsize = np.dtype(dtype).itemsize
            theory = itemsize * (T * B * D + T * B * 4 * H + 3 * T * B * H)
            if device == "cpu":
                tracemalloc.start()
                _, _, cache = sl.lstm_forward(params, x, engine="fast")
                measured = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            else:  # what the cache holds in CuPy's memory pool (the forward frees its temporaries)
                pool = cupy.get_default_memory_pool()
                before = pool.used_bytes()
                _, _, cache = sl.lstm_forward(params, x, engine="fast")
                measured = pool.used_bytes() - before
            del cache
            faults = forward_page_faults(ours_fwd) if device == "cpu" else None
            faults_no_cache = forward_page_faults(ours_fwd_no_cache) if device == "cpu" else None
            # check the two agree while we are here
            hs, _, _ = sl.lstm_forward(params, x, engine="fast")
            with torch.no_grad():
                ref = module(xt)[0].cpu().numpy()
            err = float(np.max(np.abs(to_numpy(hs) - ref)) / np.max(np.abs(ref)))
            rows.append(dict(dtype=dtype, B=B, T=T, D=D, H=H, note=note,
                             fwd_ours_ms=1e3 * f_ours, fwd_torch_ms=1e3 * f_torch, fwd_ratio=f_ours / f_torch,
                             fwd_no_cache_ms=1e3 * f_no_cache, fwd_no_cache_ratio=f_no_cache / f_torch,
                             fwd_torch_1thread_ms=None if f_torch_1 is None else 1e3 * f_torch_1,
                             train_ours_ms=1e3 * t_ours, train_torch_ms=1e3 * t_torch, train_ratio=t_ours / t_torch,
                             train_library_threads_ms=1e3 * t_library[0] if t_library else None,
                             train_library_threads_ratio=t_library[0] / t_ours if t_library else None,
                             fwd_gflops=flops_fwd / f_ours / 1e9, train_gflops=3 * flops_fwd / t_ours / 1e9,
                             cache_peak_mb=None if measured is None else measured / 2**20, cache_theory_mb=theory / 2**20,
                             fwd_page_faults=faults, fwd_no_cache_page_faults=faults_no_cache, max_rel_diff=err,
                             **({} if not compiled else dict(
                                 compiled_fwd_no_cache_ms=1e3 * f_compiled[0], compiled_fwd_no_cache_ratio=f_compiled[0] / f_torch,
                                 compiled_train_ms=1e3 * t_compiled, compiled_train_ratio=t_compiled / t_torch,
                                 compiled_train_one_thread_ms=1e3 * t_compiled_one,
                                 compiled_train_one_thread_ratio=t_compiled_one / t_compiled))))
    blas, blas_hint = blas_kernels() if device == "cpu" else (None, None)
    return {"device": device, "threads": threads, "platform": platform.platform(), "numpy": np.__version__,
            "torch": torch.__version__, "matmul_gflops": peak, "blas": blas, "blas_hint": blas_hint, "rows": rows}


def print_table(result: dict) -> None:
    print(f"device {result['device']}, torch {result['torch']}, numpy {result['numpy']}, {result['threads']} threads")
    print("large-matmul rate here: " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in result["matmul_gflops"].items()))
    if result.get("blas"):
        print(f"BLAS: {result['blas']}")
    if result.get("blas_hint"):
        print(f"note: {result['blas_hint']}")
    head = (f"{'dtype':<8}{'B':>5}{'T':>5}{'D':>4}{'H':>6} | {'fwd ours':>9}{'no cache':>9}{'torch':>8}{'ratio':>7}{'no-cache':>9} | "
            f"{'train ours':>10}{'torch':>8}{'ratio':>7} | {'BLAS threads':>12} | {'faults':>6} | {'torch fwd 1 thr':>15} | note")
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        one = "-" if r.get("fwd_torch_1thread_ms") is None else f"{r['fwd_torch_1thread_ms']:.2f}ms"
        faults = "-" if r.get("fwd_page_faults") is None else f"{r['fwd_page_faults']:.0f}/{r['fwd_no_cache_page_faults']:.0f}"
        library = "-" if r.get("train_library_threads_ratio") is None else f"{r['train_library_threads_ratio']:.2f}"
        print(f"{r['dtype']:<8}{r['B']:>5}{r['T']:>5}{r['D']:>4}{r['H']:>6} | {r['fwd_ours_ms']:>7.2f}ms{r['fwd_no_cache_ms']:>7.2f}ms"
              f"{r['fwd_torch_ms']:>6.2f}ms{r['fwd_ratio']:>7.2f}{r['fwd_no_cache_ratio']:>9.2f} | "
              f"{r['train_ours_ms']:>8.2f}ms{r['train_torch_ms']:>6.2f}ms{r['train_ratio']:>7.2f} | {library:>12} | "
              f"{faults:>6} | {one:>15} | {r['note']}")
    print("times are medians; ratio = ours / torch (below 1: scratchlstm is faster); torch's forward runs under no_grad;")
    print("no-cache: our forward without a cache (need_cache=False) / torch's; BLAS threads: our training step with the BLAS")
    print("library's own thread count / with the kernel's one-thread rule (above 1: the rule pays);")
    print("faults: page faults per forward call, with / without a cache (should be 0)")
    print("torch fwd 1 thr: torch's forward on one thread, timed alone; where it beats the 2-thread figure by far,"
          " torch's thread pool was in its slow state and the ratios flatter scratchlstm: run again")
    compiled = [r for r in result["rows"] if "compiled_train_ms" in r]
    if compiled:
        print()
        print('engine="compiled" (the NumPy kernel compiled by Numba, the batch in slices side by side), timed in the same alternations:')
        head = (f"{'dtype':<8}{'B':>5}{'T':>5}{'D':>4}{'H':>6} | {'fwd no cache':>12}{'torch':>8}{'ratio':>7} | "
                f"{'train':>9}{'torch':>8}{'ratio':>7} | {'slices on 1 thread':>18} | {'fast: no-cache, train ratio':>27}")
        print(head)
        print("-" * len(head))
        for r in compiled:
            print(f"{r['dtype']:<8}{r['B']:>5}{r['T']:>5}{r['D']:>4}{r['H']:>6} | {r['compiled_fwd_no_cache_ms']:>10.2f}ms"
                  f"{r['fwd_torch_ms']:>6.2f}ms{r['compiled_fwd_no_cache_ratio']:>7.2f} | {r['compiled_train_ms']:>7.2f}ms"
                  f"{r['train_torch_ms']:>6.2f}ms{r['compiled_train_ratio']:>7.2f} | {r['compiled_train_one_thread_ratio']:>18.2f} | "
                  f"{r['fwd_no_cache_ratio']:>13.2f}, {r['train_ratio']:.2f}")
        print("slices on 1 thread: the compiled training step with its batch's slices one after another / side by side "
              "(above 1: the threads pay; where the batch is one slice the two run the same code, and differ by the timing's noise)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--dtypes", default="float32,float64", help="comma-separated (default float32,float64)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up calls of each (default 10)")
    parser.add_argument("--repeats", type=int, default=32, help="timed calls of each (default 32)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--json", default="benchmarks/results.json", help="where to write the results")
    parser.add_argument("--engines", default="fast,compiled",
                        help="fast, or fast,compiled (the default: compiled where Numba is installed, on the CPU)")
    args = parser.parse_args()
    compiled = "compiled" in args.engines.split(",") and args.device == "cpu" and importlib.util.find_spec("numba") is not None
    if "compiled" in args.engines.split(",") and not compiled:
        print("engine 'compiled' not timed: " + ("it runs the CuPy kernel on a GPU, as 'fast' does" if args.device == "cuda"
                                                 else "Numba is not installed (pip install 'scratchlstm[compiled]')"))
    result = run(args.device, args.dtypes.split(","), args.warmup, args.repeats, args.threads, compiled=compiled)
    print_table(result)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
