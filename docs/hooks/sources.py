"""Link every ``file:line`` citation of the docs to the cited line of a rendered source page.

A citation is inline code such as ``scratchlstm/nn/lstm.py:107``. For every cited file this hook
renders the file once, with numbered lines, as ``src/<path>.html`` (Pygments, at build time, so the
page matches the code the site was built from), and wraps each citation in a link to
``src/<path>.html#L-<line>``. Pages sit at the site's top level (``use_directory_urls: false``), so
the link is relative and works from disk.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).parents[2]
CITATION = re.compile(r"<code>(?P<path>scratchlstm/[\w/]+\.py):(?P<line>\d+)</code>")
CITED = re.compile(r"`(scratchlstm/[\w/]+\.py):\d+`")


def source_page(path: str) -> str:
    """``path`` as a standalone HTML page: numbered lines, each with the id ``L-<number>``."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(linenos="inline", lineanchors="L", anchorlinenos=True, full=True, title=path,
                              cssstyles="font-size: 0.9em", style="default")
    html = highlight((ROOT / path).read_text(encoding="utf-8"), PythonLexer(), formatter)
    # a cited line is the target of the link: mark it where the reader lands
    html = html.replace("charset=None", "charset=utf-8", 1)
    return html.replace("</style>", "a[id]:target + a > .linenos { background: #ffe066; }\n</style>", 1)


def on_files(files, config):
    cited = set()
    for page in Path(config["docs_dir"]).glob("*.md"):
        cited.update(CITED.findall(page.read_text(encoding="utf-8")))
    for path in sorted(cited):
        files.append(File.generated(config, f"src/{path}.html", content=source_page(path)))
    return files


def on_page_content(html, page, config, files):
    def link(m: re.Match) -> str:
        return f'<a href="src/{m["path"]}.html#L-{m["line"]}">{m[0]}</a>'

    return CITATION.sub(link, html)
