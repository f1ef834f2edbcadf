"""Render the course's notebooks into the site when it is built, so they read offline next to the docs.

Each ``notebooks/NN-name.ipynb`` becomes the page ``notebook-NN-name.html``: its Markdown cells as
written (their formulas become MathML like every other page's), its code cells as highlighted code,
each followed by its outputs (text and PNG figures). ``notebooks.html`` lists them, with the course
table of ``notebooks/README.md`` and how to run them.

The notebooks are committed without outputs; the outputs on the pages come from running every
notebook, as committed (the exercises not filled in, so their checks say so), in a fresh kernel
while the site is built: they are never older than the code, and nothing stored has to be checked
against a rerun. A notebook that raises stops the build. This adds the notebooks' run time to the
build (21 to 29 s on 2 cores at a load average of 2, two notebooks at once) and needs nbclient and ipykernel,
which the docs extra installs.
"""

from __future__ import annotations

import asyncio
import base64
import html
import importlib.util
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).parents[2]
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 300  # seconds a cell may run before the build stops
WIDGET = "application/vnd.jupyter.widget-view+json"
log = logging.getLogger("mkdocs.hooks.notebooks")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _pre(text: str) -> str:
    """Printed text as an output block (set off from the code by its style, ``notebook-output``)."""
    return f'<pre class="notebook-output"><code>{html.escape(text.rstrip(chr(10)))}</code></pre>'


def as_terminal(text: str) -> str:
    """Printed text as a terminal shows it: a line rewritten with carriage returns (a progress line) as it ended."""
    return "\n".join(([part for part in line.split("\r") if part] or [""])[-1] for line in text.split("\n"))


def _outputs(cell: dict) -> list[str]:
    """A code cell's outputs as HTML blocks: printed text, figures, and tables as the notebook shows them
    (a DataFrame as its HTML table, whose columns do not wrap as its text does)."""
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if WIDGET in data:
            continue  # a live widget (the progress bar); its text is its state when it was made ("0%"), not what it showed
        if out.get("output_type") == "stream":
            parts.append(_pre(as_terminal(_text(out["text"]))))
        elif "image/png" in data:
            png = _text(data["image/png"]).replace("\n", "")
            base64.b64decode(png, validate=True)  # a broken image stops the build here, not in the reader's browser
            parts.append(f'<img alt="output" src="data:image/png;base64,{png}">')
        elif "<table" in _text(data.get("text/html", "")):
            table = re.sub(r"<style.*?</style>", "", _text(data["text/html"]), flags=re.S).replace(' border="1"', "")
            parts.append('<div class="notebook-output">' + re.sub(r"\n\s*\n", "\n", table).strip() + "</div>")
        elif "text/plain" in data:
            parts.append(_pre(_text(data["text/plain"])))
        elif out.get("output_type") == "error":
            parts.append(_pre(f"{out['ename']}: {out['evalue']}"))
    return parts


def _site_markdown(source: str) -> str:
    """A Markdown cell as a site page needs it: links to a notebook or a docs page go to its page; latex2mathml does
    not know ``aligned`` (it leaves a bare ``&``, invalid MathML), so it becomes ``array{rl}``, and an aligned formula's
    comment column (``&&``) is set off by space instead."""
    source = re.sub(r"\]\((\d\d-[\w-]+)\.ipynb\)", r"](notebook-\1.md)", source)
    source = source.replace("](../docs/", "](")  # a notebook's link to a docs page, from the site's top level
    source = source.replace(r"\begin{aligned}", r"\begin{array}{rl}").replace(r"\end{aligned}", r"\end{array}")
    return source.replace("&&", r"\qquad ")


async def _execute(path: Path, slots: asyncio.Semaphore):
    """``path`` run top to bottom in a fresh kernel started in an empty temporary folder."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's own inline figures
    async with slots:
        with tempfile.TemporaryDirectory() as folder:
            client = nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                                             extra_arguments=["--IPKernelApp.log_level=ERROR"])
            start = time.perf_counter()
            try:
                await client.async_execute(cwd=folder, env=env)
            except nbclient.exceptions.CellExecutionError as error:
                raise PluginError(f"notebooks/{path.name} raised when run for the site; fix the notebook or the code "
                                  f"it calls:\n{error}") from None
            log.debug(f"ran notebooks/{path.name} in {time.perf_counter() - start:.1f} s")
    return nb


def execute_all(paths: list[Path]) -> list:
    """Every notebook in ``paths`` run as committed, as many at once as there are CPU cores."""
    missing = [name for name in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(name) is None]
    if missing:
        raise PluginError(f"the site runs the notebooks to show their outputs and needs {', '.join(missing)}: "
                          "pip install -e '.[docs]'")

    async def run_all():
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        slots = asyncio.Semaphore(cores)  # the cores this process may use, not the machine's
        return await asyncio.gather(*(_execute(path, slots) for path in paths))

    return asyncio.run(run_all())


def notebook_markdown(path: Path, nb) -> str:
    """One notebook as a Markdown page: cells in order, each code cell with the outputs of ``nb``, the
    notebook as it was run; under its title, a note that says so and how to run it."""
    exercises = any(tag.startswith("exercise:") for cell in nb["cells"] for tag in cell.get("metadata", {}).get("tags", []))
    note = (f"*This page is `notebooks/{path.name}`, run as committed when the site was built: the outputs are "
            "what the code printed and drew then" + (", and each exercise's check says it is not written yet" if exercises else "") +
            f". To run it yourself: `pip install -e '.[notebooks]' jupyterlab`, then `jupyter lab notebooks/{path.name}`.*")
    parts = []
    for cell in nb["cells"]:
        source = _text(cell["source"]).rstrip()
        if cell["cell_type"] == "markdown":
            parts.append(_site_markdown(source))
        elif cell["cell_type"] == "code" and source:
            parts.append("```python\n" + source + "\n```")
            parts.extend(_outputs(cell))
    title = re.match(r"# [^\n]*\n?", parts[0]) if parts else None  # the note goes under the title, so the title names the page
    if title:
        parts[0:1] = [title[0].rstrip("\n"), note] + ([parts[0][title.end():]] if parts[0][title.end():].strip() else [])
    else:
        parts.insert(0, note)
    return "\n\n".join(parts) + "\n"


def page_name(path: Path) -> str:
    return f"notebook-{path.stem}.md"


def index_markdown() -> str:
    readme = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    readme = re.sub(r"`(\d\d-[\w-]+)\.ipynb`", lambda m: f"[`{m[1]}.ipynb`](notebook-{m[1]}.md)", readme)
    return readme.replace("# The course:", "# Notebooks: the course,", 1)


def on_files(files, config):
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    start = time.perf_counter()
    executed = execute_all(paths)
    log.info(f"ran the {len(paths)} notebooks for their outputs in {time.perf_counter() - start:.0f} s")
    for path, nb in zip(paths, executed):
        files.append(File.generated(config, page_name(path), content=notebook_markdown(path, nb)))
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
