"""--out inside a file is named as such (not "permission denied"), and a --config file that holds a setting --help lists
beside the forecast's but that is a flag only is told which flag to pass, with its value."""

import json
import shlex

import pytest

from scratchlstm.cli import main, settings_of_flags_only
from scratchlstm.errors import ConfigError
from scratchlstm.forecast.config import load_config_file
from scratchlstm.forecast.output_folder import check_output_folder
from tests.helpers import dated_rows, random_walk

FAST = ["--quiet", "--epochs", "1", "--window", "5", "--hidden", "4", "--test-size", "10", "--refit-every", "none"]


@pytest.mark.parametrize("below", ["sub", "sub/deeper"])
def test_out_inside_a_file_says_the_file_is_no_folder(tmp_path, below):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    out = afile / below
    with pytest.raises(ConfigError, match=rf"^--out {out} is inside {afile}, which is a file, not a folder; choose another --out$"):
        check_output_folder(out)
    assert afile.read_text() == "mine"


def test_the_command_line_says_it_too(tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    assert main(["forecast", "--out", str(tmp_path / "afile" / "sub"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "which is a file, not a folder" in err and "permission denied" not in err


@pytest.mark.parametrize("doc, named, flags", [
    ({"price_column": "close", "decimal": ",", "epochs": 1}, "'price_column' and 'decimal' are command-line settings",
     "--price-column close --decimal ,"),
    ({"date_format": "%d/%m/%Y %H:%M"}, "'date_format' is a command-line setting", "--date-format '%d/%m/%Y %H:%M'"),
    ({"missing": "ffill", "jobs": 2}, "'missing' and 'jobs' are command-line settings", "--missing ffill --jobs 2"),
    ({"global_model": True}, "'global_model' is a command-line setting", "--global (scratchlstm panel only)"),
])
def test_a_config_file_with_a_flag_only_setting_names_the_flag_to_pass(tmp_path, doc, named, flags):
    """--help said the file takes "the field names below", and price_column and decimal were refused as unknown keys."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        load_config_file(path, flags_only=settings_of_flags_only())
    message = str(info.value)
    assert named in message and message.endswith(f"instead: {flags}") and "(backend, batch_size, cell," in message


def test_the_flags_named_read_the_file_as_the_config_file_meant(tmp_path, capsys):
    prices = tmp_path / "p.csv"
    prices.write_text(dated_rows(list(random_walk(120))).replace("Close", "Last"))
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"price_column": "last", "hidden_sizes": [4]}))
    assert main(["forecast", str(prices), "--config", str(config), "--out", str(tmp_path / "o1"), *FAST]) == 2
    flags = capsys.readouterr().err.strip().rsplit("instead: ", 1)[1]
    config.write_text(json.dumps({"hidden_sizes": [4]}))
    args = ["forecast", str(prices), "--config", str(config), "--out", str(tmp_path / "o2"), *FAST, *shlex.split(flags)]
    assert main(args) == 0, capsys.readouterr().err


def test_unknown_keys_are_refused_as_before(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"windw": 30}))
    with pytest.raises(ConfigError, match=r"has unknown keys \['windw'\] \(did you mean 'window'\?\)"):
        load_config_file(path)
