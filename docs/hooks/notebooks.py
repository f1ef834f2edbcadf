"""Render the course's notebooks into the site when it is built, so they read offline next to the docs.

Each ``notebooks/NN-name.ipynb`` becomes the page ``notebook-NN-name.html``: its Markdown cells as
written (their formulas become MathML like every other page's), its code cells as highlighted code,
and the outputs the notebook file holds (text and PNG images; a notebook committed without outputs
shows none, and the page says so). ``notebooks.html`` lists them, with the course table of
``notebooks/README.md`` and how to run them.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).parents[2]
NOTEBOOKS = ROOT / "notebooks"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _outputs(cell: dict) -> list[str]:
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if out.get("output_type") == "stream":
            parts.append("```text\n" + _text(out["text"]).rstrip("\n") + "\n```")
        elif "image/png" in data:
            png = _text(data["image/png"]).replace("\n", "")
            base64.b64decode(png, validate=True)  # a broken image stops the build here, not in the reader's browser
            parts.append(f'<img alt="output" src="data:image/png;base64,{png}">')
        elif "text/plain" in data:
            parts.append("```text\n" + _text(data["text/plain"]).rstrip("\n") + "\n```")
        elif out.get("output_type") == "error":
            parts.append("```text\n" + f"{out['ename']}: {out['evalue']}" + "\n```")
    return parts


def _site_markdown(source: str) -> str:
    """A Markdown cell as a site page needs it: links to a notebook or a docs page go to its page; latex2mathml does
    not know ``aligned`` (it leaves a bare ``&``, invalid MathML), so it becomes ``array{rl}``, and an aligned formula's
    comment column (``&&``) is set off by space instead."""
    source = re.sub(r"\]\((\d\d-[\w-]+)\.ipynb\)", r"](notebook-\1.md)", source)
    source = source.replace("](../docs/", "](")  # a notebook's link to a docs page, from the site's top level
    source = source.replace(r"\begin{aligned}", r"\begin{array}{rl}").replace(r"\end{aligned}", r"\end{array}")
    return source.replace("&&", r"\qquad ")


def notebook_markdown(path: Path) -> str:
    """One notebook as a Markdown page: cells in order, outputs as the file holds them."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    has_outputs = any(c.get("outputs") for c in cells if c["cell_type"] == "code")
    note = ("Outputs are shown as saved in the notebook file." if has_outputs else
            "The notebook is kept without outputs: run it to see them (each runs in well under a minute on a laptop CPU).")
    parts = [f"*This page is `notebooks/{path.name}`, rendered when the site was built. {note} "
             f"To run it: `pip install -e '.[notebooks]' jupyterlab`, then `jupyter lab notebooks/{path.name}`.*"]
    for cell in cells:
        source = _text(cell["source"]).rstrip()
        if cell["cell_type"] == "markdown":
            parts.append(_site_markdown(source))
        elif cell["cell_type"] == "code" and source:
            parts.append("```python\n" + source + "\n```")
            parts.extend(_outputs(cell))
    return "\n\n".join(parts) + "\n"


def page_name(path: Path) -> str:
    return f"notebook-{path.stem}.md"


def index_markdown() -> str:
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    readme = re.sub(r"`(\d\d-[\w-]+)\.ipynb`", lambda m: f"[`{m[1]}.ipynb`](notebook-{m[1]}.md)", readme)
    return readme.replace("# The course:", "# Notebooks: the course,", 1)


def on_files(files, config):
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        files.append(File.generated(config, page_name(path), content=notebook_markdown(path)))
    files.append(File.generated(config, "notebooks.md", content=index_markdown()))
    return files


def _plain_titles(items) -> None:
    for item in items:
        item.title = re.sub(r"\\\((.*?)\\\)", r"\1", item.title)
        _plain_titles(item.children)


def on_page_context(context, page, config, nav):
    """A heading with a formula ("the pre-activations $a$") is listed in the sidebar as its plain text
    (the sidebar shows titles, not rendered math): ``a``, not ``\\(a\\)``."""
    _plain_titles(page.toc.items)
    return context
