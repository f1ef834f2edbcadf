"""docs/vanishing.md states what its runs print: the seed table is rerun with the command the page
shows, and the gate study's numbers (unit indices included) are rerun and found in the page's text."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGE = (ROOT / "docs" / "vanishing.md").read_text(encoding="utf-8")


def _page_table() -> str:
    return re.search(r"<!-- seeds-table -->\n(.*?)\n<!-- /seeds-table -->", PAGE, flags=re.S)[1].strip()


def _page_command() -> list[str]:
    line = re.search(r"^python -m scratchlstm\.vanishing (.*)$", PAGE, flags=re.M)[1]
    return shlex.split(line)


def test_the_seed_table_is_what_the_shown_command_prints(capsys):
    """About a minute on 2 cores: the page's command, run as written."""
    from scratchlstm.vanishing import main

    main(_page_command())
    printed = capsys.readouterr().out
    table = printed[printed.index("| cell |"):].strip()
    assert table == _page_table(), f"docs/vanishing.md's seed table is not what the run prints:\n{table}"


def test_what_the_page_says_holds_across_the_seeds_is_in_its_table():
    """The table is the run's (the test above); the sentence under it must follow from the table."""
    rows = {line.split("|")[1].strip(): line for line in _page_table().splitlines()[2:]}
    args = dict(zip(_page_command()[::2], _page_command()[1::2]))
    seeds, lengths = len(args["--seeds"].split(",")), len(args["--lengths"].split(","))
    text = " ".join(PAGE.split())
    assert "the RNN does not learn the task with this budget even at T = 10" in text
    assert rows["RNN"].count(f"0 of {seeds}") == lengths
    assert "the gate cells carry the first value over every length tried" in text
    assert rows["GRU"].count(f"{seeds} of {seeds}") == rows["LSTM"].count(f"{seeds} of {seeds}") == lengths


def test_the_page_describes_the_run_it_shows():
    args = dict(zip(_page_command()[::2], _page_command()[1::2]))
    lengths, seeds = args["--lengths"].split(","), args["--seeds"].split(",")
    assert f"{args['--steps']} minibatches of 32" in PAGE
    assert f"lengths {', '.join(lengths[:-1])} and {lengths[-1]}" in PAGE
    assert {"3": "three"}[str(len(seeds))] in PAGE.split("```")[0]
    flow = importlib.util.spec_from_file_location("figures", ROOT / "docs" / "hooks" / "figures.py")
    figures = importlib.util.module_from_spec(flow)
    flow.loader.exec_module(figures)
    assert figures.FLOW_LENGTH == int(lengths[-1]) and f"initialisation, T = {lengths[-1]}" in PAGE


@pytest.fixture(scope="module")
def gate_study():
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install matplotlib)")
    spec = importlib.util.spec_from_file_location("gate_study", ROOT / "examples" / "gate_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gate_numbers_and_unit_indices_are_what_the_study_prints(gate_study):
    import matplotlib.pyplot as plt

    stats, figure = gate_study.adding_study()
    plt.close(figure)
    assert f"test MSE {stats['test_mse']:.4f})" in PAGE
    i, f, g, o = stats["i"], stats["f"], stats["g"], stats["o"]
    assert f"input gate opens (unit {i[0]}: {i[1]:.2f} there, {i[2]:.2f} elsewhere)" in PAGE
    assert f"$\\lvert g \\rvert$ of unit {g[0]}: {g[1]:.2f} against {g[2]:.2f}" in PAGE
    assert f"output gate rises (unit {o[0]}:\n  {o[1]:.2f} against {o[2]:.2f})" in PAGE
    assert f"forget gate dips (unit {f[0]}: {f[1]:.2f} against {f[2]:.2f})" in PAGE
    assert f[1] < f[2] and i[1] > i[2] and o[1] > o[2]  # "opens", "dips", "rises"
    unit, slope, r = stats["keeper"]
    assert f"cell state of unit {unit} settles" in PAGE and f"$c$ of unit {unit} moves by {slope:.2f}" in PAGE
    assert f"correlation {r:.2f};" in PAGE and abs(r) > 0.9  # "keeps it"


def test_the_model_that_learned_nothing_is_what_the_study_prints(gate_study):
    import matplotlib.pyplot as plt

    stats, figure = gate_study.msft_study()
    plt.close(figure)
    text = " ".join(PAGE.split())
    assert f"validation MSE, {stats['val_mse']:.3f}, is worse than predicting 0 ({stats['zero_mse']:.3f})" in text
    assert stats["val_mse"] > stats["zero_mse"]
    assert f"$i$ and $o$ about {stats['i'][0]:.2f}" in text and f"{stats['o'][0]:.2f}" == f"{stats['i'][0]:.2f}"
    assert f"$f$ about {stats['f'][0]:.2f}" in text
    largest = max(stats[k][1] for k in "ifo")
    assert f"none moves by more than {largest:.2f}" in text
    assert f"reaches at most {stats['c_max']:.2f}" in text
