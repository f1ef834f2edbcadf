"""Show under each Python snippet of a page what it printed when the site was built.

The pages in ``PAGES`` state numbers their snippets print ("the second line counts how few steps it
touched"); a reader of the site should see those lines, not only the code. This hook runs each
such page's ``python`` snippets in order, in one namespace, in an empty temporary folder (as
``tests/docs/test_docs.py`` runs them), and puts what each printed (standard output and error
together, as a terminal shows them) in an output block under it. A snippet that raises (an assert
of the page that no longer holds) stops the build, naming the page and the snippet.

``keras.md`` is not in ``PAGES``: its snippets need Keras and JAX, which the docs extra does not
install; the page itself shows, in the same output blocks, what they printed when it was written.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import io
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError

PAGES = {"index.md", "lstm.md", "rnn-gru.md", "tutorial.md", "vanishing.md", "exploding.md"}
SNIPPET = re.compile(r"^```python\n(?P<code>.*?)^```[ \t]*$", flags=re.S | re.M)  # the snippets test_docs.py runs
log = logging.getLogger("mkdocs.hooks.snippet_outputs")


def _as_terminal(text: str) -> str:
    """The notebooks hook's ``as_terminal`` (hooks are loaded from their files, not as a package)."""
    spec = importlib.util.spec_from_file_location("notebooks_hook", Path(__file__).with_name("notebooks.py"))
    notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notebooks)
    return notebooks.as_terminal(text)


def run_snippets(name: str, markdown: str) -> list[str]:
    """What each ``python`` snippet of ``markdown`` printed, run in order in one namespace."""
    namespace: dict = {"__name__": "__docs__"}
    printed = []
    start, here = time.perf_counter(), os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            for k, m in enumerate(SNIPPET.finditer(markdown)):
                buffer = io.StringIO()
                try:
                    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                        exec(compile(m["code"], f"{name}[snippet {k + 1}]", "exec"), namespace)
                except Exception as error:
                    raise PluginError(f"docs/{name}, snippet {k + 1}, raised when run for the site: {error!r}; "
                                      f"the page states what its code no longer does") from None
                printed.append(_as_terminal(buffer.getvalue()).strip("\n"))
        finally:
            os.chdir(here)
    log.debug(f"ran the snippets of {name} in {time.perf_counter() - start:.1f} s")
    return printed


def with_outputs(markdown: str, printed: list[str]) -> str:
    """``markdown`` with each snippet followed by its printed text (nothing under a snippet that printed nothing)."""
    outputs = iter(printed)

    def add(m: re.Match) -> str:
        text = next(outputs)
        return m[0] + (f'\n\n<pre class="snippet-output"><code>{html.escape(text)}</code></pre>\n' if text else "")

    return SNIPPET.sub(add, markdown)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri not in PAGES:
        return markdown
    import matplotlib

    matplotlib.use("Agg")  # a snippet that draws draws off screen
    return with_outputs(markdown, run_snippets(page.file.src_uri, markdown))
