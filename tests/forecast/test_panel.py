"""Many series at once: the long format read as the file says, each series run as it runs alone,
the same numbers whatever runs them, and a global model that sees nothing after each series' cutoff."""

import json
import math
import operator
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from scratchlstm.data import as_price_series
from scratchlstm.data.panel import load_panel, long_frame
from scratchlstm.errors import ConfigError, DataError
from scratchlstm.forecast import ForecastConfig, run_forecast
from scratchlstm.forecast.executors import map_tasks
from scratchlstm.forecast.global_model import series_windows, train_global
from scratchlstm.forecast.panel import run_panel

TINY = ForecastConfig(epochs=2, hidden_sizes=(8,), season=1, window=10, test_size=20, refit_every=None, val_fraction=0.25)


def ar_returns_series(seed, n=160, phi=0.8, start="2000-01-03"):
    """Prices whose log-returns follow an AR(1): something a model trained across series can learn."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + 0.01 * rng.standard_normal()
    return as_price_series(pd.Series(100 * np.exp(np.cumsum(r)), index=pd.date_range(start, periods=n, freq="D"), name="close"))


def small_panel(count=3, n=160):
    return {f"s{k}": ar_returns_series(k, n) for k in range(count)}


def write_long(path, panel, date_format="%Y-%m-%d"):
    rows = [(name, d.strftime(date_format), f"{v:.6f}") for name, s in panel.items() for d, v in zip(s.frame.index, s.prices)]
    pd.DataFrame(rows, columns=["unique_id", "ds", "y"]).to_csv(path, index=False)


# ----------------------------------------------------------------------------------------------
# reading


def test_long_file_gives_each_series_the_rows_of_the_file(tmp_path):
    path = tmp_path / "panel.csv"
    rng = np.random.default_rng(0)
    rows = [("beer", f"2001-{m:02d}-01", 400 + rng.integers(100)) for m in range(1, 13)]
    rows += [("gas", f"2001-{m:02d}-01", 5 + m / 10) for m in (12, 3, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11)]  # unsorted: sorted on reading
    pd.DataFrame(rows, columns=["unique_id", "ds", "y"]).to_csv(path, index=False)
    panel = load_panel(path)
    assert list(panel) == ["beer", "gas"]
    for name, s in panel.items():
        expected = sorted((pd.Timestamp(d), float(v)) for n, d, v in rows if n == name)
        assert list(s.frame.index) == [d for d, _ in expected]
        assert s.prices.tolist() == [v for _, v in expected]
        assert s.frequency.kind == "M"
    assert long_frame(panel)["y"].sum() == pytest.approx(sum(float(v) for _, _, v in rows))


def test_day_first_dates_are_refused_unless_the_format_is_given(tmp_path):
    from scratchlstm.data.options import LoadOptions

    path = tmp_path / "panel.csv"
    pd.DataFrame([("a", f"{d:02d}/01/2001", 1.0 + d) for d in (3, 4, 5, 6, 7, 8)],  # each could be month-first
                 columns=["unique_id", "ds", "y"]).to_csv(path, index=False)
    with pytest.raises(DataError, match="date"):
        load_panel(path)
    panel = load_panel(path, LoadOptions(date_format="%d/%m/%Y"))
    assert panel["a"].frame.index[0] == pd.Timestamp("2001-01-03")


@pytest.mark.parametrize("columns", [["id", "ds", "y"], ["unique_id", "date", "value"]])
def test_a_table_without_the_long_columns_is_refused_naming_them(tmp_path, columns):
    path = tmp_path / "wide.csv"
    pd.DataFrame([["a", "2001-01-01", 1.0]], columns=columns).to_csv(path, index=False)
    with pytest.raises(DataError, match="unique_id, ds, y"):
        load_panel(path)


def test_folder_of_price_files_and_an_empty_folder(tmp_path):
    for name in ("alpha", "beta"):
        s = ar_returns_series(len(name), 40)
        pd.DataFrame({"Date": s.frame.index.strftime("%Y-%m-%d"), "Close": s.prices.to_numpy()}).to_csv(tmp_path / f"{name}.csv", index=False)
    panel = load_panel(tmp_path)
    assert list(panel) == ["alpha", "beta"]
    assert panel["beta"].prices.tolist() == pytest.approx(ar_returns_series(4, 40).prices.tolist())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no price files"):
        load_panel(empty)


# ----------------------------------------------------------------------------------------------
# running


def test_each_series_gets_what_run_forecast_gives_it_alone():
    panel = small_panel()
    result = run_panel(panel, TINY, jobs=1, quiet=True)
    for run in result.runs:
        alone = run_forecast(panel[run.name], TINY, quiet=True)
        for name, forecast in alone.forecasts.items():
            assert np.array_equal(run.result.forecasts[name], forecast), (run.name, name)
    rows = result.summary()["series"]
    naive = [r["mae_ratio_naive"] for r in rows]
    assert naive == pytest.approx([run.result.metrics["model"]["mae"] / run.result.metrics["naive"]["mae"] for run in result.runs])
    assert result.summary()["overall"]["median_mae_ratio_naive"] == pytest.approx(float(np.median(naive)))


def test_a_series_too_short_is_reported_and_the_others_run():
    panel = small_panel(2)
    panel["short"] = ar_returns_series(9, 30)
    result = run_panel(panel, TINY, jobs=1, quiet=True)
    overall = result.summary()["overall"]
    assert overall["failed"] == ["short"] and overall["ran"] == 2
    assert "needs at least" in result.runs[-1].error
    assert result.summary()["series"][-1]["data"]["rows"] == 30  # what the loader said of it, kept beside the reason
    assert "not run" in result.table()
    # without --classical no peer ran: its column says so with "-", as the coverage columns do, not "nan"
    head, *lines = result.table().splitlines()
    end = head.index("/peer") + len("/peer")  # the column is right-aligned under its name
    row = next(line for line in lines if line.startswith("s0 "))
    assert "nan" not in row and row[end - 7:end].strip() == "-", row


def fingerprint(result):
    return {run.name: (run.final.forecasts["model"].tolist(), [c["kept"] for c in run.choices]) for run in result.runs}


def test_one_process_two_processes_and_a_dask_cluster_give_the_same_numbers():
    distributed = pytest.importorskip("distributed", reason="Dask's distributed scheduler (pip install 'distributed>=2024.1')")
    panel = small_panel(4)
    one = fingerprint(run_panel(panel, TINY, jobs=1, global_model=True, quiet=True))
    two = fingerprint(run_panel(panel, TINY, jobs=2, global_model=True, quiet=True))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = fingerprint(run_panel(panel, TINY, scheduler=client, global_model=True, quiet=True))
    assert one == two == on_dask
    assert any(kept for _, kept in one.values())  # the global model was part of it
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        # by address, as --scheduler gives it: the command's own client is not the default one (that failed, as a bug)
        assert map_tasks(operator.mul, [(1, 2), (3, 4), (5, 6)], scheduler=cluster.scheduler_address) == [2, 12, 30]


def test_a_scheduler_by_tcp_address_is_asked_who_it_is_and_then_used():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                                  protocol="tcp://") as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        assert map_tasks(operator.mul, [(1, 2), (3, 4)], scheduler=address) == [2, 12]
        assert map_tasks(operator.mul, [(5, 6)], scheduler=address.removeprefix("tcp://")) == [30]  # no protocol: tcp
        worker = next(iter(cluster.scheduler_info["workers"]))  # a worker's address given by mistake
        with pytest.raises(ConfigError, match=r"answers, but not as a Dask scheduler \(it is a Dask Worker\)"):
            map_tasks(operator.mul, [(5, 6)], scheduler=worker)


def _serve(handler):
    """A local server on a free port that runs ``handler(connection)`` for each connection; its port."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server


@pytest.mark.parametrize("reply, message", [
    # a web server waits for a request line that never comes, as Dask waits for its answer: a client waited forever
    (None, r"^no Dask scheduler answered at tcp://127\.0\.0\.1:\d+ within 2 s; .*8787 is its dashboard"),
    (b"HTTP/1.0 400 Bad Request\r\n\r\n", r"^tcp://127\.0\.0\.1:\d+ answers, but not as a Dask scheduler \(its answer is not Dask's\)"),
])
def test_a_port_that_is_no_schedulers_is_refused_within_the_timeout(monkeypatch, reply, message):
    pytest.importorskip("distributed")
    import time

    from scratchlstm.forecast import executors

    def answer(connection):
        if reply is None:
            time.sleep(30)
        else:
            connection.recv(1024)
            connection.sendall(reply)
        connection.close()

    monkeypatch.setattr(executors, "SCHEDULER_TIMEOUT_S", 2)
    server = _serve(answer)
    start = time.monotonic()
    try:
        with pytest.raises(ConfigError, match=message):
            map_tasks(operator.mul, [(1, 2)], scheduler=f"tcp://127.0.0.1:{server.getsockname()[1]}")
    finally:
        server.close()
    assert time.monotonic() - start < 10


def test_a_port_where_nothing_listens_is_said_to_have_no_scheduler_at_once():
    """The connection's own timeout raced the probe's and, when it won, the message said that the port "answers, but
    not as a Dask scheduler"; and Dask's connect retried a refused port until the 20 s timeout."""
    pytest.importorskip("distributed")
    import socket
    import time

    with socket.socket() as probe:  # a port that was free a moment ago, and on which nothing listens now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ConfigError, match=rf"^no Dask scheduler answered at tcp://127\.0\.0\.1:{port} \(Connection refused\)"):
        map_tasks(operator.mul, [(1, 2)], scheduler=f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - start < 10  # (the timeout is 20 s)


@pytest.mark.parametrize("address", ["bogus", "http://127.0.0.1:1", "tcp://127.0.0.1:x", "127.0.0.1", "tcp://127.0.0.1:99999"])
def test_an_address_that_is_no_schedulers_is_refused_at_once(address):
    """A client made for such an address failed with the right message, then held the process 40 s while it closed."""
    pytest.importorskip("distributed")
    import time

    start = time.monotonic()
    with pytest.raises(ConfigError, match="is not a Dask scheduler's address; give one like tcp://HOST:8786"):
        map_tasks(operator.mul, [(1, 2)], scheduler=address)
    assert time.monotonic() - start < 10


# ----------------------------------------------------------------------------------------------
# the global model


def test_series_windows_are_the_series_own_scaled_returns_up_to_its_cutoff():
    prices = ar_returns_series(3).prices.to_numpy()
    config = replace(TINY, window=5, horizon=2, val_fraction=0.2)
    cutoff = 120
    part = series_windows(prices, cutoff, config)
    r = np.diff(np.log(prices))  # r[s - 1] = log p[s] - log p[s-1]
    sigma = np.std(r[:cutoff])  # returns known at the cutoff: r[1..cutoff]
    origins = range(5, cutoff - 2 + 1)  # complete windows whose last target t + 2 is at or before the cutoff
    X = np.array([[r[t - 5 + j] / sigma for j in range(5)] for t in origins])  # r[t-4..t]
    Y = np.array([[r[t] / sigma, r[t + 1] / sigma] for t in origins])  # r[t+1], r[t+2]
    n_val = int(len(X) * 0.2)
    assert np.allclose(np.concatenate([part.X_train, part.X_val])[:, :, 0], X)
    assert np.allclose(np.concatenate([part.Y_train, part.Y_val]), Y)
    assert len(part.X_val) == n_val


def test_the_global_fit_ignores_every_value_after_each_series_cutoff():
    series = [ar_returns_series(k).prices.to_numpy() for k in range(3)]
    cutoffs = [100, 120, 140]
    config = replace(TINY, epochs=2)
    parts = [series_windows(p, c, config) for p, c in zip(series, cutoffs)]
    changed = []
    for p, c in zip(series, cutoffs):
        q = p.copy()
        q[c + 1 :] *= np.linspace(0.2, 30, len(q) - c - 1)
        changed.append(q)
    a, _, _ = train_global(parts, config)
    b, _, _ = train_global([series_windows(q, c, config) for q, c in zip(changed, cutoffs)], config)
    pa, pb = a.named_params(), b.named_params()
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    changed[1][cutoffs[1]] *= 1.3  # a value at a cutoff is known: it must matter
    c, _, _ = train_global([series_windows(q, c, config) for q, c in zip(changed, cutoffs)], config)
    assert not all(np.array_equal(pa[k], c.named_params()[k]) for k in pa)


def test_the_global_model_is_kept_only_where_it_beats_its_untrained_version_on_validation():
    from scipy.stats import norm

    panel = small_panel(4)
    result = run_panel(panel, TINY, jobs=1, global_model=True, quiet=True)
    kept = 0
    for run in result.runs:
        [choice] = run.choices
        fit = run.final.fits[0]
        if choice["kept"] != "global":
            assert fit is run.result.fits[0]
            assert np.array_equal(run.final.forecasts["model"], run.result.forecasts["model"])
            continue
        kept += 1
        part = series_windows(run.result.prices, fit.cutoff, run.result.config)
        trained = np.mean((fit.model.predict(part.X_val.astype(np.float32)) - part.Y_val) ** 2, axis=1)
        untrained = np.mean(part.Y_val ** 2, axis=1)  # the untrained model says "no change": 0
        d = trained - untrained
        p = norm.cdf(d.mean() / (d.std(ddof=1) / math.sqrt(len(d))))
        assert fit.p_value == pytest.approx(p, rel=1e-3) and p < 0.05
        assert not np.array_equal(run.final.forecasts["model"], run.result.forecasts["model"])
    assert kept >= 1  # on AR(1) returns, four series' windows teach more than one's
    assert result.summary()["overall"]["global_model_kept"] == kept


# ----------------------------------------------------------------------------------------------
# the summary: the LSTM's own contribution and the intervals' coverage


def seasonal_series(seed, n=160, season=4):
    """AR(1) log-returns times a fixed seasonal pattern: the untrained LSTM (the smoothed level moved by the seasonal
    index) is a forecaster of its own here."""
    base = ar_returns_series(seed, n)
    pattern = np.array([1.0, 1.06, 0.97, 0.94])[np.arange(n) % season]
    return as_price_series(pd.Series(base.prices.to_numpy() * pattern, index=base.frame.index, name="close"))


def test_the_summary_counts_the_model_against_its_untrained_version_and_pools_coverage_over_the_test_points():
    panel = {f"q{k}": seasonal_series(k, n=160 if k else 72) for k in range(3)}  # q0: too few errors for its first 95% intervals
    config = replace(TINY, season=4)
    result = run_panel(panel, config, jobs=1, global_model=True, quiet=True)
    summary = result.summary()
    frame = result.predictions_frame()
    covered = {(level, name): 0 for level in (80, 95) for name in ("model", "naive")}
    points = dict.fromkeys(covered, 0)
    outcomes, fewer = [], []
    for row in summary["series"]:
        own = frame[frame["unique_id"] == row["series"]]
        y = own["actual"].to_numpy()
        for level, name in covered:
            lo, hi = own[f"{name}_lower_{level}"].to_numpy(), own[f"{name}_upper_{level}"].to_numpy()
            has = ~np.isnan(lo) & ~np.isnan(hi)
            hits = sum(lo[i] <= y[i] <= hi[i] for i in np.flatnonzero(has))
            assert row["coverage"][str(level)][name]["covered"] == hits and row["coverage"][str(level)][name]["points"] == has.sum()
            assert row[f"coverage_{level}_{name}"] == pytest.approx(hits / has.sum())
            if name == "model":
                assert row[f"coverage_{level}_points"] == has.sum()  # (summary.csv's column: what the share is over)
                if 0 < has.sum() < row["test_points"]:
                    fewer.append(f"{row['series']} {has.sum()} of {row['test_points']}")
            covered[level, name] += hits
            points[level, name] += int(has.sum())
        assert row["untrained"] == "smoothed_level"
        ratio = np.mean(np.abs(own["model"] - own["actual"])) / np.mean(np.abs(own["smoothed_level"] - own["actual"]))
        assert row["mae_ratio_untrained"] == pytest.approx(ratio)
        assert row["untrained_is_model"] == bool(np.array_equal(own["model"], own["smoothed_level"]))
        significant = row["p_untrained"] < 0.05
        outcomes.append("same" if not significant else "better" if ratio < 1 else "worse")
        assert row["vs_untrained"] == outcomes[-1]
    assert sum(points.values()) > 0
    for (level, name), hits in covered.items():
        pooled = summary["overall"]["coverage"][str(level)][name]
        assert (pooled["covered"], pooled["points"]) == (hits, points[level, name])
        assert pooled["coverage"] == pytest.approx(hits / points[level, name])
    assert summary["overall"]["vs_untrained"] == {word: outcomes.count(word) for word in ("better", "same", "worse")}
    table = result.table()
    assert "against the untrained LSTM's forecast (the LSTM's own contribution)" in table
    assert f"model covered {covered[95, 'model']} of {points[95, 'model']}" in table
    assert fewer, "the first test points of these short series lack the 19 errors a 95% interval needs"
    assert ("; cov95 over fewer test points than the series has where the first ones had fewer than the 19 errors known "
            "before them that a 95% interval needs: " + ", ".join(fewer)) in table


def test_a_series_that_keeps_the_global_model_gets_intervals_around_its_forecast_calibrated_on_it():
    from scratchlstm.forecast.protocol import forecast_prices, validation_origins

    result = run_panel(small_panel(4), TINY, jobs=1, global_model=True, quiet=True)
    checked = 0
    for run in result.runs:
        if run.choices[0]["kept"] != "global":
            continue
        final, fit = run.final, run.final.fits[0]
        bands = final.intervals.forecasters["model"]
        forecast = final.forecasts["model"]
        for level in (80, 95):
            has = ~np.isnan(bands.lower[level])
            assert has.any()
            assert np.sqrt(bands.lower[level][has] * bands.upper[level][has]) == pytest.approx(forecast[has], rel=1e-12)
        # the first test point's band: the ceil((n + 1) 0.8)-th smallest |log(y / f)| of the kept fit on the calibration block
        origins = validation_origins(int(fit.cutoff), final.config)
        calibration = forecast_prices(fit.model, fit.scaler, final.prices, origins, final.config)
        scores = np.sort(np.abs(np.log(final.prices[origins + final.config.horizon] / calibration)))
        q = scores[math.ceil((len(scores) + 1) * 0.8) - 1]
        assert bands.upper[80][0] == pytest.approx(forecast[0] * math.exp(q), rel=1e-12)
        assert not np.allclose(bands.upper[80], run.result.intervals.forecasters["model"].upper[80], equal_nan=True)
        checked += 1
    assert checked >= 1


def test_the_saved_model_of_each_series_is_the_one_evaluated_and_predict_reproduces_its_last_forecast(tmp_path):
    from scratchlstm.checkpoint import load_models
    from scratchlstm.forecast.predict import predict_next

    panel = small_panel(4)
    result = run_panel(panel, TINY, jobs=1, global_model=True, quiet=True)
    paths = result.save(tmp_path / "out")
    rows = {r["series"]: r for r in result.summary()["series"]}
    kinds = set()
    for run in result.runs:
        path = tmp_path / "out" / rows[run.name]["model_file"]
        assert paths[rows[run.name]["model_file"]] == path
        [saved], meta = load_models(path)
        fit = run.final.fits[-1]
        kept = run.choices[-1]["kept"]
        kinds.add(kept)
        weights = fit.model.named_params()
        assert all(np.array_equal(saved.named_params()[k], weights[k]) for k in weights)
        if kept == "global":  # the global model's weights, not the series' own fit's
            own = run.result.fits[-1].model.named_params()
            assert not all(np.array_equal(saved.named_params()[k], own[k]) for k in own)
        assert meta["scaling"]["scale"] == fit.scaler.scale
        # predict from the data up to the last test origin: the forecast the panel evaluated there
        series = panel[run.name]
        t = len(series.prices) - 1 - TINY.horizon
        up_to = as_price_series(pd.Series(series.prices.to_numpy()[: t + 1], index=series.frame.index[: t + 1], name="close"))
        prediction = predict_next(path, up_to)
        assert prediction.forecast == pytest.approx(run.final.forecasts["model"][-1], rel=1e-6)
    assert "global" in kinds


def test_model_file_names_are_safe_and_distinct():
    panel = {"a/b": ar_returns_series(0), "a_b": ar_returns_series(1), "A:B": ar_returns_series(2)}
    result = run_panel(panel, replace(TINY, epochs=1), jobs=1, quiet=True)
    assert result.model_files() == {"a/b": "a_b.npz", "a_b": "a_b-2.npz", "A:B": "A_B-3.npz"}


def test_a_long_or_non_ascii_id_gets_a_model_file_it_can_be_written_to(tmp_path):
    """A 300-letter id failed the panel after every series had run ('File name too long'); 'é' became '_'."""
    import hashlib

    long = "L" * 300
    panel = {long: ar_returns_series(0), "é": ar_returns_series(1), "L" * 301: ar_returns_series(2)}
    result = run_panel(panel, replace(TINY, epochs=1), jobs=1, quiet=True)
    files = result.model_files()
    assert files[long] == "L" * 91 + "-" + hashlib.sha256(long.encode()).hexdigest()[:8] + ".npz"
    assert files["L" * 301] != files[long] and files["é"] == "é.npz"
    result.save(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "models").iterdir()) == sorted(files.values())


# ----------------------------------------------------------------------------------------------
# the command line


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "scratchlstm", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_cli_panel_writes_one_summary_and_refuses_a_bad_file(tmp_path):
    path = tmp_path / "panel.csv"
    write_long(path, small_panel(2, 120))
    out = tmp_path / "out"
    run = _cli("panel", str(path), "--out", str(out), "--jobs", "1", "--epochs", "1", "--hidden", "8", "--window", "10",
               "--test-size", "20", "--global", "--quiet")
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [r["series"] for r in summary["series"]] == ["s0", "s1"]
    assert summary["global_model"] is True
    predictions = pd.read_csv(out / "predictions.csv")
    assert sorted(predictions["unique_id"].unique()) == ["s0", "s1"] and len(predictions) == 40
    single = tmp_path / "s0.csv"
    small_panel(2, 120)["s0"].frame.to_csv(single)
    run = _cli("predict", "--checkpoint", str(out / summary["series"][0]["model_file"]), "--csv", str(single))
    assert run.returncode == 0, run.stderr
    assert "forecast 1 step(s) ahead" in run.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("id,date,value\na,2001-01-01,1\n")
    run = _cli("panel", str(bad), "--out", str(out))
    assert run.returncode == 2 and "unique_id, ds, y" in run.stderr
    assert "if the file holds one series, run 'scratchlstm forecast bad.csv'" in run.stderr  # a price file given to panel


def test_the_panel_says_how_each_file_was_read_and_what_was_fixed(tmp_path):
    """A folder's files were read with no word of their format, and what the loader fixed (rows newest
    first, a repeated row) was said nowhere, neither on screen nor in summary.json."""
    folder = tmp_path / "prices"
    folder.mkdir()
    dates = pd.date_range("2020-01-01", periods=120, freq="D")
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(4).normal(0, 0.01, 120)))
    rows = [f"{d:%d.%m.%Y};" + f"{p:.4f}".replace(".", ",") for d, p in zip(dates, prices)]
    (folder / "de.csv").write_text("Date;Close\n" + "\n".join([*reversed(rows), rows[7]]) + "\n")
    (folder / "plain.csv").write_text("Date,Close\n" + "".join(f"{d:%Y-%m-%d},{float(p)!r}\n" for d, p in zip(dates, prices)))
    run = _cli("panel", str(folder), "--out", str(tmp_path / "out"), "--jobs", "1", "--epochs", "1", "--hidden", "4",
               "--window", "5", "--test-size", "10", "--quiet", "--scheduler", "")  # an unset $ADDRESS: local cores, said so
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "data: 2 series from " + str(folder) + ", run on 1 local process (--scheduler was empty, so no cluster)"
    assert any(line.startswith("data: de.csv:") and "delimiter ';'" in line and "decimal ','" in line
               and "day-first (%d.%m.%Y)" in line and "120 rows 2020-01-01 to 2020-04-29" in line for line in lines), lines
    assert any(line.startswith("data: plain.csv:") and "year-first" in line for line in lines), lines
    duplicates = "1 duplicated time stamp(s) dropped (kept the first of each; their prices agree), e.g. 2020-01-08"
    assert f"note: de.csv: {duplicates}" in lines
    assert run.stderr == ""
    rows = {r["series"]: r for r in json.loads((tmp_path / "out" / "summary.json").read_text())["series"]}
    assert duplicates in rows["de"]["data"]["notes"] and any("sorted" in note for note in rows["de"]["data"]["notes"])
    assert "delimiter ';'" in rows["de"]["data"]["description"] and rows["de"]["data"]["detected"]["decimal"] == ","
    assert rows["plain"]["data"]["rows"] == 120 and rows["plain"]["data"]["detected"]["date_order"] == "year-first"


def test_the_first_line_says_how_many_processes_run_the_series(monkeypatch):
    """It said "run on every local cores" when --jobs was left out."""
    from scratchlstm import cli
    from scratchlstm.forecast import executors
    from scratchlstm.forecast.config import PanelOptions

    monkeypatch.setattr(executors, "local_cores", lambda: 2)
    assert cli._where(PanelOptions(), 5) == "on 2 local processes (one per core)"
    assert cli._where(PanelOptions(), 1) == "on 1 local process (one per series)"
    assert cli._where(PanelOptions(jobs=1), 5) == "on 1 local process"
    assert cli._where(PanelOptions(jobs=3), 5) == "on 3 local processes"
    # --jobs 100 on five series: five processes run, and the line said 100
    assert cli._where(PanelOptions(jobs=100), 5) == "on 5 local processes (one per series; --jobs 100 asked for more)"
    assert cli._where(PanelOptions(scheduler="tcp://h:8786"), 5) == "on the Dask scheduler tcp://h:8786"
    for empty in ("", "  "):  # --scheduler "$UNSET": local cores, read so in this one place
        assert PanelOptions(scheduler=empty).scheduler is None
        assert cli._where(PanelOptions(scheduler=empty), 5) == "on 2 local processes (one per core)"
        assert (cli._where(PanelOptions(scheduler=empty), 5, empty_scheduler=True)
                == "on 2 local processes (one per core; --scheduler was empty, so no cluster)")


@pytest.mark.parametrize("jobs, n_tasks, processes", [(None, 5, 2), (None, 1, 1), (1, 5, 1), (100, 5, 5), (3, 0, 1)])
def test_map_tasks_runs_on_as_many_processes_as_said(monkeypatch, jobs, n_tasks, processes):
    from scratchlstm.forecast import executors

    monkeypatch.setattr(executors, "local_cores", lambda: 2)
    assert executors.local_processes(jobs, n_tasks) == processes
    seen = []
    monkeypatch.setattr(executors, "_on_local_processes",
                        lambda function, here, tasks, workers, done: seen.append(workers) or [function(*t) for t in tasks])
    assert executors.map_tasks(abs, [(-k,) for k in range(n_tasks)], jobs=jobs) == list(range(n_tasks))
    assert seen == ([processes - 1] if processes > 1 else [])


def test_every_series_runs_with_one_blas_thread_and_the_setting_comes_back():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from scratchlstm.forecast.executors import one_blas_thread

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with one_blas_thread():
        with one_blas_thread():  # nested, as two tasks of one worker
            assert blas_threads() == [1] * len(before)
        assert blas_threads() == [1] * len(before)
    assert blas_threads() == before


def test_a_bad_series_in_a_long_file_is_named_by_file_and_series(tmp_path):
    path = tmp_path / "prices.csv"
    write_long(path, small_panel(2, 60))
    table = pd.read_csv(path, dtype=str)
    table.loc[table["unique_id"] == "s1", "y"] = "abc"
    table.to_csv(path, index=False)
    panel = load_panel(path)
    assert list(panel) == ["s0"] and list(panel.refused) == ["s1"]
    assert panel.refused["s1"].startswith("prices.csv[s1]: 60 value(s) in column 'y' are not numbers")
    table.loc[table["unique_id"] == "s0", "y"] = "abc"
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"^none of the 2 series of prices\.csv can be run: prices\.csv\[s0\]: 60 value"):
        load_panel(path)


def test_a_series_with_a_zero_or_negative_price_is_reported_and_the_others_run(tmp_path):
    """One series with a zero price stopped the whole panel, even under --target price, with a message
    that spoke of log-returns; it is reported as not run, with its reason, and the others run."""
    path = tmp_path / "prices.csv"
    write_long(path, small_panel(3, 120))
    table = pd.read_csv(path, dtype=str)
    table.loc[np.flatnonzero(table["unique_id"] == "s1")[50], "y"] = "0"
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    run = _cli("panel", str(path), "--out", str(out), "--target", "price", "--jobs", "1", "--epochs", "1", "--hidden", "4",
               "--window", "5", "--test-size", "10", "--quiet")
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [r["series"] for r in summary["series"]] == ["s0", "s1", "s2"]  # file order
    assert summary["overall"]["failed"] == ["s1"] and summary["overall"]["ran"] == 2
    assert summary["series"][0]["data"]["description"].startswith("prices.csv[s0]: rows of a long-format table (unique_id, ds, y),")
    error = summary["series"][1]["error"]
    assert error.startswith("prices.csv[s1]: 1 price(s) are zero or negative (first on 2000-02-22)") and "log-returns" not in error
    assert any(line.startswith("s1 ") and "not run: prices.csv[s1]: 1 price(s) are zero or negative" in line
               for line in run.stdout.splitlines()), run.stdout
    assert "data: 3 series from" in run.stdout and "(1 refused while reading, said below)" in run.stdout
    folder = tmp_path / "folder"  # the same from a folder, one file per series
    folder.mkdir()
    for name, rows in table.groupby("unique_id"):
        rows.rename(columns={"ds": "Date", "y": "Close"})[["Date", "Close"]].to_csv(folder / f"{name}.csv", index=False)
    panel = load_panel(folder)
    assert list(panel) == ["s0", "s2"] and panel.order == ["s0", "s1", "s2"]
    assert "s1.csv: 1 price(s) are zero or negative" in panel.refused["s1"]
    table["y"] = "-1"
    table.to_csv(path, index=False)
    run = _cli("panel", str(path), "--out", str(out), "--target", "price", "--quiet")
    assert run.returncode == 2 and "none of the 3 series of prices.csv can be run" in run.stderr


def test_the_panel_writes_its_folder_as_forecast_does_and_never_over_files_it_did_not_write(tmp_path):
    """A panel replaced predictions.csv and summary.csv in any folder (the user's notes, a forecast's folder,
    whose run.json then no longer matched its files); now it is checked before any training and written as one unit."""
    from scratchlstm.forecast.output_folder import MANIFEST

    result = run_panel(small_panel(2, 120), TINY, jobs=1, quiet=True)
    out = tmp_path / "out"
    paths = result.save(out)
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert set(manifest) == {"summary.json", "summary.csv", "predictions.csv", "models/s0.npz", "models/s1.npz"}
    assert set(paths) == set(manifest)
    result.save(out)  # a previous panel's folder, unchanged, is replaced
    (out / "models" / "s0.npz").write_bytes(b"edited")
    with pytest.raises(ConfigError, match=r"did not write, or changed since.*\(models\)"):
        result.save(out)  # an edited model file makes its folder foreign: left as it is
    assert (out / "models" / "s0.npz").read_bytes() == b"edited"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "predictions.csv").write_text("notes\n")
    path = tmp_path / "panel.csv"
    write_long(path, small_panel(2, 120))
    run = _cli("panel", str(path), "--out", str(mine), "--jobs", "1", "--epochs", "1", "--quiet")
    assert run.returncode == 2 and "holds files scratchlstm did not write" in run.stderr and "predictions.csv" in run.stderr
    assert "fit" not in run.stdout  # refused before any training
    assert (mine / "predictions.csv").read_text() == "notes\n"
    forecast_out = tmp_path / "forecast-out"
    assert _cli("forecast", "--quiet", "--out", str(forecast_out), "--epochs", "1").returncode == 0
    run = _cli("panel", str(path), "--out", str(forecast_out), "--jobs", "1", "--epochs", "1", "--quiet")
    assert run.returncode == 0, run.stderr  # a folder scratchlstm wrote is replaced as a whole: no forecast file is left
    manifest = json.loads((forecast_out / MANIFEST).read_text())["files"]  # beside the panel's, under the panel's manifest
    assert sorted(p.name for p in forecast_out.iterdir()) == sorted({MANIFEST, "models", *(n for n in manifest if "/" not in n)})


def test_a_series_of_one_value_reads_its_decimal_mark_from_the_whole_file(tmp_path):
    """'104.118' alone reads two ways; the file's other series, written in the same convention, settle it (it was
    refused with the advice to pass --decimal, and then for being short, which is what the table shows now)."""
    from scratchlstm.data.panel import load_panel

    months = pd.date_range("2000-01-01", periods=60, freq="MS").strftime("%Y-%m-%d")
    rows = [("x", d, f"{100 + 0.13 * k:.2f}") for k, d in enumerate(months)] + [("one", "2000-01-01", "104.118")]
    german = [(i, d, y.replace(".", ",")) for i, d, y in rows]
    for table, expected in ((rows, 104.118), (german, 104.118)):
        path = tmp_path / "long.csv"
        pd.DataFrame(table, columns=["unique_id", "ds", "y"]).to_csv(path, index=False, sep=";")
        panel = load_panel(path)
        assert float(panel["one"].prices.iloc[0]) == expected and float(panel["x"].prices.iloc[1]) == 100.13


def test_predict_names_the_series_a_panel_model_was_trained_on(tmp_path):
    """Ids 'a/b' and 'a_b' give the files a_b.npz and a_b-2.npz: predict with a_b.npz on a_b's prices used a/b's
    model without a word. Now its first line says whose model it is."""
    from scratchlstm.data.panel import load_panel
    from scratchlstm.forecast import predict_next

    path = tmp_path / "long.csv"
    write_long(path, {"a/b": ar_returns_series(1), "a_b": ar_returns_series(2)})
    result = run_panel(load_panel(path), TINY, jobs=1, quiet=True)
    paths = result.save(tmp_path / "out")
    first = next(p for name, p in paths.items() if name.endswith("a_b.npz"))
    prediction = predict_next(first, _series_file(tmp_path, ar_returns_series(2)))
    assert prediction.model.startswith(f"{first}, trained on long.csv[a/b], prices to ")


def _series_file(tmp_path, series):
    path = tmp_path / "series.csv"
    path.write_text(dated_rows_of(series))
    return path


def test_predict_reads_a_series_of_the_panels_own_long_file(tmp_path):
    """predict refused the panel's own input at every step ('no date column', then a price column, then 399
    duplicated stamps), and no message pointed to a way of picking the series."""
    from scratchlstm.data.panel import load_panel
    from scratchlstm.errors import DataError
    from scratchlstm.forecast import predict_next

    path = tmp_path / "long.csv"
    write_long(path, {"AAA": ar_returns_series(1), "BBB": ar_returns_series(2)})
    result = run_panel(load_panel(path), TINY, jobs=1, quiet=True)
    paths = result.save(tmp_path / "out")
    aaa = next(p for name, p in paths.items() if name.endswith("AAA.npz"))
    written = load_panel(path)  # the prices as the long file holds them (six decimals)
    by_default = predict_next(aaa, path)  # the series the model file names
    alone = predict_next(aaa, _series_file(tmp_path, written["AAA"]))  # the same prices in a file of their own
    assert by_default.source == "long.csv[AAA]" and by_default.forecast == alone.forecast
    other = predict_next(aaa, path, series="BBB")
    assert other.source == "long.csv[BBB]" and other.forecast == predict_next(aaa, _series_file(tmp_path, written["BBB"])).forecast
    assert ("the model was trained on the series 'AAA'; it forecasts 'BBB' here, as --series asks, and its intervals are "
            "'AAA''s errors, whatever 'BBB''s spread") in other.notes
    assert not any("--series asks" in n for n in by_default.notes)
    with pytest.raises(DataError, match=r"long.csv has no series 'CCC' \(its unique_id values: 'AAA', 'BBB'\); pass one"):
        predict_next(aaa, path, series="CCC")
    with pytest.raises(DataError, match="--series picks a series of a long-format file"):
        predict_next(aaa, _series_file(tmp_path, ar_returns_series(1)), series="AAA")
    single = tmp_path / "single"
    run_forecast_result = result.runs[0].result  # a model whose source is a file of one series
    run_forecast_result.data.source = "prices.csv"
    run_forecast_result.save(single)
    with pytest.raises(DataError, match="does not say which series it was trained on; name one with --series"):
        predict_next(single / "model.npz", path)


def test_a_readme_in_a_folder_of_price_files_is_named_as_not_read(tmp_path):
    """README.txt was read as a price file and refused with "Download a longer history"."""
    from scratchlstm.data.panel import load_panel

    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "AAA.csv").write_text(dated_rows_of(ar_returns_series(1)))
    (folder / "README.txt").write_text("Prices of AAA, downloaded 2024-05-01.\n")
    panel = load_panel(folder)
    assert list(panel) == ["AAA"]
    assert panel.refused == {"README": "README.txt: not read, as its name says it describes the folder rather than holds prices"}


def dated_rows_of(series):
    return "Date,Close\n" + "".join(f"{d:%Y-%m-%d},{v!r}\n" for d, v in zip(series.frame.index, series.prices))


def _sine_panel(path):
    n, t = 250, np.arange(250)
    y = 100 + 10 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(2).normal(0, 0.3, n)
    pd.DataFrame({"unique_id": "sine", "ds": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "y": y}).to_csv(path, index=False)


def test_with_seeds_a_trained_lstm_kept_by_any_seed_counts_as_kept(tmp_path):
    """The count looked at the first seed's fits only: seed 0 kept the untrained LSTM, seed 1 a trained one, and the
    seeds' mean (with seed 1's trained forecasts in it) was reported as 'untrained', 'kept on 0'."""
    from scratchlstm import cli

    _sine_panel(tmp_path / "sine.csv")

    def summary(*seeds):
        out = tmp_path / f"out-{'-'.join(seeds)}"
        flag = ["--seed", seeds[0]] if len(seeds) == 1 else ["--seeds", str(len(seeds))]
        assert cli.main(["panel", str(tmp_path / "sine.csv"), "--epochs", "3", "--jobs", "1", "--out", str(out), "--quiet", *flag]) == 0
        return json.loads((out / "summary.json").read_text())["series"][0]

    alone = [summary(str(seed)) for seed in (0, 1)]  # (here: seed 0 keeps the untrained LSTM, seed 1 a trained one)
    both = summary("0", "1")
    assert both["kept_epochs_by_seed"] == [row["kept_epochs"] for row in alone]
    assert both["trained_lstm_kept"] == any(row["trained_lstm_kept"] for row in alone)


def test_the_long_columns_written_with_a_space_are_read_as_the_long_format(tmp_path):
    """'Unique ID, DS, Y': DS and Y were matched without case, 'unique id' was not; panel refused the file, pointing to
    'scratchlstm forecast FILE', which read its two series as one."""
    from scratchlstm.data import load_prices

    path = tmp_path / "seq.csv"
    a, b = ar_returns_series(0, 150), ar_returns_series(1, 150)
    pd.DataFrame({"Unique ID": ["AAA"] * 150 + ["BBB"] * 150,
                  "DS": [d.strftime("%Y-%m-%d") for d in a.frame.index] * 2,
                  "Y": np.r_[a.prices.to_numpy(), b.prices.to_numpy()]}).to_csv(path, index=False)
    panel = load_panel(path)
    assert sorted(panel) == ["AAA", "BBB"] and np.array_equal(panel["BBB"].prices.to_numpy(), b.prices.to_numpy())
    with pytest.raises(DataError, match="a long-format file .* of 2 series, not a price file"):
        load_prices(path)
