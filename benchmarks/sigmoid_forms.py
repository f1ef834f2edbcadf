"""What the accurate float32 sigmoid costs: the fast kernel's exp form against the tanh form it replaced.

    python -m benchmarks.sigmoid_forms

A forward step of the NumPy kernel activates its gate block ``A_t (4H, B)``: three sigmoid gates
(rows 0:3H) and the candidate (rows 3H:4H). The two ways to do it in a few whole-block calls:

- exp form (what runs): the sigmoid rows hold -z (their weights are pre-negated), then
  ``exp``, ``+ 1``, ``1 / .``, and ``tanh`` over the candidate rows: 4 calls.
- tanh form (before): the sigmoid rows hold z / 2 (halved weights), ``tanh`` over all 4H rows, then
  ``* 0.5`` and ``+ 0.5`` over the sigmoid rows: 3 calls. 0.5 + 0.5 tanh(z / 2) rounds to exactly 0
  in float32 for z below about -17, so its relative error there is 100%.

For each shape this prints the time of one step's activation in each form (median of alternating
blocks, in one process) and the extra time over a 60-step forward, then each form's worst relative
error against the sigmoid computed in float64 from the same float32 pre-activations in [-80, 80].
"""

from __future__ import annotations

import statistics
import time

import numpy as np

SHAPES = ((64, 50), (64, 128), (32, 256), (1, 50))  # (B, H), the shapes of benchmarks.bench_lstm
T = 60


def exp_form(a: np.ndarray, H: int, one: np.ndarray) -> None:
    """Activate ``a (4H, B)`` in place; rows 0:3H hold -z."""
    s = a[: 3 * H]
    np.exp(s, out=s)
    np.add(s, one, out=s)
    np.divide(one, s, out=s)
    np.tanh(a[3 * H :], out=a[3 * H :])


def tanh_form(a: np.ndarray, H: int, half: np.ndarray) -> None:
    """Activate ``a (4H, B)`` in place; rows 0:3H hold z / 2."""
    np.tanh(a, out=a)
    s = a[: 3 * H]
    np.multiply(s, half, out=s)
    np.add(s, half, out=s)


def time_step(H: int, B: int, repeats: int = 15, block: int = 200) -> tuple[float, float]:
    """Median microseconds of one step's activation, exp form and tanh form, timed in alternating blocks."""
    rng = np.random.default_rng(0)
    z = (3.0 * rng.standard_normal((4 * H, B))).astype(np.float32)  # pre-activations of a trained-looking size
    neg, halved = z.copy(), z.copy()
    neg[: 3 * H] *= -1.0
    halved[: 3 * H] *= 0.5
    one, half = np.asarray(1.0, np.float32), np.asarray(0.5, np.float32)
    work = np.empty_like(z)
    runs = {"exp": (exp_form, neg, one), "tanh": (tanh_form, halved, half)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    with np.errstate(over="ignore"):
        for _ in range(repeats):
            for name, (form, source, constant) in runs.items():
                start = time.perf_counter()
                for _ in range(block):
                    np.copyto(work, source)  # a fresh block each time, as each step has; timed apart below
                    form(work, H, constant)
                times[name].append((time.perf_counter() - start) / block)
        copy_times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(block):
                np.copyto(work, neg)
            copy_times.append((time.perf_counter() - start) / block)
    copy = statistics.median(copy_times)
    return tuple(1e6 * (statistics.median(times[name]) - copy) for name in ("exp", "tanh"))


def worst_relative_error() -> tuple[float, float]:
    """Each form's worst relative error against float64's sigmoid, over float32 z in [-80, 80]."""
    z = np.linspace(-80.0, 80.0, 160_001).astype(np.float32)
    exact = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
    with np.errstate(over="ignore"):
        by_exp = np.float32(1.0) / (np.float32(1.0) + np.exp(-z))
    by_tanh = np.float32(0.5) + np.float32(0.5) * np.tanh(z * np.float32(0.5))
    return tuple(float(np.max(np.abs(form.astype(np.float64) - exact) / exact)) for form in (by_exp, by_tanh))


def main() -> None:
    print(f"float32 gate activation, one step (microseconds), and over a {T}-step forward")
    head = f"{'B':>4} {'H':>5} | {'exp form':>9} {'tanh form':>10} {'exp - tanh':>11} | {'per forward':>12}"
    print(head)
    print("-" * len(head))
    for B, H in SHAPES:
        exp_us, tanh_us = time_step(H, B)
        print(f"{B:>4} {H:>5} | {exp_us:>9.2f} {tanh_us:>10.2f} {exp_us - tanh_us:>+11.2f} | {T * (exp_us - tanh_us) / 1e3:>+10.3f}ms")
    by_exp, by_tanh = worst_relative_error()
    print(f"\nworst relative error against float64's sigmoid, z in [-80, 80]: exp form {by_exp:.2e}, tanh form {by_tanh:.2e}")


if __name__ == "__main__":
    main()
