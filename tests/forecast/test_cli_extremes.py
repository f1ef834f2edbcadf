"""Every setting at its extremes, through the command line: exit 0 or 2, never 3 (a bug).

Each field of ``ForecastConfig`` and ``LoadOptions`` (and each flag of gradcheck, predict and fetch)
is driven to the edges of what its declaration allows and past them: its least and largest values
and just past them, 0, 1, -1, a huge and a tiny number, NaN, an empty string and a word. A run that is accepted goes
through on a tiny series in one epoch; one that is not must be refused in one line (exit 2). The
values are derived from each field's declared bounds, so a new field is covered without an edit.

The calls go through ``scratchlstm.cli.main``, the command line's own entry point (argument parsing,
every check, the run, the files), in this process to keep the test fast; ``test_cli_edges.py`` runs
the command in a subprocess.
"""

import dataclasses
import math

import pytest

from scratchlstm.cli import EXIT_USER_ERROR, main
from scratchlstm.data.options import LoadOptions
from scratchlstm.forecast import ForecastConfig
from scratchlstm.settings import flag_of
from tests.helpers import dated_rows, random_walk

BASE = ["--quiet", "--epochs", "1", "--window", "5", "--hidden", "3", "--test-size", "10", "--refit-every", "none", "--season", "1"]
HUGE = "1000000000000"
# values whose cost grows with the number (run time, not memory): their huge value would be a
# long run, not an error, so it is left out for them alone
SLOW_WHEN_HUGE = {"epochs", "seeds", "patience", "step_every"}


def _values(field) -> list[str]:
    """Command-line texts at and past the edges of ``field``'s declared range."""
    meta, kind = field.metadata, str(field.type)
    if meta.get("choices"):
        return [*meta["choices"], "", "bogus"]
    if "bool" in kind:
        return []  # --flag / --no-flag, below
    texts = ["", "bogus", "nan", "-1", "0", "1"]
    if "tuple" in kind:
        texts += ["1,1,1", "0,3", "3,", ",", HUGE]
    elif "int" in kind or "float" in kind:
        low = meta["at_least"] if meta.get("at_least") is not None else meta.get("above")
        if low is not None:
            texts += [repr(low), repr(low - 1)]
        high = meta["below"] if meta.get("below") is not None else meta.get("at_most")
        if high is not None:
            texts += [repr(high), repr(high - 1e-9)]
        texts += ["1e-300", HUGE, "1e300"]
    if meta.get("none_word"):
        texts.append(meta["none_word"])
    if field.name in SLOW_WHEN_HUGE:
        texts = [t for t in texts if t not in (HUGE, "1e300")]
    return list(dict.fromkeys(texts))


def _cases():
    for config_class in (ForecastConfig, LoadOptions):
        for field in dataclasses.fields(config_class):
            flag = flag_of(field)
            if "bool" in str(field.type):
                yield pytest.param([flag], id=flag)
                yield pytest.param(["--no-" + flag[2:]], id="--no-" + flag[2:])
            for text in _values(field):
                yield pytest.param([flag, text], id=f"{flag}={text}")
    for flag in ("--preset", "--config", "--csv", "--out"):
        yield pytest.param([flag, ""], id=f"{flag}=")


CASES = list(_cases())
INTERNAL = "internal error"  # what exit 3 says


def _run(argv) -> int:
    """The command line's exit status for ``argv`` (argparse's own refusals exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_every_field_is_driven():
    driven = {case.values[0][0] for case in CASES}
    for config_class in (ForecastConfig, LoadOptions):
        for field in dataclasses.fields(config_class):
            assert flag_of(field) in driven, field.name


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "prices.csv"
    path.write_text(dated_rows(list(random_walk(90, seed=3))))
    return str(path)


@pytest.mark.parametrize("extra", CASES)
def test_forecast_settings_at_their_extremes_exit_0_or_2(extra, prices, tmp_path, capsys):
    if extra == ["--backend", "cupy"]:
        pytest.importorskip("cupy")  # without it: exit 2, checked below
    code = _run(["forecast", "--csv", prices, "--out", str(tmp_path / "out"), *BASE, *extra])
    err = capsys.readouterr().err
    assert code in (0, EXIT_USER_ERROR), err
    if code == EXIT_USER_ERROR:
        assert INTERNAL not in err and err.strip(), err


def test_cupy_backend_without_cupy_is_exit_2(prices, tmp_path, capsys):
    try:
        import cupy  # noqa: F401
    except Exception:
        assert _run(["forecast", "--csv", prices, "--out", str(tmp_path / "o"), *BASE, "--backend", "cupy"]) == EXIT_USER_ERROR
        assert "cupy" in capsys.readouterr().err.lower()
    else:
        pytest.skip("cupy is installed: the backend is available")


GRADCHECK = {"--steps": ["0", "1", "-1", HUGE, "x"], "--batch": ["0", "1", HUGE], "--input-size": ["0", "1", HUGE],
             "--hidden-size": ["0", "1", "100000", HUGE], "--eps": ["0", "-1", "1e-300", "1e300", "nan", "inf", "x"],
             "--threshold": ["0", "1e-300", "1e300", "nan"], "--seed": ["-1", "0", HUGE, "x"],
             "--backend": ["", "bogus", "array_api_strict"], "--cell": ["", "bogus", "gru", "rnn"], "--engine": ["", "fast"]}


@pytest.mark.parametrize("flag, text", [(f, t) for f, texts in GRADCHECK.items() for t in texts], ids=lambda v: str(v))
def test_gradcheck_flags_at_their_extremes_exit_0_1_or_2(flag, text, capsys):
    small = {"--steps": "2", "--batch": "1", "--input-size": "2", "--hidden-size": "2"}
    args = [a for k, v in small.items() if k != flag for a in (k, v)]
    code = _run(["gradcheck", *args, flag, text])
    err = capsys.readouterr().err
    assert code in (0, 1, EXIT_USER_ERROR), err
    if code == EXIT_USER_ERROR:
        assert INTERNAL not in err and err.strip(), err


@pytest.mark.parametrize("argv", [
    ["predict", "--checkpoint", ""], ["predict", "--checkpoint", "missing.npz"], ["predict", "--checkpoint", "."],
    ["fetch", ""], ["fetch", "bitcoin", "--days", "0"], ["fetch", "bitcoin", "--days", "1"], ["fetch", "bitcoin", "--days", "x"],
    ["fetch", "bitcoin", "--vs", ""], ["fetch", "bitcoin", "--out", ""], ["fetch", "../../etc"],
], ids=lambda v: " ".join(v))
def test_predict_and_fetch_flags_at_their_extremes_exit_2_before_any_download(argv, capsys):
    code = _run(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USER_ERROR and INTERNAL not in err and "cannot reach" not in err, err


def test_the_values_reach_past_every_bound():
    lr = {f.name: f for f in dataclasses.fields(ForecastConfig)}["lr"]
    assert {"0.0", "-1.0", "1e-300", HUGE, "nan"} <= set(_values(lr))
    assert not math.isnan(float("1e300"))
