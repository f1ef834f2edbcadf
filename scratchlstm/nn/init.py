"""Weight initialisers, all drawn on the host from one seed.

Every draw goes through ``numpy.random.default_rng`` on the host and is then moved to the target
namespace, so the same seed gives the same weights on NumPy, CuPy and array-api-strict.

Schemes for an LSTM layer with gate blocks i | f | g | o:

``"pytorch"``  every entry of W_x, W_h and b from U(-k, k), k = 1/sqrt(H), forget bias 0
               (PyTorch's ``nn.LSTM``; PyTorch draws two biases, here their sum is one bias).
``"glorot"``   Keras's ``LSTM`` defaults: W_x Glorot/Xavier uniform, U(-r, r) with
               r = sqrt(6 / (D + 4H)); W_h one orthogonal matrix over the whole (H, 4H) recurrent
               kernel (orthonormal rows, every singular value 1); b zero with the forget block at 1
               (Keras's ``unit_forget_bias=True``).

``forget_bias`` replaces the scheme's forget-block bias when given; 1.0 is the common recommendation
(Gers et al. 2000; Jozefowicz et al. 2015) so that the cell remembers by default at the start of
training.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import Array, dtype_of, from_host, get_namespace, host_rng

SCHEMES = ("pytorch", "glorot")
FORGET_BIAS = {"pytorch": 0.0, "glorot": 1.0}  # each scheme's own forget-block bias


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """(fan_in, fan_out) host array from U(-r, r), r = sqrt(6 / (fan_in + fan_out))."""
    r = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_in, fan_out))


def orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) host matrix with orthonormal rows or columns (whichever are fewer), uniformly
    distributed: the QR factor of a Gaussian with the signs fixed, as Keras's ``Orthogonal``."""
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))[None, :]
    return q.T if rows < cols else q


def uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    """Host array of ``shape`` from U(-bound, bound)."""
    return rng.uniform(-bound, bound, size=shape)


def init_lstm_params(
    input_size: int,
    hidden_size: int,
    *,
    seed: int | np.random.Generator | None = 0,
    scheme: str = "pytorch",
    forget_bias: float | None = None,
    xp=None,
    dtype: str = "float32",
    device=None,
) -> dict[str, Array]:
    """Parameters ``{"W_x" (D, 4H), "W_h" (H, 4H), "b" (4H,)}`` of one LSTM layer.

    ``xp`` is the target namespace (NumPy when omitted); ``dtype`` is ``"float32"`` or ``"float64"``;
    ``forget_bias`` defaults to the scheme's own (``FORGET_BIAS``).
    """
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be at least 1, got {input_size} and {hidden_size}")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    rng = host_rng(seed)
    D, H = input_size, hidden_size
    if scheme == "pytorch":
        k = 1.0 / math.sqrt(H)
        W_x = uniform(rng, (D, 4 * H), k)
        W_h = uniform(rng, (H, 4 * H), k)
        b = uniform(rng, (4 * H,), k)
    else:
        W_x = glorot_uniform(rng, D, 4 * H)
        W_h = orthogonal(rng, H, 4 * H)  # (H, 4H)
        b = np.zeros(4 * H)
    b[1 * H : 2 * H] = FORGET_BIAS[scheme] if forget_bias is None else forget_bias
    return place({"W_x": W_x, "W_h": W_h, "b": b}, xp=xp, dtype=dtype, device=device)


def place(host_arrays: dict[str, np.ndarray], *, xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """Move a dict of host arrays into namespace ``xp`` with ``dtype`` on ``device``."""
    xp = get_namespace("numpy") if xp is None else xp
    dt = dtype_of(xp, dtype)
    return {name: from_host(a, xp, dtype=dt, device=device) for name, a in host_arrays.items()}


def init_rnn_params(input_size: int, hidden_size: int, *, seed=0, xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """Vanilla RNN ``{"W_x" (D, H), "W_h" (H, H), "b" (H,)}`` from U(-1/sqrt(H), 1/sqrt(H)) (PyTorch's)."""
    rng, k = host_rng(seed), 1.0 / math.sqrt(hidden_size)
    D, H = input_size, hidden_size
    return place({"W_x": uniform(rng, (D, H), k), "W_h": uniform(rng, (H, H), k), "b": uniform(rng, (H,), k)}, xp=xp, dtype=dtype, device=device)


def init_gru_params(input_size: int, hidden_size: int, *, seed=0, xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """GRU ``{"W_x" (D, 3H), "W_h" (H, 3H), "b_x", "b_h" (3H,)}`` from U(-1/sqrt(H), 1/sqrt(H)) (PyTorch's)."""
    rng, k = host_rng(seed), 1.0 / math.sqrt(hidden_size)
    D, H = input_size, hidden_size
    host = {"W_x": uniform(rng, (D, 3 * H), k), "W_h": uniform(rng, (H, 3 * H), k), "b_x": uniform(rng, (3 * H,), k), "b_h": uniform(rng, (3 * H,), k)}
    return place(host, xp=xp, dtype=dtype, device=device)
