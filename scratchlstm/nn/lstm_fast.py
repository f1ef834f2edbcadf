"""The NumPy fast path of the LSTM: the same numbers as ``lstm.py``, computed with fewer, larger calls.

The reference (``lstm_forward_reference``/``lstm_backward_reference``) is what the docs derive; this
file reorganises the same arithmetic for NumPy and is tested against it (and against finite
differences and PyTorch, through the public functions that dispatch here for NumPy arrays).

What changes, and why each helps on a CPU:

1. Feature-major layout. Inside, every per-step array is (features, B): the gate pre-activations
   are ``A_t (4H, B)``, so each gate is one contiguous block of H*B numbers and every elementwise
   call runs over contiguous memory.
2. Gate order i, f, o, g inside (the public order is i, f, g, o), so the three sigmoid gates form
   one block ``A_t[0:3H]`` and the candidate the block ``A_t[3H:4H]``.
3. In float32, one ``tanh`` for all four gates: sigmoid(z) = 0.5 + 0.5 tanh(z / 2), so the forward
   weights of the sigmoid rows are pre-halved and ``0.5 * t + 0.5`` finishes them. In float64,
   where NumPy's ``tanh`` costs twice its ``exp``, the sigmoid rows are pre-negated instead and
   finished as ``1 / (1 + exp(-z))``.
4. Input and bias folded into the step's product: the state is kept as the augmented column
   ``Z_t = [h_{t-1}; x_t; 1]  (H + D + 1, B)`` and the weights as ``W (4H, H + D + 1) = [W_h^T |
   W_x^T | b]``, so ``A_t = W Z_t`` is one matrix product with no separate input product (which is
   very slow with an inner dimension of 1 when D = 1) and no bias add. Backward reads ``dh_{t-1}``
   and ``dx_t`` from one product ``W^T dA_t``, and all weight gradients come from one product
   after the loop, ``dW = sum_t dA_t Z_t^T``.
5. Every elementwise step writes into preallocated arrays with ``out=``; h_t is written straight
   into the next step's ``Z_{t+1}``.
"""

from __future__ import annotations

import numpy as np

# public gate blocks are i | f | g | o; the fast layout is i | f | o | g
_TO_FAST = (0, 1, 3, 2)


def _reorder_gates(m: np.ndarray, H: int, axis: int) -> np.ndarray:
    """Swap the g and o blocks of the 4H gates along ``axis``: public i, f, g, o <-> fast i, f, o, g
    (the swap is its own inverse)."""
    lead = (slice(None),) * axis  # slicing, not np.take: no index arrays, no extra copy
    blocks = [m[lead + (slice(k * H, (k + 1) * H),)] for k in _TO_FAST]
    return np.concatenate(blocks, axis=axis)


def _cell_update(a, c_prev, c, tc, h, ig, H: int) -> None:
    """c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t), from activated gates ``a`` (i | f | o | g)."""
    i, f, o, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
    np.multiply(f, c_prev, out=c)
    np.multiply(i, g, out=ig)
    np.add(c, ig, out=c)
    np.tanh(c, out=tc)
    np.multiply(o, tc, out=h)


def lstm_forward_numpy(params, x: np.ndarray, h0=None, c0=None):
    """Fast NumPy equivalent of :func:`scratchlstm.nn.lstm.lstm_forward_reference`."""
    W_x, W_h, b = params["W_x"], params["W_h"], params["b"]
    T, B, D = x.shape
    H = W_h.shape[0]
    K = H + D + 1
    dtype = np.result_type(x, W_x)
    W = _reorder_gates(np.concatenate([W_h.T, W_x.T, b[:, None]], axis=1), H, axis=0).astype(dtype, copy=False)  # (4H, K)
    # float32: sigmoid(z) = 0.5 + 0.5 tanh(z / 2), one tanh over all four gates (tanh is cheap);
    # float64: sigmoid(z) = 1 / (1 + exp(-z)) with the sigmoid rows pre-negated (exp is cheaper than tanh)
    use_exp = dtype == np.float64
    W_fwd = W.copy()
    W_fwd[: 3 * H] *= -1.0 if use_exp else 0.5

    # Z[:, t, :] = [h_{t-1}; x_t; 1] (K, B); Z[:H, T, :] = h_T. Step-minor so that after the loop
    # the first T*B columns of Z.reshape(K, (T + 1) * B) are every Z_t side by side, with no copy.
    Z = np.empty((K, T + 1, B), dtype=dtype)
    Z[H : H + D, :T, :] = x.transpose(2, 0, 1)
    Z[K - 1, :, :] = 1.0
    Z[:H, 0, :] = 0.0 if h0 is None else h0.T
    A = np.empty((T, 4 * H, B), dtype=dtype)  # activated gates i | f | o | g
    C = np.empty((T + 1, H, B), dtype=dtype)  # C[t + 1] = c_t; C[0] = c_0
    TC = np.empty((T, H, B), dtype=dtype)  # tanh(c_t)
    C[0] = 0.0 if c0 is None else c0.T
    ig = np.empty((H, B), dtype=dtype)
    with np.errstate(over="ignore"):  # exp(-z) = inf for z < -709 gives sigmoid = 1 / inf = 0, exactly right
        for t in range(T):
            a = A[t]
            np.matmul(W_fwd, Z[:, t, :], out=a)
            s = a[: 3 * H]
            if use_exp:
                np.exp(s, out=s)
                np.add(s, 1.0, out=s)
                np.reciprocal(s, out=s)
                np.tanh(a[3 * H :], out=a[3 * H :])
            else:
                np.tanh(a, out=a)
                np.multiply(s, 0.5, out=s)
                np.add(s, 0.5, out=s)
            _cell_update(a, C[t], C[t + 1], TC[t], Z[:H, t + 1, :], ig, H)
    hs = Z[:H, 1:, :].transpose(1, 2, 0)  # (T, B, H) view
    cache = {"fast": True, "params": params, "W": W, "Z": Z, "A": A, "C": C, "TC": TC, "shape": (T, B, D, H)}
    return hs, (Z[:H, T, :].T, C[T].T), cache


def lstm_backward_numpy(cache, dhs=None, dh_T=None, dc_T=None):
    """Fast NumPy equivalent of :func:`scratchlstm.nn.lstm.lstm_backward_reference`."""
    T, B, D, H = cache["shape"]
    W, Z, A, C, TC = cache["W"], cache["Z"], cache["A"], cache["C"], cache["TC"]
    K = H + D + 1
    dtype = A.dtype
    if dhs is not None and tuple(dhs.shape) != (T, B, H):
        raise ValueError(f"dhs must have shape (T, B, H) = ({T}, {B}, {H}), got {tuple(dhs.shape)}")
    WT = np.ascontiguousarray(W.T)  # (K, 4H)
    dA = np.empty((4 * H, T, B), dtype=dtype)  # gate pre-activation gradients, step-minor like Z
    da = np.empty((4 * H, B), dtype=dtype)  # this step's, contiguous while it is being built
    dZ = np.empty((T, K, B), dtype=dtype)  # dZ[t] = [dh_{t-1}; dx_t; d(1)]
    dh = np.empty((H, B), dtype=dtype)
    dc = np.zeros((H, B), dtype=dtype) if dc_T is None else np.array(dc_T.T, dtype=dtype)
    dh_next = np.zeros((H, B), dtype=dtype) if dh_T is None else np.asarray(dh_T.T, dtype=dtype)
    tmp = np.empty((H, B), dtype=dtype)
    sq = np.empty((4 * H, B), dtype=dtype)
    dhs_T = None if dhs is None else dhs.transpose(0, 2, 1)  # (T, H, B) view
    for t in reversed(range(T)):
        a = A[t]
        i, f, o, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
        di, df, do, dg = da[:H], da[H : 2 * H], da[2 * H : 3 * H], da[3 * H :]
        if dhs_T is None:
            np.copyto(dh, dh_next)
        else:
            np.add(dhs_T[t], dh_next, out=dh)
        np.multiply(dh, TC[t], out=do)
        # dc += dh * o * (1 - tc^2), using o * (1 - tc^2) = o - h_t * tc
        np.multiply(Z[:H, t + 1, :], TC[t], out=tmp)
        np.subtract(o, tmp, out=tmp)
        np.multiply(tmp, dh, out=tmp)
        np.add(dc, tmp, out=dc)
        np.multiply(dc, g, out=di)
        np.multiply(dc, C[t], out=df)
        np.multiply(dc, i, out=dg)
        np.multiply(dc, f, out=dc)  # now dc_{t-1}
        # through the nonlinearities: s (1 - s) = s - s^2 for i, f, o and 1 - g^2 for g
        np.multiply(a, a, out=sq)
        np.subtract(a[: 3 * H], sq[: 3 * H], out=sq[: 3 * H])
        np.subtract(1.0, sq[3 * H :], out=sq[3 * H :])
        np.multiply(da, sq, out=dA[:, t, :])
        np.matmul(WT, dA[:, t, :], out=dZ[t])
        dh_next = dZ[t, :H]
    # all weight gradients in one product: dW^T (K, 4H) = sum over t and b of Z_t dA_t^T
    Z_all = Z.reshape(K, (T + 1) * B)[:, : T * B]  # (K, T*B) strided view, no copy
    dW = _reorder_gates(Z_all @ dA.reshape(4 * H, T * B).T, H, axis=1)  # (K, 4H) with public gate order
    grads = {"W_x": np.ascontiguousarray(dW[H : H + D]), "W_h": np.ascontiguousarray(dW[:H]), "b": dW[K - 1].copy()}
    dx = dZ[:, H : H + D, :].transpose(0, 2, 1)  # (T, B, D) view
    return grads, dx, dZ[0, :H, :].T.copy(), dc.T.copy()
