"""Draw the site's figures when it is built, so that a figure is never older than the code.

Every figure is drawn now by the package's own code (or by ``examples/gate_study.py``, which the
vanishing-gradient page describes) and added to the site's files; nothing is written into ``docs/``.
The numbers the pages state next to these figures are checked against a rerun by
``tests/docs/test_vanishing_page.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).parents[2]
FLOW_LENGTH = 60  # the longest length of the vanishing page's run
log = logging.getLogger("mkdocs.hooks.figures")


def _cell_diagram():
    from scratchlstm import plots

    return plots.cell_diagram()


def _gradient_flow():
    import numpy as np

    from scratchlstm.plots import gradient_flow_plot
    from scratchlstm.traces import gradient_flow
    from scratchlstm.vanishing import INITS, KINDS, adding_batch

    x, _ = adding_batch(np.random.default_rng(0), FLOW_LENGTH, 32)
    flows = [gradient_flow(kind, INITS[kind](2, 16, seed=0, dtype="float64"), x) for kind in KINDS]
    return gradient_flow_plot(flows, None, f"gradient flow at initialisation, T = {FLOW_LENGTH}")


def gate_study():
    """``examples/gate_study.py`` as a module (the site's gate figures and the page's numbers)."""
    spec = importlib.util.spec_from_file_location("gate_study", ROOT / "examples" / "gate_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIGURES = {
    "img/cell-diagram.png": _cell_diagram,
    "img/gradient-flow.png": _gradient_flow,
    "img/gates.png": lambda: gate_study().adding_study()[1],
    "img/gates-msft.png": lambda: gate_study().msft_study()[1],
}


def on_files(files, config):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for path, draw in FIGURES.items():
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # what the gate study prints goes to the build's log (mkdocs build -v)
            figure = draw()
        for line in printed.getvalue().splitlines():
            log.debug(f"{path}: {line}")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        files.append(File.generated(config, path, content=buffer.getvalue()))
    return files
