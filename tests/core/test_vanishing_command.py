"""``python -m scratchlstm.vanishing`` refuses, in argparse's one line and exit 2, what the experiment cannot run or
would report falsely (each was a traceback and exit 1, the code of a failed gradient check, or a table without a word)."""

import pytest

from scratchlstm.vanishing import main


@pytest.mark.parametrize("argv, message", [
    (["--lengths", "1"], "--lengths values must be at least 2, got '1'"),  # a traceback from the data: high <= 0
    (["--lengths", "10,abc"], "--lengths takes comma-separated whole numbers, such as 10,30,60; got '10,abc'"),
    (["--steps", "0"], "--steps must be at least 1, got 0"),  # a results table of untrained cells, exit 0
    (["--hidden", "0"], "--hidden must be at least 1, got 0"),
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
    (["--seeds", "1,1"], "--seeds holds a seed twice (1,1): each seed is one independent run, counted once"),  # "0 of 2"
    (["--seeds", ""], "--seeds takes comma-separated whole numbers, such as 0,1,2; got ''"),  # fell back to --seed
    (["--plot", "flow.pdf"], "--plot writes a PNG image: give a file name ending in .png, got 'flow.pdf'"),  # PNG bytes
])
def test_arguments_the_experiment_cannot_run_are_refused_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"error: {message}")


def test_the_smallest_experiment_runs_and_writes_its_figure(tmp_path, capsys):
    main(["--lengths", "2", "--steps", "1", "--hidden", "2", "--plot", str(tmp_path / "flow.png")])
    assert (tmp_path / "flow.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "wrote" in capsys.readouterr().out


def test_engine_reference_runs_the_lstm_page_s_code_and_the_default_its_kernel(monkeypatch, capsys):
    """docs/lstm.md: the experiment runs the fast engine, ``--engine reference`` the code the page derives (as edited)."""
    from scratchlstm.nn import lstm as lstm_module

    steps, step = [], lstm_module.lstm_cell_forward
    monkeypatch.setattr(lstm_module, "lstm_cell_forward", lambda *a: (steps.append(1), step(*a))[1])
    main(["--lengths", "2", "--steps", "1", "--hidden", "2"])
    assert steps == []
    main(["--lengths", "2", "--steps", "1", "--hidden", "2", "--engine", "reference"])
    assert steps
    fast, reference = capsys.readouterr().out.split("adding problem")[1:]
    assert fast == reference  # the same numbers, to the table's digits
