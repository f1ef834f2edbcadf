"""Every bad input gets a clear one- or two-line error and a non-zero exit code; no run loses work.

The CLI is called in-process (``scratchlstm.cli.main``) on files the tests write.
"""

import json
import pickle

import numpy as np
import pytest

from scratchlstm.cli import main

from tests.helpers import dated_rows, patterned, random_walk, series_from

FAST = ["--quiet", "--epochs", "2", "--window", "5", "--hidden", "4", "--test-size", "20", "--refit-every", "none"]


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


BAD_FILES = {
    "empty": ("", "the file is empty"),
    "header-only": ("Date,Open,High,Low,Close,Adj Close,Volume\n", "header but no rows"),
    "no-date-column": ("Day,Close\n1,2\n2,3\n", "no date column"),
    "no-close-column": ("Date,Volume\n2020-01-01,5\n", "no price column"),
    "non-numeric": ("Date,Close\n2020-01-01,12.5\n2020-01-02,n/a price\n", "not numbers"),
    "negative": ("Date,Close\n2020-01-01,12.5\n2020-01-02,-3\n", "zero or negative"),
    "blank-rows": ("Date,Close\n2020-01-01,12.5\n2020-01-02,\n2020-01-03,13\n", "--missing drop"),
    "mixed-dates": ("Date,Close\n2020-01-01,12.5\n01/02/2020,13\n", "mixes date formats"),
    "json-not-csv": ('{"data": [1, 2, 3]}', "only CoinGecko"),
    "too-short": (dated_rows(list(100 + np.arange(30.0))), "needs at least"),
    "constant": (dated_rows([42.0] * 200), "never changes"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_price_files(kind, tmp_path, capsys):
    text, message = BAD_FILES[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    code, out, err = run_cli(["forecast", "--csv", str(path), "--out", str(tmp_path / "out"), *FAST], capsys)
    assert code == 2, err
    assert message in err and str(path) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert not (tmp_path / "out" / "report.json").exists()


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    path.write_bytes(bytes(range(256)) * 8)
    code, _, err = run_cli(["forecast", "--csv", str(path), *FAST], capsys)
    assert code == 2 and "binary" in err and str(path) in err


@pytest.mark.parametrize("scale", [1e12, 1e-12])
def test_extreme_price_levels_give_the_same_verdict_as_ordinary_ones(scale, tmp_path, capsys):
    from scratchlstm.forecast import ForecastConfig, run_forecast

    config = ForecastConfig(window=10, hidden_sizes=(8,), epochs=4, lr=5e-3, test_size=60, refit_every=None)
    base = patterned(400)
    a = run_forecast(series_from(base), config)
    b = run_forecast(series_from(base * scale), config)  # log-returns do not see the scale
    assert b.metrics["model"]["rel_mae"] == pytest.approx(a.metrics["model"]["rel_mae"], rel=1e-6)
    path = tmp_path / "extreme.csv"
    path.write_text(dated_rows(list(base * scale)))
    code, out, err = run_cli(["forecast", "--csv", str(path), "--out", str(tmp_path / "o"), *FAST], capsys)
    assert code == 0 and "verdict:" in out, err


def test_unsorted_and_duplicated_rows_are_fixed_and_said(tmp_path, capsys):
    text = dated_rows(list(random_walk(200)))
    lines = text.splitlines()
    body = lines[1:]
    shuffled = [lines[0]] + body[::-1] + [body[5]]
    path = tmp_path / "messy.csv"
    path.write_text("\n".join(shuffled) + "\n")
    code, out, err = run_cli(["forecast", "--csv", str(path), "--out", str(tmp_path / "o"), *FAST], capsys)
    assert code == 0, err
    assert "note: 1 duplicated time stamp(s) dropped" in out and "note: rows were not in time order; sorted" in out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--window", "0"], "--window must be at least 1, got 0"),
        (["--window", "-5"], "--window must be at least 1"),
        (["--window", "sixty"], "--window must be an integer or 'auto', got 'sixty'"),
        (["--horizon", "0"], "--horizon must be at least 1"),
        (["--hidden", "0"], "--hidden must have every entry at least 1"),
        (["--hidden", "fifty"], "--hidden must be whole numbers separated by commas, such as 32,32, got 'fifty'"),
        (["--lr", "0"], "--lr must be above 0"),
        (["--lr", "-0.1"], "--lr must be above 0"),
        (["--lr", "nan"], "--lr must be a finite number"),
        (["--dropout", "1.0"], "--dropout must be at least 0 and below 1"),
        (["--dropout", "-0.2"], "--dropout must be at least 0 and below 1"),
        (["--optimizer", "adagrad"], "unknown --optimizer 'adagrad'; choose one of sgd, rmsprop, adam, adamw"),
        (["--loss", "hinge"], "choose one of mse, mae, huber"),
        (["--backend", "tensorflow"], "choose one of numpy, array_api_strict, cupy"),
        (["--backend", "cupy"], "cupy"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seed", "-1"], "--seed must be at least 0"),
        (["--test-size", "inf"], "--test-size must be a finite number"),
        (["--test-size", "2.5"], "--test-size must be a whole number of test points"),
        (["--engine", "turbo"], "unknown --engine 'turbo'; choose one of reference, fast"),
        (["--patience", "never"], "--patience must be an integer or 'none', got 'never'"),
    ],
)
def test_bad_configuration(flags, message, capsys):
    code, _, err = run_cli(["forecast", *FAST, *flags], capsys)
    assert code == 2 and message in err and "Traceback" not in err, err


def test_argparse_errors_exit_2_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["forecast", "--preset", "keras-default"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


@pytest.fixture
def saved_model(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["forecast", "--out", str(out), *FAST], capsys)
    assert code == 0, err
    return out / "model.npz"


def test_bad_checkpoints(saved_model, tmp_path, capsys):
    data = saved_model.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 3])
    evil = tmp_path / "evil.npz"
    evil.write_bytes(pickle.dumps({"a": 1}))
    arrays = dict(np.load(saved_model))
    meta = json.loads(arrays["__meta__"].tobytes())
    meta["format_version"] = 7
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    future = tmp_path / "future.npz"
    np.savez(future, **arrays)
    short = tmp_path / "short.csv"
    short.write_text(dated_rows([10.0, 11.0, 12.0]))
    cases = [
        (["--checkpoint", str(truncated)], "truncated or not a checkpoint"),
        (["--checkpoint", str(evil)], "is a pickle; refused"),
        (["--checkpoint", str(future)], "format version 7"),
        (["--checkpoint", str(saved_model), "--csv", str(short)], "needs a window of 5"),
        (["--checkpoint", str(tmp_path / "missing.npz")], "does not exist"),
    ]
    for args, message in cases:
        code, _, err = run_cli(["predict", *args], capsys)
        assert code == 2 and message in err and "Traceback" not in err, (args, err)


def test_divergence_stops_with_the_step_and_keeps_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["forecast", "--out", str(out), "--target", "price", "--lr", "1e30", "--clip", "none", *FAST], capsys)
    assert code == 2 and "diverged at step" in err and "Likely cause" in err, err
    assert "Kept the best weights so far" in err and list((out / "checkpoints").glob("fit-*.npz"))


@pytest.mark.parametrize("target", ["price", "returns"])
def test_interrupted_walk_forward_resumes_to_the_same_result(tmp_path, target):
    from scratchlstm.forecast import ForecastConfig, run_forecast

    config = ForecastConfig(window=10, hidden_sizes=(6,), epochs=4, lr=1e-2, test_size=60, refit_every=20, target=target)
    series = series_from(random_walk(400) if target == "price" else patterned(400))
    full = run_forecast(series, config)

    def stop_after_second_fit(k, n, fit):
        if k == 1:
            raise KeyboardInterrupt

    ckpt = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        run_forecast(series, config, on_fit=stop_after_second_fit, checkpoint_dir=ckpt)
    assert sorted(p.name for p in ckpt.glob("*.npz")) == ["fit-0-0.npz", "fit-0-1.npz"]
    resumed = run_forecast(series, config, checkpoint_dir=ckpt, resume=True)
    assert np.array_equal(resumed.forecasts["model"], full.forecasts["model"])


def test_ctrl_c_in_the_cli_exits_130_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    """The hint comes when there is training state to resume from: not before the first epoch was saved (--resume
    would then refuse), and still when the interruption comes while the outputs are written."""
    import scratchlstm.forecast.run as run_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(run_module, "walk_forward_seeds", interrupted)  # before any training
        code, _, err = run_cli(["forecast", "--out", str(tmp_path / "o"), *FAST], capsys)
    assert code == 130 and "interrupted" in err and "--resume" not in err and "Traceback" not in err
    monkeypatch.setattr(run_module.ForecastResult, "save", interrupted)  # after training, while writing the outputs
    code, _, err = run_cli(["forecast", "--out", str(tmp_path / "o"), *FAST], capsys)
    assert code == 130 and "--resume" in err and "Traceback" not in err
    monkeypatch.undo()
    code, _, _ = run_cli(["forecast", "--out", str(tmp_path / "o"), "--resume", *FAST], capsys)
    assert code == 0


def test_unexpected_errors_are_one_line_without_traceback(capsys, monkeypatch):
    import scratchlstm.forecast.run as run_module

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(run_module, "walk_forward_seeds", broken)
    code, _, err = run_cli(["forecast", *FAST], capsys)
    assert code == 3 and "internal error: ZeroDivisionError" in err and "Traceback" not in err
    code, _, err = run_cli(["--debug", "forecast", *FAST], capsys)
    assert code == 3 and "Traceback" in err


def test_resume_refuses_checkpoints_of_other_settings(tmp_path, capsys, monkeypatch):
    import errno

    import scratchlstm.forecast.run as run_module

    out = tmp_path / "run"
    with monkeypatch.context() as m:  # a run that trained, then could not write its files: its checkpoints stay
        m.setattr(run_module.ForecastResult, "save", lambda self, out: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
        code, _, err = run_cli(["forecast", "--out", str(out), *FAST], capsys)
    assert code == 2 and list((out / "checkpoints").glob("fit-*.npz")), err
    code, _, err = run_cli(["forecast", "--out", str(out), "--resume", *FAST, "--lr", "0.01"], capsys)
    assert code == 2 and "other settings or data" in err and "lr 0.001 then, 0.01 now" in err, err
    code, out_text, err = run_cli(["forecast", "--out", str(out), "--resume", *FAST], capsys)
    assert code == 0 and "verdict:" in out_text, err
    assert not (out / "checkpoints").exists()  # a finished run removes its training state ...
    code, _, err = run_cli(["forecast", "--out", str(out), "--resume", *FAST], capsys)
    assert code == 2 and "holds no training state to continue" in err  # ... so there is nothing to resume


def test_resume_refuses_other_prices_with_the_same_mean_and_spread(tmp_path, capsys, monkeypatch):
    """The first two prices swapped: the scaler's mean and spread are the same to the bit, and --resume went on
    from weights trained on the other order (its report then named the new file)."""
    import errno

    import scratchlstm.forecast.run as run_module

    prices = list(random_walk(150, seed=4))
    first, reordered = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(dated_rows(prices))
    reordered.write_text(dated_rows([prices[1], prices[0]] + prices[2:]))
    out = tmp_path / "run"
    settings = ["--out", str(out), "--target", "price", *FAST]
    with monkeypatch.context() as m:  # a run that trained, then could not write its files: its checkpoints stay
        m.setattr(run_module.ForecastResult, "save", lambda self, out: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
        code, _, err = run_cli(["forecast", "--csv", str(first), *settings], capsys)
    assert code == 2 and list((out / "checkpoints").glob("fit-*.npz")), err
    code, _, err = run_cli(["forecast", "--csv", str(reordered), "--resume", *settings], capsys)
    assert code == 2 and "the data up to the cutoff differ" in err, err
    code, _, err = run_cli(["forecast", "--csv", str(first), "--resume", *settings], capsys)
    assert code == 0, err


def test_predict_needs_exactly_one_window_of_prices(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["forecast", "--out", str(out), "--target", "price", *FAST], capsys)  # window 5
    assert code == 0, err
    five, four = tmp_path / "five.csv", tmp_path / "four.csv"
    five.write_text(dated_rows([10.0, 11.0, 12.0, 11.5, 12.5], freq="B"))  # the embedded series is business daily
    four.write_text(dated_rows([10.0, 11.0, 12.0, 11.5], freq="B"))
    code, text, err = run_cli(["predict", "--checkpoint", str(out / "model.npz"), "--csv", str(five)], capsys)
    assert code == 0 and "forecast 1 step(s) ahead" in text, err
    code, _, err = run_cli(["predict", "--checkpoint", str(out / "model.npz"), "--csv", str(four)], capsys)
    assert code == 2 and "needs a window of 5" in err


def test_a_fresh_run_removes_the_training_state_an_earlier_run_left(tmp_path):
    """Run A left fit-0-1.npz; run B, interrupted in its first fit, told the user to --resume, and the resume then
    met A's fit-0-1 and was refused as another run's, after training fit 0 again."""
    from scratchlstm.forecast import ForecastConfig
    from scratchlstm.forecast.protocol import walk_forward

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "fit-0-1.npz").write_bytes(b"the state of an earlier run")
    config = ForecastConfig(window=5, hidden_sizes=(3,), epochs=1, test_size=20, refit_every=None)
    walk_forward(random_walk(120, seed=2), config, checkpoint_dir=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["fit-0-0.npz"]  # this run's own state only


def test_resume_is_refused_when_no_saved_state_is_this_runs(tmp_path):
    """Another --seed than the interrupted run's: the resume trained everything afresh without a word."""
    from scratchlstm.errors import CheckpointError
    from scratchlstm.forecast import ForecastConfig
    from scratchlstm.forecast.protocol import walk_forward

    folder = tmp_path / "checkpoints"
    config = ForecastConfig(window=5, hidden_sizes=(3,), epochs=1, test_size=20, refit_every=None)
    walk_forward(random_walk(120, seed=2), config, checkpoint_dir=folder)  # leaves fit-0-0.npz
    with pytest.raises(CheckpointError, match=r"none of the training state in .* is this run's \(it holds fit-0-0.npz; this run's "
                                              r"fits are fit-1-0.npz and on\)"):
        walk_forward(random_walk(120, seed=2), config.updated(seed=1), checkpoint_dir=folder, resume=True)
    assert (folder / "fit-0-0.npz").exists()  # the interrupted run's state is kept for the right command
