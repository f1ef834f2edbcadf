"""The built site reads offline: equations are MathML made at build time, no page loads anything from
the network, links between pages work from disk, and the API page shows no reStructuredText."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MATH_PAGES = ["lstm.html", "rnn-gru.html", "forecasting.html", "vanishing.html", "notebook-01-cell-by-hand.html"]
TEX_COMMANDS = [r"\bar", r"\mathrel", r"\odot", r"\texttt", r"\operatorname", r"\prod", r"\lVert", r"\sigma", r"\tanh"]
REST_ROLES = re.compile(r":(func|class|mod|meth|data|attr):")


class _Page(HTMLParser):
    """The text a reader sees (not inside script, style or code) and every src/href."""

    HIDDEN = {"script", "style", "code", "pre"}

    def __init__(self, text: str):
        super().__init__()
        self.visible: list[str] = []
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.links: list[str] = []
        self.math = 0
        self._hidden = 0
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.HIDDEN:
            self._hidden += 1
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.stylesheets.append(attrs.get("href", ""))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "math":
            self.math += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.visible.append(data)


def _page(site: Path, name: str) -> _Page:
    return _Page((site / name).read_text(encoding="utf-8"))


def test_no_page_loads_a_script_or_stylesheet_from_the_network(site):
    for path in sorted(site.glob("*.html")):
        page = _Page(path.read_text(encoding="utf-8"))
        remote = [src for src in page.scripts + page.stylesheets if re.match(r"(https?:)?//", src)]
        assert not remote, f"{path.name} loads {remote}"


@pytest.mark.parametrize("name", MATH_PAGES)
def test_math_is_mathml_and_no_tex_is_left_visible(site, name):
    page = _page(site, name)
    text = "".join(page.visible)
    assert page.math > 0, f"{name} has no <math> element"
    assert 'class="arithmatex"' not in (site / name).read_text(encoding="utf-8")
    left = [command for command in TEX_COMMANDS + [r"\(", r"\[", "$"] if command in text]
    assert not left, f"{name} shows raw TeX: {left}"


def test_every_formula_of_the_lstm_page_is_rendered(site):
    lstm = (ROOT / "docs" / "lstm.md").read_text()
    written = len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+\$", lstm))
    assert _page(site, "lstm.html").math == written >= 60


def test_the_cell_state_update_renders_as_one_operator(site):
    html = (site / "lstm.html").read_text(encoding="utf-8")
    # \bar c_t \mathrel{+}= \bar h_t \odot o \odot (1 - \tanh^2 c_t): "+=" drawn as one relation
    assert "<mo>+=</mo>" in html
    assert '<mtext mathvariant="monospace">dh_next</mtext>' in html


def test_links_between_pages_work_from_disk(site):
    """Opened as file://, a link to a folder shows a listing, so every page link names an .html file."""
    for path in sorted(site.glob("*.html")):
        if path.name == "404.html":  # served by a web server at any depth; its links are absolute
            continue
        for href in _page(site, path.name).links:
            if re.match(r"[a-z]+:|#", href):
                continue
            target = (site / href.split("#")[0]).resolve()
            assert target.is_file(), f"{path.name} links to {href}, which is not a file of the site"
            fragment = href.partition("#")[2]
            if fragment and target.suffix == ".html":  # a section of another page: its heading must have that id
                ids = set(re.findall(r'\sid="([^"]+)"', target.read_text(encoding="utf-8")))
                assert fragment in ids, f"{path.name} links to {href}, but {target.name} has no element with id {fragment!r}"


def test_api_page_has_no_restructuredtext_roles(site):
    roles = sorted(set(REST_ROLES.findall((site / "api.html").read_text(encoding="utf-8"))))
    assert not roles, f"the API page shows reStructuredText roles: {roles}; write names in double backticks"


def test_api_page_has_no_restructuredtext_tables(site):
    """A reStructuredText simple table (rows of ``=====``) renders as one paragraph of its text."""
    rules = re.findall(r"={5,}(?:\s+={5,})+", (site / "api.html").read_text(encoding="utf-8"))
    assert not rules, f"the API page shows a reStructuredText table ({rules[0][:40]}...); write it as a Markdown table"


def _hook():
    spec = importlib.util.spec_from_file_location("mathml_hook", ROOT / "docs" / "hooks" / "mathml.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("tex, expected, absent", [
    (r"\bar c_t \mathrel{+}= \bar h_t", "<mo>+=</mo>", "<mo><mrow>"),
    (r"\texttt{dh\_next}", ">dh_next</mtext>", "\\_"),
    (r"\tanh' = 1 - \tanh^2", '<mi>tanh</mi><mo lspace="0" rspace="0">\u2032</mo>', "<msup><mi>tanh</mi><mi>\u2032"),
    (r"\operatorname{diag}(1-h^2) W_h^\top", "<mi>diag</mi><mo", "<mo>diag</mo>"),
    (r"r_s = \log p_s", '<mi>log</mi><mspace width="0.1667em" /><msub><mi>p</mi>', "<mi>log</mi><msub>"),
])
def test_hook_repairs_what_latex2mathml_draws_wrong(tex, expected, absent):
    pytest.importorskip("latex2mathml")
    mathml = _hook().tex_to_mathml(tex)
    assert expected in mathml and absent not in mathml, mathml


@pytest.mark.parametrize("tex, problem", [(r"x^", "MissingSuperScript"), (r"\notacommand x", r"does not know \\notacommand")])
def test_hook_stops_the_build_on_a_formula_it_cannot_convert(tex, problem):
    pytest.importorskip("latex2mathml")
    from mkdocs.exceptions import PluginError

    class Page:
        class file:
            src_path = "broken.md"

    with pytest.raises(PluginError, match=rf"broken\.md: cannot render the formula .*{problem}"):
        _hook().on_page_content(rf'<p><span class="arithmatex">\({tex}\)</span></p>', Page, None, None)


# an id that ``querySelector("#" + id)`` accepts without escaping: "#3-x" throws (a digit cannot start an
# identifier); the API page's dotted ids ("#scratchlstm.nn.lstm") parse (as an id and classes) and do not throw
CSS_ID = re.compile(r"-?[A-Za-z_][\w.-]*")


def test_no_id_or_fragment_makes_the_theme_script_throw(site):
    """The theme's script selects headings by ``#id``; an id that starts with a digit makes it throw,
    and then the page's tables lose their style and the sidebar its highlight."""
    for path in sorted(site.glob("*.html")):
        html = path.read_text(encoding="utf-8")
        ids = re.findall(r'\sid="([^"]*)"', html)
        bad = [i for i in ids if not CSS_ID.fullmatch(i)]
        assert not bad, f"{path.name} has ids a CSS selector cannot name: {bad[:5]}"
        fragments = re.findall(r'href="#([^"]+)"', html)
        bad = [f for f in fragments if not CSS_ID.fullmatch(f) or f not in ids]
        assert not bad, f"{path.name} links to fragments that are not valid ids of the page: {bad[:5]}"


def test_numbered_headings_get_ids_that_start_with_a_letter(site):
    html = (site / "forecasting.html").read_text(encoding="utf-8")
    assert 'id="section-3-no-leakage"' in html and 'id="3-no-leakage"' not in html


# ----------------------------------------------------------------------------------------------
# the API page: the public API, one section per module, and docstrings that render as written


def _api_object(site: Path, path: str) -> str:
    """The HTML of one object's entry on the API page, from its heading to the next heading."""
    html = (site / "api.html").read_text(encoding="utf-8")
    start = html.index(f'id="{path}"')
    end = html.find('class="doc doc-heading"', html.index(">", start))
    return html[start:end if end > 0 else len(html)]


def _api_rows(entry: str, section: str) -> list[list[str]]:
    """The rows of a docstring section's table ("Parameters", "Returns"), each as its cells' text."""
    block = entry[entry.index(f"{section}:"):]
    block = block[:block.index("</table>")]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r'<tr class="doc-section-item">(.*?)</tr>', block, flags=re.S)]


def _api_modules() -> dict[str, list[str]]:
    """The modules docs/api.md documents, each with the members it lists."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    return {m["module"]: [name.strip() for name in m["members"].split(",")]
            for m in re.finditer(r"^::: (?P<module>[\w.]+)\n    options:\n      members: \[(?P<members>[^\]]*)\]", text, flags=re.M)}


def test_api_page_documents_every_public_name_under_the_module_that_defines_it():
    import importlib
    import inspect

    modules = _api_modules()
    listed = {(module, name) for module, names in modules.items() for name in names}
    for package in ("scratchlstm", "scratchlstm.nn", "scratchlstm.forecast", "scratchlstm.data", "scratchlstm.interop",
                    "scratchlstm.checkpoint", "scratchlstm.nn.model"):
        mod = importlib.import_module(package)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert (obj.__module__, name) in listed, f"{package}.{name} (defined in {obj.__module__}) is not on the API page"
    for module, names in modules.items():
        mod = importlib.import_module(module)
        for name in names:
            assert not name.startswith("_") and hasattr(mod, name), f"the API page lists {module}.{name}"


def test_api_page_has_one_section_per_module_headed_by_its_name(site):
    html = (site / "api.html").read_text(encoding="utf-8")
    for module in _api_modules():
        assert re.search(rf'<h3 id="{re.escape(module)}" class="doc doc-heading">', html), f"no section headed {module}"
    assert "scratchlstm.nn.kernels" not in html and "scratchlstm.nn.shapes" not in html  # insides are left out


def test_api_lstm_forward_returns_three_named_values_and_no_prose_rows(site):
    rows = _api_rows(_api_object(site, "scratchlstm.nn.lstm.lstm_forward"), "Returns")
    assert [row[0] for row in rows] == ["hs", "final", "cache"], rows
    assert "DtypeError" in _api_object(site, "scratchlstm.nn.lstm.lstm_forward")  # said once, in the prose above


def test_api_lstm_gradcheck_types_its_arrays_and_makes_the_states_optional(site):
    rows = {row[0]: row for row in _api_rows(_api_object(site, "scratchlstm.gradcheck.lstm_gradcheck"), "Parameters")}
    for name in ("x", "h0", "c0"):
        assert rows[name][1] == "array", rows[name]
    assert rows["h0"][3] == rows["c0"][3] == "None" and rows["x"][3] == "required", rows


def test_api_lstm_backward_names_each_returned_value(site):
    rows = _api_rows(_api_object(site, "scratchlstm.nn.lstm.lstm_backward"), "Returns")
    assert [row[0] for row in rows] == ["grads", "dx", "dh0", "dc0"], rows


def test_api_page_shows_no_restructuredtext_literal_markers(site):
    text = "".join(_page(site, "api.html").visible)
    assert not re.search(r"\w::(\s|$)", text), re.search(r".{40}\w::(\s|$)", text)


# ----------------------------------------------------------------------------------------------
# offline reading: citations link to the source, no page scrolls sideways, search says how to work

CITED = re.compile(r"<code>(scratchlstm/[\w/]+\.py):(\d+)</code>")


def test_every_file_line_citation_links_to_the_cited_line(site):
    linked = 0
    for path in sorted(site.glob("*.html")):
        html = path.read_text(encoding="utf-8")
        for m in CITED.finditer(html):
            file, line = m[1], int(m[2])
            href = f"src/{file}.html#L-{line}"
            assert html[:m.start()].endswith(f'<a href="{href}">'), f"{path.name}: {m[0]} is not linked to {href}"
            source = (site / f"src/{file}.html").read_text(encoding="utf-8")
            assert f'id="L-{line}"' in source and f'id="L-{line + 1}"' in source or \
                len((ROOT / file).read_text().splitlines()) == line, f"{href} has no line {line}"
            linked += 1
    assert linked >= 40


def test_search_says_how_to_work_from_disk(site):
    for path in sorted(site.glob("*.html")):
        assert "python -m http.server -d site" in path.read_text(encoding="utf-8"), f"{path.name} does not say how to search"


def _headless(browser: str, url: str, width: int = 1280) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and the browser's log (console messages included)."""
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width},1000",
                           "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    return proc.stdout, proc.stderr


def test_search_finds_pages_from_disk(site):
    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium (apt-get install chromium) to run the search")
    dom, log = _headless(browser, (site / "index.html").as_uri() + "?q=forget")
    results = re.findall(r'<article><h3><a href="([^"]+)"', dom)
    assert any("lstm.html" in href for href in results), f"searching 'forget' from disk found {results}\n{log[-2000:]}"


def _chromium() -> str | None:
    import shutil

    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)), None)


_PROBE = ('<script>window.addEventListener("load", () => document.body.setAttribute("data-scroll", '
          'document.documentElement.scrollWidth + " " + document.documentElement.clientWidth));</script></body>')


WIDTHS = (800, 1280)


@pytest.fixture(scope="module")
def browsed(site) -> dict[tuple[int, str], tuple[str, str]]:
    """Every built page opened from disk in headless Chromium at each of ``WIDTHS``, once: by (width, page),
    the DOM after its scripts ran (``data-scroll`` on the body holds the document's and the window's
    widths) and the browser's log, console messages included. Two browsers at a time."""
    from concurrent.futures import ThreadPoolExecutor

    browser = _chromium()
    if browser is None:
        pytest.skip("no headless Chromium (apt-get install chromium) to open the pages")

    def open_page(width: int, path: Path) -> tuple[str, str]:
        probe = path.with_name(f"_probe_{width}_{path.name}")  # beside the page, so its relative links resolve
        probe.write_text(path.read_text(encoding="utf-8").replace("</body>", _PROBE), encoding="utf-8")
        try:
            return _headless(browser, probe.as_uri(), width)
        finally:
            probe.unlink()

    pages = [(width, path) for width in WIDTHS for path in sorted(site.glob("*.html"))]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: open_page(*job), pages))
    return {(width, path.name): result for (width, path), result in zip(pages, results)}


def test_no_page_logs_a_script_error_from_disk(browsed):
    errors = [f"{name} at {width} px: {line.split('] ', 1)[-1][:200]}" for (width, name), (_, log) in browsed.items()
              for line in log.splitlines() if ":CONSOLE" in line and re.search(r"Uncaught|Error", line)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(browsed, width):
    """Each built page in headless Chromium at ``width`` px: the document is no wider than the window."""
    wide = []
    for (at, name), (dom, _) in sorted(browsed.items()):
        if at != width:
            continue
        m = re.search(r'data-scroll="(\d+) (\d+)"', dom)
        assert m, f"{name}: the page did not load in Chromium"
        if int(m[1]) > int(m[2]):
            wide.append(f"{name} ({m[1]} px in {m[2]})")
    assert not wide, f"at {width} px these pages scroll sideways: {wide}"


def test_every_notebook_is_a_page_of_the_site_with_its_code(site):
    import json

    index = (site / "notebooks.html").read_text(encoding="utf-8")
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        page = f"notebook-{path.stem}.html"
        assert f'href="{page}"' in index, f"notebooks.html does not link {page}"
        text = "".join(_page(site, page).visible) + (site / page).read_text(encoding="utf-8")
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            first = "".join(cell["source"]).strip().splitlines()[:1]
            if cell["cell_type"] == "code" and first and re.fullmatch(r"[A-Za-z_][\w ]*= *[\w.]+\(.*", first[0]):
                name = first[0].split("=")[0].strip()
                assert name in text, f"{page} lacks the code cell that starts {first[0]!r}"
        assert f"jupyter lab notebooks/{path.name}" in text, f"{page} does not say how to run it"


def test_every_notebook_page_shows_the_outputs_of_a_run_of_the_notebook_as_committed(site):
    """The site runs each notebook when it is built: its figures and printed text are on its page, and
    each exercise's check says what a learner who has not written it yet sees."""
    import json

    from tests.docs.test_notebooks import FIGURES

    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        page = (site / f"notebook-{path.stem}.html").read_text(encoding="utf-8")
        cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        images = page.count('<img alt="output" src="data:image/png;base64,')
        assert images >= FIGURES.get(path.name[:2], 0), f"{path.name}: {images} figures on its page"
        assert "it/s]" not in page and "epoch/s]" not in page, f"{path.name}: a progress bar's first state is on its page"
        printing = sum("print(" in "".join(c["source"]) for c in cells)
        assert page.count('<pre class="notebook-output">') >= printing, f"{path.name}: cells that print show no output"
        for cell in cells:
            for tag in cell.get("metadata", {}).get("tags", []):
                if tag.startswith("check:"):
                    name = tag.split(":", 1)[1]
                    assert f"FAIL: {name} is not written yet" in page, f"{path.name}: the check of {name} shows no output"


def test_a_notebook_that_raises_stops_the_build_and_is_named(tmp_path):
    pytest.importorskip("nbclient", reason="pip install -e '.[docs]' installs nbclient")
    import nbformat
    from mkdocs.exceptions import PluginError

    spec = importlib.util.spec_from_file_location("notebooks_hook", ROOT / "docs" / "hooks" / "notebooks.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    broken = tmp_path / "09-broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ok')"),
                                                   nbformat.v4.new_code_cell("1 / 0")]), broken)
    with pytest.raises(PluginError, match=r"notebooks/09-broken\.ipynb raised(.|\n)*ZeroDivisionError"):
        hook.execute_all([broken])


def _snippet_hook():
    spec = importlib.util.spec_from_file_location("snippet_outputs", ROOT / "docs" / "hooks" / "snippet_outputs.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


def test_pages_show_what_their_snippets_printed_when_the_site_was_built(site):
    hook = _snippet_hook()
    for name in sorted(hook.PAGES):
        markdown = (ROOT / "docs" / name).read_text(encoding="utf-8")
        printing = sum("print(" in m["code"] for m in hook.SNIPPET.finditer(markdown))
        shown = (site / name.replace(".md", ".html")).read_text(encoding="utf-8").count('<pre class="snippet-output">')
        assert shown == printing, f"{name}: {printing} snippets print, {shown} outputs shown"
    exploding = (site / "exploding.html").read_text(encoding="utf-8")
    assert "clipped by norm: steps whose norm was above the limit of 1 (and so were scaled): " in exploding


def test_a_snippet_that_raises_stops_the_build_and_is_named():
    from mkdocs.exceptions import PluginError

    hook = _snippet_hook()
    markdown = "```python\nprint('one')\n```\n\ntext\n\n```python\nassert 1 + 1 == 3\n```\n"
    assert hook.with_outputs(markdown, ["one", ""]).count('<pre class="snippet-output"><code>one</code></pre>') == 1
    with pytest.raises(PluginError, match=r"docs/page\.md, snippet 2, raised"):
        hook.run_snippets("page.md", markdown)
