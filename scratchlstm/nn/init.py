"""Weight initialisers, all drawn on the host from one seed.

Every draw goes through ``numpy.random.default_rng`` on the host and is then moved to the target
namespace, so the same seed gives the same weights on NumPy, CuPy and array-api-strict.

Two schemes for every cell, each named after the library whose defaults it reproduces (gate blocks
i | f | g | o for the LSTM, r | z | n for the GRU):

``"pytorch"``  every entry of W_x, W_h and the biases from U(-k, k), k = 1/sqrt(H), no forget-bias
               shift (``torch.nn.LSTM``, ``GRU`` and ``RNN``; for the LSTM and the RNN PyTorch draws two
               biases, and here their sum is one bias, so the bias's distribution differs).
``"glorot"``   Keras's defaults (``keras.layers.LSTM``, ``GRU``, ``SimpleRNN``): W_x Glorot/Xavier
               uniform, U(-r, r) with r = sqrt(6 / (D + G H)) for G gate blocks; W_h one orthogonal
               matrix over the whole (H, G H) recurrent kernel (orthonormal rows, every singular value
               1); biases zero, except the LSTM's forget block at 1 (``unit_forget_bias=True``).

``forget_bias`` (LSTM only) replaces the scheme's forget-block bias when given; 1.0 is the common
recommendation (Gers et al. 2000; Jozefowicz et al. 2015) so that the cell remembers by default at
the start of training.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import Array, host_rng, place
from ..errors import ConfigError
from ..settings import is_number

SCHEMES = ("pytorch", "glorot")
FORGET_BIAS = {"pytorch": None, "glorot": 1.0}  # each scheme's own forget-block bias (None: drawn with the others)


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


def _check(input_size: int, hidden_size: int, scheme: str) -> None:
    if input_size < 1 or hidden_size < 1:
        raise ConfigError(f"input_size and hidden_size must be at least 1, got {input_size} and {hidden_size}")
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown init scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


def _fused(rng: np.random.Generator, D: int, H: int, gates: int, scheme: str, biases: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Host ``W_x (D, G H)``, ``W_h (H, G H)`` and zero or uniform biases ``(G H,)`` of one scheme."""
    G = gates
    if scheme == "pytorch":
        k = 1.0 / math.sqrt(H)
        arrays = {"W_x": uniform(rng, (D, G * H), k), "W_h": uniform(rng, (H, G * H), k)}
        arrays.update({name: uniform(rng, (G * H,), k) for name in biases})
        return arrays
    arrays = {"W_x": glorot_uniform(rng, D, G * H), "W_h": orthogonal(rng, H, G * H)}
    arrays.update({name: np.zeros(G * H) for name in biases})
    return arrays


def init_lstm_params(input_size: int, hidden_size: int, *, seed: int | np.random.Generator | None = 0,
                     scheme: str = "pytorch", forget_bias: float | None = None, xp=None, dtype: str = "float32",
                     device=None) -> dict[str, Array]:
    """Parameters ``{"W_x" (D, 4H), "W_h" (H, 4H), "b" (4H,)}`` of one LSTM layer.

    ``xp`` is the target namespace (NumPy when omitted); ``dtype`` is ``"float32"`` or ``"float64"``;
    ``forget_bias`` defaults to the scheme's own (``FORGET_BIAS``).
    """
    _check(input_size, hidden_size, scheme)
    H = hidden_size
    host = _fused(host_rng(seed), input_size, H, 4, scheme, ("b",))
    if forget_bias is not None and not (is_number(forget_bias) and math.isfinite(forget_bias)):  # NaN: every bias NaN
        raise ConfigError(f"forget_bias must be a finite number, got {forget_bias!r}")
    shift = FORGET_BIAS[scheme] if forget_bias is None else forget_bias
    if shift is not None:  # (PyTorch's scheme draws the forget block's bias as it draws the others: it was set to 0)
        host["b"][1 * H : 2 * H] = shift
    return place(host, xp=xp, dtype=dtype, device=device)


def init_gru_params(input_size: int, hidden_size: int, *, seed: int | np.random.Generator | None = 0, scheme: str = "pytorch",
                    xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """GRU parameters ``{"W_x" (D, 3H), "W_h" (H, 3H), "b_x" (3H,), "b_h" (3H,)}``, gate blocks r | z | n."""
    _check(input_size, hidden_size, scheme)
    return place(_fused(host_rng(seed), input_size, hidden_size, 3, scheme, ("b_x", "b_h")), xp=xp, dtype=dtype, device=device)


def init_rnn_params(input_size: int, hidden_size: int, *, seed: int | np.random.Generator | None = 0, scheme: str = "pytorch",
                    xp=None, dtype: str = "float32", device=None) -> dict[str, Array]:
    """Vanilla RNN parameters ``{"W_x" (D, H), "W_h" (H, H), "b" (H,)}``."""
    _check(input_size, hidden_size, scheme)
    return place(_fused(host_rng(seed), input_size, hidden_size, 1, scheme, ("b",)), xp=xp, dtype=dtype, device=device)
