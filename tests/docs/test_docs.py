"""The docs stay true: cited lines hold the cited code, every snippet runs, the site builds strictly."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
CITATION = re.compile(r"^\|.*\|\s*`(?P<code>[^`]+)`\s*\|\s*`(?P<file>scratchlstm/[\w/]+\.py):(?P<line>\d+)`\s*\|\s*$")


def citations():
    for page in PAGES:
        for number, row in enumerate(page.read_text().splitlines(), start=1):
            m = CITATION.match(row)
            if m:
                yield pytest.param(m["file"], int(m["line"]), m["code"], id=f"{page.name}:{number}")


@pytest.mark.parametrize("path, line, code", list(citations()))
def test_cited_line_holds_the_cited_code(path, line, code):
    source = (ROOT / path).read_text().splitlines()
    assert code.strip() in source[line - 1], f"{path}:{line} is now {source[line - 1].strip()!r}; run python scripts/relink_docs.py"


def test_the_derivation_pages_cite_lines():
    assert len(list(citations())) >= 40


def snippets(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def required_modules(page: Path) -> list[str]:
    """The optional packages a page's snippets need, from a ``<!-- requires: keras, jax -->`` line."""
    m = re.search(r"^<!-- requires: (?P<modules>[\w., ]+) -->$", page.read_text(), flags=re.M)
    return [name.strip() for name in m["modules"].split(",")] if m else []


@pytest.mark.parametrize("page", [p for p in PAGES if snippets(p)], ids=lambda p: p.name)
def test_every_code_snippet_runs(page, tmp_path, monkeypatch):
    # found, not imported: importing keras here would fix its backend before the page chooses one
    missing = [name for name in required_modules(page) if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{page.name} needs {', '.join(missing)} (pip install -e '.[test]' installs them)")
    monkeypatch.chdir(tmp_path)
    for name in ("BTC-USD.csv", "bitcoin-daily.csv"):  # the snippets read a user's file, and the one fetch writes
        _write_example_price_file(tmp_path / name)
    namespace: dict = {"__name__": "__docs__"}
    for k, code in enumerate(snippets(page)):
        try:
            exec(compile(code, f"{page.name}[snippet {k + 1}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message names the snippet
            raise AssertionError(f"{page.name}, snippet {k + 1} failed: {exc!r}") from exc


def _write_example_price_file(path: Path) -> None:
    import numpy as np
    import pandas as pd

    close = 20000 * np.exp(np.cumsum(0.03 * np.random.default_rng(0).standard_normal(400)))
    frame = pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=400, freq="D").strftime("%Y-%m-%d"),
                          "Open": close, "High": close, "Low": close, "Close": close, "Adj Close": close, "Volume": 1})
    frame.to_csv(path, index=False)


def test_site_builds_without_warnings(site):
    """``site`` (tests/docs/conftest.py) is built with ``--strict``: a warning fails the build."""
    assert (site / "api.html").exists()  # use_directory_urls: false, so the site reads from disk

