"""Draw the site's generated figures when it is built, so that a figure is never older than the code.

``img/cell-diagram.png`` is ``scratchlstm.plots.cell_diagram()``, drawn now and added to the site's
files (nothing is written into ``docs/``).
"""

from __future__ import annotations

import io

from mkdocs.structure.files import File

FIGURES = {"img/cell-diagram.png": "cell_diagram"}


def on_files(files, config):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scratchlstm import plots

    for path, name in FIGURES.items():
        figure = getattr(plots, name)()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        files.append(File.generated(config, path, content=buffer.getvalue()))
    return files
