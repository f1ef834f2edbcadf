"""Where a step's time goes: the matrix products against everything else, and on a GPU, Python's share.

    python -m benchmarks.step_profile                  # NumPy kernel, the CPU configurations
    python -m benchmarks.step_profile --device cuda    # CuPy kernel, the GPU configurations

For each configuration this times the public ``lstm_forward`` and ``lstm_backward`` ("whole") and,
on the same arrays, the matrix products that the path makes (forward: the T step products; backward:
the T step products and the one weight-gradient product after the loop). "rest" is whole minus
products: the gate arithmetic and the per-call overhead, which is where the fast path and the fused
kernels differ from the reference.

On a GPU each time is taken twice: "host" is how long Python takes to hand the GPU its work (the
call returns before the GPU finishes), "wall" adds the wait for the GPU. Where host is close to
wall, the GPU spends the step waiting for Python and launches, and capturing the step loop in a
CUDA graph is the lever; where wall is well above host, the GPU's own work is the cost, and the
lever is the kernels. On a CPU the two are the same, and one is printed.
"""

from __future__ import annotations

import argparse

import numpy as np

import scratchlstm as sl
from scratchlstm.backend import get_namespace
from scratchlstm.nn.kernels.cupy_lstm import CupyLSTMCache
from scratchlstm.nn.kernels.numpy_lstm import NumpyLSTMCache

from benchmarks.bench_lstm import CPU_CONFIGS, GPU_CONFIGS, time_host_and_wall


def path_products(xp, cache):
    """Two functions that make, on the cache's own arrays, the matrix products of the path that made
    ``cache``: forward's T step products, and backward's T step products plus its weight-gradient
    product. Their operands are the cache's arrays or arrays of the same shape and layout; forward
    returns the last step's (B, 4H) product, the pre-activations ``a_T`` of the path's layout."""
    if not isinstance(cache, (NumpyLSTMCache, CupyLSTMCache)):
        raise ValueError("this profile is for the speed kernels: run lstm_forward(..., engine='fast')")
    T, B, D, H = cache.shape
    K = H + D + 1
    W, Z = cache.W, cache.Z
    if isinstance(cache, NumpyLSTMCache):  # feature-major: Z (K, T+1, B), W (4H, K), a_t = W Z_t
        a = np.empty((4 * H, B), dtype=W.dtype)
        dA = cache.A  # (T, 4H, B), stands in for the gradients
        WT = np.ascontiguousarray(W.T)
        dz = np.empty((K, B), dtype=W.dtype)
        Z_steps = [Z[:, t, :] for t in range(T)]
        Z_all = Z.reshape(K, (T + 1) * B)[:, : T * B]
        dA_all = np.ascontiguousarray(dA.transpose(1, 0, 2)).reshape(4 * H, T * B)

        def forward():
            for z in Z_steps:
                np.matmul(W, z, out=a)
            return a.T

        def backward():
            for da in dA[::-1]:
                np.matmul(WT, da, out=dz)
            dA_all @ Z_all.T

    else:  # the CuPy kernel, batch-major: Z (T+1, B, K), W (K, 4H), a_t = Z_t W
        a = xp.empty((B, 4 * H), dtype=W.dtype)
        dA = cache.gates  # (T, B, 4H), stands in for the gradients
        WT = xp.ascontiguousarray(W.T)
        dZ = xp.empty((T, B, K), dtype=W.dtype)

        def forward():
            for t in range(T):
                xp.matmul(Z[t], W, out=a)
            return a

        def backward():
            for t in reversed(range(T)):
                xp.matmul(dA[t], WT, out=dZ[t])
            Z[:T].reshape(T * B, K).T @ dA.reshape(T * B, 4 * H)

    return forward, backward


def profile(device: str, dtype: str, warmup: int, repeats: int, configs=None) -> list[dict]:
    """One row of medians per configuration (``configs``: (B, T, D, H, note) tuples; the device's
    defaults when None): ``fwd``, ``bwd``, ``fwd_products``, ``bwd_products``, each ``_host`` and ``_wall``."""
    if device == "cuda":
        get_namespace("cupy")  # a clear error when CuPy or the GPU is missing
        import cupy as xp

        def sync():
            xp.cuda.Device().synchronize()

        configs = configs or GPU_CONFIGS
    else:
        xp = np

        def sync():
            pass

        configs = configs or CPU_CONFIGS
    rows = []
    for B, T, D, H, note in configs:
        rng = np.random.default_rng(0)
        params = {k: xp.asarray(v) for k, v in sl.init_lstm_params(D, H, dtype=dtype, seed=0).items()}
        x = xp.asarray(rng.standard_normal((T, B, D)).astype(dtype))
        dhs = xp.asarray(rng.standard_normal((T, B, H)).astype(dtype))
        _, _, cache = sl.lstm_forward(params, x, engine="fast")
        products_fwd, products_bwd = path_products(xp, cache)
        row = dict(B=B, T=T, D=D, H=H, note=note)
        timings = {"fwd": lambda: sl.lstm_forward(params, x, engine="fast"), "fwd_products": products_fwd,
                   "bwd": lambda: sl.lstm_backward(cache, dhs), "bwd_products": products_bwd}
        for name, fn in timings.items():
            row[name + "_host"], row[name + "_wall"] = time_host_and_wall(fn, warmup, repeats, sync)
        rows.append(row)
    return rows


def print_rows(rows: list[dict], device: str, dtype: str) -> None:
    ms = lambda s: f"{1e3 * s:9.3f}"  # noqa: E731
    print(f"{device}, {dtype}: milliseconds per call (medians); rest = whole - products")
    head = f"{'B':>5}{'T':>5}{'D':>4}{'H':>6} | {'fwd whole':>9}{'products':>9}{'rest':>9}"
    head += f" | {'bwd whole':>9}{'products':>9}{'rest':>9}"
    if device == "cuda":
        head += f" | {'fwd host':>9}{'bwd host':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        line = f"{r['B']:>5}{r['T']:>5}{r['D']:>4}{r['H']:>6} |"
        for part in ("fwd", "bwd"):
            whole, products = r[part + "_wall"], r[part + "_products_wall"]
            line += f"{ms(whole)}{ms(products)}{ms(whole - products)} |"
        if device == "cuda":
            line += f"{ms(r['fwd_host'])}{ms(r['bwd_host'])}"
        print(line.rstrip(" |"))
    if device == "cuda":
        print("host: time until the call returns, before the GPU finishes; host close to whole means the GPU"
              " waits on Python and launches (the case for a CUDA graph)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up calls of each (default 10)")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls of each (default 30)")
    args = parser.parse_args()
    print_rows(profile(args.device, args.dtype, args.warmup, args.repeats), args.device, args.dtype)


if __name__ == "__main__":
    main()
