"""Awkward price files (``tests/data/awkward_files.py``): each reads right or is refused in one line; never exit 3.

Every case is checked twice. The loader, in process: the prices and stamps it returns must be the
values written into the file, and its data line or notes must say what it assumed. The command line
(``scratchlstm forecast``): a refused file must exit 2 with one line naming the fix, and a few files
of every class run a whole forecast with the smallest settings, whose ``predictions.csv`` must hold
the file's own last prices. No case may change the user's file.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from scratchlstm.cli import main
from scratchlstm.data import DataWarning, load_prices
from scratchlstm.errors import DataError
from tests.data.awkward_files import Reads, Refused, cases

FAST = ["--quiet", "--epochs", "1", "--window", "5", "--hidden", "2", "--test-size", "20", "--refit-every", "none"]
CASES = cases()
OPTIONS = {"--decimal": "decimal", "--date-format": "date_format", "--price-column": "price_column", "--missing": "missing"}


def _write(tmp_path, case):
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    return path


def _options(flags):
    return {OPTIONS[flag]: value for flag, value in zip(flags[::2], flags[1::2])}


def test_the_table_is_large_and_covers_every_class():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 40 and kinds == {"mixed", "currency", "last row", "time column", "duplicates", "excel", "header"}
    assert all(any(c.cli for c in CASES if c.kind == kind) for kind in kinds - {"duplicates"})


@pytest.mark.parametrize("case", CASES, ids=[c.filename for c in CASES])
def test_the_loader_reads_the_values_written_or_refuses_in_one_line(tmp_path, case):
    path = _write(tmp_path, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        if isinstance(case.expect, Refused):
            with pytest.raises(DataError, match=case.expect.match) as info:
                load_prices(path, **_options(case.flags))
            assert "\n" not in str(info.value)
        else:
            series = load_prices(path, **_options(case.flags))
            assert series.prices.tolist() == case.expect.prices  # exactly the numbers written, 1e-6 or 1e12 alike
            stamps = case.expect.stamps or [f"{d:%Y-%m-%d}" for d in pd.date_range("2020-01-01", periods=len(case.expect.prices))]
            fmt = "%Y-%m-%d %H:%M" if " " in stamps[0] else "%Y-%m-%d"
            assert list(series.frame.index.strftime(fmt)) == stamps
            said = " / ".join([series.describe(), *series.notes])
            assert all(words in said for words in case.expect.says), said
    assert path.read_bytes() == case.content


@pytest.mark.parametrize("case", [c for c in CASES if isinstance(c.expect, Refused)], ids=lambda c: c.filename)
def test_the_command_line_refuses_with_exit_2_and_one_line(tmp_path, case, capsys):
    path = _write(tmp_path, case)
    code = main(["forecast", "--csv", str(path), "--out", str(tmp_path / "out"), *FAST, *case.flags])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and re.search(case.expect.match, err), err
    assert path.read_bytes() == case.content and not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", [c for c in CASES if c.cli and isinstance(c.expect, Reads)], ids=lambda c: c.filename)
def test_the_command_line_forecasts_from_the_values_written(tmp_path, case, capsys):
    path = _write(tmp_path, case)
    code = main(["forecast", "--csv", str(path), "--out", str(tmp_path / "out"), *FAST, *case.flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = next(line for line in out.splitlines() if line.startswith("data: "))
    said = " / ".join([data, *(line for line in out.splitlines() if line.startswith("note: "))])
    assert all(words in said for words in case.expect.says), said
    assert f"{len(case.expect.prices)} rows" in data
    predictions = pd.read_csv(tmp_path / "out" / "predictions.csv")
    np.testing.assert_allclose(predictions["actual"], case.expect.prices[-len(predictions):], rtol=1e-9)  # predictions.csv keeps ten significant digits
    assert path.read_bytes() == case.content
