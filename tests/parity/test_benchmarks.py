"""The benchmark scripts still run, on a tiny configuration, and the comparison one checks against torch.

The timings themselves are not tested (speed lives in the benchmarks, not in the test run); what is
tested is that the scripts keep working as the package changes, and that the benchmark's own check
(our outputs against torch.nn.LSTM's on the same weights) holds.
"""

from __future__ import annotations

import numpy as np
import pytest

import scratchlstm as sl
from benchmarks import bench_lstm, forecast_peers, sigmoid_forms, step_profile
from tests.helpers import needs_numba

TINY = [(3, 5, 2, 4, "tiny")]  # B, T, D, H, note


def test_benchmark_table_agrees_with_torch(capsys):
    pytest.importorskip("torch")
    result = bench_lstm.run("cpu", ["float32", "float64"], warmup=2, repeats=4, threads=1, configs=TINY)
    rows = {r["dtype"]: r for r in result["rows"]}
    assert set(rows) == {"float32", "float64"}
    assert rows["float32"]["max_rel_diff"] < 1e-5
    assert rows["float64"]["max_rel_diff"] < 1e-12
    for r in rows.values():
        assert r["fwd_ours_ms"] > 0 and r["train_torch_ms"] > 0
        # the cache's theoretical size: x, the four gates, c, tanh(c) and h at every step
        assert r["cache_theory_mb"] * 2**20 == np.dtype(r["dtype"]).itemsize * 5 * 3 * (2 + 4 * 4 + 3 * 4)
        assert r["fwd_page_faults"] is None or r["fwd_page_faults"] >= 0
    bench_lstm.print_table(result)
    out = capsys.readouterr().out
    assert "ratio" in out and "tiny" in out


@needs_numba
def test_benchmark_times_the_compiled_engine_in_the_same_alternations(capsys):
    pytest.importorskip("torch")
    result = bench_lstm.run("cpu", ["float32"], warmup=2, repeats=4, threads=1, configs=TINY, compiled=True)
    row = result["rows"][0]
    assert row["compiled_train_ms"] > 0 and row["compiled_train_ratio"] == row["compiled_train_ms"] / row["train_torch_ms"]
    assert row["compiled_train_one_thread_ratio"] == row["compiled_train_one_thread_ms"] / row["compiled_train_ms"]
    bench_lstm.print_table(result)
    out = capsys.readouterr().out
    assert 'engine="compiled"' in out and "slices on 1 thread" in out


def test_sigmoid_forms_times_both_and_measures_their_error():
    """The two activation forms give the same gates where float32 can hold them, the benchmark times
    both, and its accuracy figures are those of the forms (the tanh form rounds small gates to 0)."""
    H, B = 4, 3
    z = np.linspace(-6, 6, 4 * H * B, dtype=np.float32).reshape(4 * H, B)
    by_exp, by_tanh = -z, z.copy()
    by_tanh[: 3 * H] *= 0.5
    by_exp[3 * H :] = z[3 * H :]
    with np.errstate(over="ignore"):
        sigmoid_forms.exp_form(by_exp, H, np.asarray(1.0, np.float32))
    sigmoid_forms.tanh_form(by_tanh, H, np.asarray(0.5, np.float32))
    exact = np.concatenate([1 / (1 + np.exp(-z[: 3 * H].astype(np.float64))), np.tanh(z[3 * H :].astype(np.float64))])
    np.testing.assert_allclose(by_exp, exact, rtol=1e-6)
    np.testing.assert_allclose(by_tanh, exact, rtol=1e-5, atol=1e-6)
    assert all(np.isfinite(sigmoid_forms.time_step(H, B, repeats=2, block=3)))
    worst_exp, worst_tanh = sigmoid_forms.worst_relative_error()
    assert worst_exp < 1e-6 and worst_tanh >= 1.0


def test_step_profile_runs_on_the_fast_path(capsys):
    rows = step_profile.profile("cpu", "float64", warmup=1, repeats=3, configs=TINY)
    assert len(rows) == 1
    for part in ("fwd", "bwd", "fwd_products", "bwd_products"):
        assert rows[0][part + "_wall"] > 0
        assert rows[0][part + "_host"] == pytest.approx(rows[0][part + "_wall"], rel=0.5, abs=1e-4)  # no GPU to wait for
    step_profile.print_rows(rows, "cpu", "float64")
    assert "products" in capsys.readouterr().out


def test_step_profile_refuses_the_reference_path():
    params = sl.init_lstm_params(2, 4, dtype="float64")
    x = np.zeros((5, 3, 2))
    _, _, cache = sl.lstm_forward(params, x)
    with pytest.raises(ValueError, match="speed kernels"):
        step_profile.path_products(np, cache)


@pytest.mark.parametrize("path", ["fast", "fused"])
def test_step_profile_times_the_step_products(path):
    """The products the profile times (on a GPU, the fused path's), run here on NumPy: forward's last
    product is the last step's pre-activations x_T W_x + h_{T-1} W_h + b, in the path's gate order."""
    from scratchlstm.nn.kernels.cupy_lstm import forward as lstm_forward_fused
    from scratchlstm.nn.kernels.numpy_lstm import _reorder_gates
    from scratchlstm.nn.kernels.numpy_lstm import forward as lstm_forward_numpy

    D, H = 2, 4
    params = sl.init_lstm_params(D, H, dtype="float64", seed=1)
    x = np.random.default_rng(0).standard_normal((5, 3, D))
    _, _, cache = (lstm_forward_numpy if path == "fast" else lstm_forward_fused)(params, x)
    forward, backward = step_profile.path_products(np, cache)
    a_last = forward()
    backward()
    hs, _, _ = sl.lstm_forward(params, x)
    expected = hs[-2] @ params["W_h"] + x[-1] @ params["W_x"] + params["b"]  # (B, 4H), public order i f g o
    if path == "fast":
        expected = _reorder_gates(expected, H, axis=1)
    np.testing.assert_allclose(a_last, expected, rtol=1e-12, atol=1e-14)


def test_forecast_peers_benchmark_runs_and_scores_every_method_on_the_same_points(capsys):

    assert set(forecast_peers.HELD_ASIDE) <= set(forecast_peers.SERIES) and len(forecast_peers.SERIES) >= 8
    assert not set(forecast_peers.HELD_ASIDE) & set(forecast_peers.TUNING)
    forecast_peers.main(["--series", "random-walk-0", "--no-peers", "--set", "epochs=1", "test_size=40", "refit_every=null"])
    out = capsys.readouterr().out
    assert "random-walk-0" in out and "median MAE/naive" in out
    row = forecast_peers.score("random-walk-0", forecast_peers.ForecastConfig(epochs=1, test_size=40), peers=False)
    assert row["test_points"] == 40 and row["rel_mae"]["naive"] == 1.0 and row["season"] == 1


def test_the_benchmark_says_which_blas_kernels_ran_and_when_an_avx512_cpu_runs_avx2_ones():
    described, _ = bench_lstm.blas_kernels()
    assert described  # the libraries, their versions and kernels (or "none found")
    avx512 = bench_lstm.AVX512_FOR_SKYLAKEX | {"fma", "avx2"}
    forced = bench_lstm.avx2_kernels_note(["Haswell", "Haswell"], avx512, "Haswell")
    assert "OPENBLAS_CORETYPE=Haswell" in forced and "unset" in forced
    chosen = bench_lstm.avx2_kernels_note(["Haswell"], avx512, None)
    assert "OPENBLAS_CORETYPE=SkylakeX" in chosen
    assert bench_lstm.avx2_kernels_note(["SkylakeX"], avx512, None) is None  # already its AVX-512 kernels
    assert bench_lstm.avx2_kernels_note(["Haswell"], {"fma", "avx2"}, None) is None  # a CPU without AVX-512


def test_the_es_rnn_trial_smooths_as_holt_winters_by_hand_and_starts_from_it():
    """The trial's recursion (in torch, for its gradients) against the multiplicative Holt-Winters written out in
    NumPy; with its LSTM head at zero, as it starts, the forecast is l[t] s[t+1]."""
    torch = pytest.importorskip("torch")
    from benchmarks import es_rnn_trial as trial

    rng = np.random.default_rng(3)
    m, alpha, gamma = 4, np.array([0.3, 0.7]), np.array([0.1, 0.4])
    Y = np.exp(rng.normal(0, 0.1, (2, 21)).cumsum(1)) * np.tile([1.2, 0.9, 0.8, 1.1], 6)[:21] * 50
    model = trial.EsRnn(np.stack([trial.initial_log_season(y, m) for y in Y]), hidden=3, seed=0)
    with torch.no_grad():
        model.a[:] = torch.tensor(np.log(alpha / (1 - alpha)))
        model.g[:] = torch.tensor(np.log(gamma / (1 - gamma)))
        log_level, log_season = model.smooth(torch.tensor(Y))
    for i, y in enumerate(Y):
        cycles = y[:8].reshape(2, 4)
        s = list((cycles / cycles.mean(1, keepdims=True)).mean(0))
        level = [y[0] / s[0]]
        for t in range(len(y)):
            if t:
                level.append(alpha[i] * y[t] / s[t] + (1 - alpha[i]) * level[-1])
            s.append(gamma[i] * y[t] / level[t] + (1 - gamma[i]) * s[t])
        np.testing.assert_allclose(np.exp(log_level[i].numpy()), level, rtol=1e-12)
        np.testing.assert_allclose(np.exp(log_season[i].numpy()), s, rtol=1e-12)
    origins, series = torch.tensor([8, 12, 19]), torch.tensor([0, 1, 1])
    x, target, base = trial.windows(torch.log(torch.tensor(Y)), log_level, log_season, series, origins, W=8)
    assert x.shape == (3, 8, 1)
    with torch.no_grad():
        forecast = torch.exp(base + model(x)).numpy()
    expected = [np.exp((log_level[i, t] + log_season[i, t + 1]).item()) for i, t in zip(series.tolist(), origins.tolist())]
    np.testing.assert_allclose(forecast, expected, rtol=1e-12)
    np.testing.assert_allclose(np.exp(target.numpy() + base.numpy()), Y[series, origins + 1], rtol=1e-12)
