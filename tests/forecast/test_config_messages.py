"""Settings a new user mistyped: refused with the form that works, on the command line, in Python and in a config file."""

import json

import pytest

from scratchlstm.cli import main
from scratchlstm.errors import ConfigError
from scratchlstm.forecast import ForecastConfig, load_config_file
from scratchlstm.settings import parse_text
from tests.helpers import dated_rows, random_walk

LEVELS = r"must be whole percentages between 1 and 99, such as \[80, 95\] \(--interval-levels 80,95 on the command line\)"
TWICE = r"gives the level 80 twice; give each level once, such as \[80, 95\] \(--interval-levels 80,95 on the command line\)"
ONE = r"is ambiguous: a fraction of the series must be below 1; for one test point write 1, got 1\.0$"


@pytest.mark.parametrize("text, message", [
    ("80,100", LEVELS), ("0,50", LEVELS), ("80,80", TWICE), ("95,80,80", TWICE)])
def test_interval_levels_out_of_range_or_repeated_name_the_command_line_form(text, message):
    with pytest.raises(ConfigError, match="^--interval-levels " + message):
        parse_text(ForecastConfig, "interval_levels", text, "--interval-levels")
    levels = tuple(int(v) for v in text.split(","))
    with pytest.raises(ConfigError, match="^interval_levels " + message):
        ForecastConfig(interval_levels=levels)


def test_interval_levels_in_range_and_distinct_are_taken():
    assert parse_text(ForecastConfig, "interval_levels", "1,50,99", "--interval-levels") == (1, 50, 99)


@pytest.mark.parametrize("text", ["99.5", "80,95.5", "eighty"])
def test_interval_levels_that_are_not_whole_numbers_get_an_example_the_rules_allow(text):
    message = r"^--interval-levels must be whole numbers separated by commas, such as 80,95, got "
    with pytest.raises(ConfigError, match=message + repr(text)):
        parse_text(ForecastConfig, "interval_levels", text, "--interval-levels")
    with pytest.raises(ConfigError, match=r"^interval_levels must be a list of integers such as \[80, 95\], got "):
        ForecastConfig(interval_levels=text)
    ForecastConfig(interval_levels=(80, 95))  # the example is one the rules take


def test_test_size_one_with_a_decimal_point_is_refused_as_ambiguous(tmp_path):
    for text in ("1.0", "1.", "1e0"):
        with pytest.raises(ConfigError, match="^--test-size " + ONE):
            parse_text(ForecastConfig, "test_size", text, "--test-size")
    with pytest.raises(ConfigError, match="^test_size " + ONE):
        ForecastConfig(test_size=1.0)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"test_size": 1.0}))
    with pytest.raises(ConfigError, match=f"^config file {path}: test_size " + ONE):
        load_config_file(path)


def test_test_size_one_and_fractions_below_one_are_taken():
    assert parse_text(ForecastConfig, "test_size", "1", "--test-size") == 1
    assert ForecastConfig(test_size=0.25).test_size == 0.25 and ForecastConfig(test_size=250.0).test_size == 250


@pytest.mark.parametrize("flags, message", [
    (["--interval-levels", "80,80"], "--interval-levels " + TWICE.replace("\\", "")),
    (["--test-size", "1.0"], "--test-size " + ONE.replace("\\", "").rstrip("$")),
])
def test_the_command_line_exits_2_with_the_message(tmp_path, capsys, flags, message):
    prices = tmp_path / "prices.csv"
    prices.write_text(dated_rows(list(random_walk(90, seed=3))))
    code = main(["forecast", "--csv", str(prices), "--out", str(tmp_path / "out"), "--quiet", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_fraction_that_rounds_to_no_test_point_is_named():
    """--test-size 0.0001 said the series needed more rows and suggested a test span that was not the problem."""
    from scratchlstm.errors import DataError
    from scratchlstm.forecast import ForecastConfig
    from scratchlstm.forecast.windows import walk_forward_origins

    with pytest.raises(DataError, match=r"--test-size 0.0001 is 0 of the \d+ usable points; give a larger fraction or a count"):
        walk_forward_origins(1827, ForecastConfig(window=60, test_size=0.0001))
    assert len(walk_forward_origins(1827, ForecastConfig(window=60, test_size=0.01))) > 0


def test_a_patience_scaled_with_automatic_epochs_says_so():
    """``--patience 5`` became 67 with only "patience 67" in the notes; the note now says why."""
    from scratchlstm.forecast import ForecastConfig
    from scratchlstm.forecast.automatic import MIN_EPOCHS, adapt_to_series

    adapted, notes = adapt_to_series(ForecastConfig(patience=5), rows=400, season=1)
    assert adapted.epochs > MIN_EPOCHS and adapted.patience > 5
    [note] = [n for n in notes if "epochs at most" in n]
    assert note.endswith(f"patience {adapted.patience} (--patience 5 is per {MIN_EPOCHS} epochs: scaled with them)")
    _, notes = adapt_to_series(ForecastConfig(patience=None), rows=400, season=1)
    assert [n for n in notes if "epochs at most" in n][0].endswith("patience None")
