r"""Render the pages' TeX as MathML when the site is built: equations need no script and no network.

``pymdownx.arithmatex`` (generic mode) finds the math in the Markdown, skipping code, and leaves it
as ``<span class="arithmatex">\(...\)</span>`` (inline) or ``<div class="arithmatex">\[...\]</div>``
(display). This hook turns each into MathML with ``latex2mathml``; browsers draw MathML themselves.
A formula that cannot be converted stops the build with the page and the formula named, and so does
a command ``latex2mathml`` does not know (it would copy ``\foo`` into the page as text).

``latex2mathml``'s output is repaired where these pages showed it drawn wrong in a browser:

- ``\mathrel{+}=`` comes out as an ``<mo>`` holding an ``<mrow>`` (not valid MathML, drawn as
  "+ =" with a gap); it becomes one operator ``+=``, as TeX sets two adjacent relations with no space.
- ``\texttt{dh\_next}`` keeps the TeX escape (``dh\_next``); the backslash is removed.
- ``\tanh'`` puts the prime in a superscript, where browsers draw it tiny and far up; math fonts
  already place the prime glyph high, so it follows its base unscripted (as MathJax draws it).
- ``\operatorname{diag}`` becomes an operator ``<mo>``, spaced like ``+`` ("diag (1 - h)"); it
  becomes a name ``<mi>``, like ``\tanh``.
- ``\log p`` and ``\tanh^2 c`` come out with the name touching its neighbour ("logp"); TeX puts a
  thin space between a function name and a symbol (not a bracket or an operator), and so does this hook.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

NS = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", NS)
MO, MI, MTEXT, MSUP, MROW, MSPACE = (f"{{{NS}}}{tag}" for tag in ("mo", "mi", "mtext", "msup", "mrow", "mspace"))
SCRIPTED = {f"{{{NS}}}{tag}" for tag in ("msub", "msup", "msubsup")}
ROWS = {f"{{{NS}}}{tag}" for tag in ("math", "mrow")}
SPACED = {MO, MSPACE}  # operators bring their own space
ARITHMATEX = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.S)
RELATIONS = {"=", "<", ">", "\u2264", "\u2265", "\u2248", "\u2260"}
PRIMES = {"\u2032", "\u2033", "\u2034"}
TEX_ESCAPE = re.compile(r"\\([_&%#${}])")
THIN_SPACE = "0.1667em"


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One formula, without its delimiters, as a ``<math>`` element."""
    root = ET.fromstring(convert(tex, display="block" if display else "inline"))
    for element in list(root.iter()):
        if element.tag == MO and len(element):
            _flatten_grouped_operator(element, root)
        elif element.tag == MO and _is_name(element.text):
            element.tag = MI
        elif element.tag == MSUP:
            _unscript_prime(element)
        elif element.tag == MTEXT:
            element.text = TEX_ESCAPE.sub(r"\1", element.text or "")
    for element in list(root.iter()):
        _space_around_function_names(element)
    unknown = [element.text for element in root.iter() if "\\" in (element.text or "")]
    if unknown:
        raise ValueError(f"latex2mathml does not know {', '.join(unknown)}")
    return ET.tostring(root, encoding="unicode")


def _is_name(text: str | None) -> bool:
    return bool(text) and len(text) > 1 and text.isalpha()


def _parent(root: ET.Element, child: ET.Element) -> ET.Element:
    return next(p for p in root.iter() if child in list(p))


def _flatten_grouped_operator(mo: ET.Element, root: ET.Element) -> None:
    mo.text = "".join(mo.itertext())
    for inner in list(mo):
        mo.remove(inner)
    siblings = list(parent := _parent(root, mo))
    after = siblings[siblings.index(mo) + 1 :]
    if after and after[0].tag == MO and (after[0].text or "") in RELATIONS:
        mo.text += after[0].text
        parent.remove(after[0])


def _unscript_prime(msup: ET.Element) -> None:
    _, script = list(msup)
    if len(script) or (script.text or "") not in PRIMES:
        return
    msup.tag = MROW
    msup.remove(script)
    prime = ET.SubElement(msup, MO, {"lspace": "0", "rspace": "0"})
    prime.text = script.text


def _space_around_function_names(parent: ET.Element) -> None:
    if parent.tag not in ROWS:  # a script or an accent has a fixed number of children
        return
    children = list(parent)
    for k in range(len(children) - 1, 0, -1):
        left, right = children[k - 1], children[k]
        if (_is_function(left) and right.tag not in SPACED) or (_is_function(right) and left.tag not in SPACED):
            parent.insert(k, ET.Element(MSPACE, {"width": THIN_SPACE}))


def _is_function(element: ET.Element) -> bool:
    """``\\log``, ``\\tanh^2``: a name, alone or carrying scripts."""
    core = element[0] if element.tag in SCRIPTED and len(element) else element
    return core.tag == MI and _is_name(core.text)


def on_page_content(html_text: str, page, config, files) -> str:
    def render(match: re.Match) -> str:
        tex = html.unescape(match["tex"]).strip()  # arithmatex escaped <, > and &
        try:
            return tex_to_mathml(tex[2:-2], display=tex.startswith("\\["))
        except Exception as exc:
            raise PluginError(f"{page.file.src_path}: cannot render the formula {tex!r} as MathML "
                              f"({type(exc).__name__}: {exc}); rewrite it with TeX commands that latex2mathml knows") from exc

    return ARITHMATEX.sub(render, html_text)
