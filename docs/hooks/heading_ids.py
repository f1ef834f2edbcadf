"""Give every heading an id that starts with a letter, so the theme's script can select it.

The ``toc`` extension makes a heading's id from its text: "## 3. No leakage" becomes ``3-no-leakage``.
That is a valid HTML id but not a valid CSS selector (``#3-no-leakage`` starts with a digit); the
theme's script looks the id up with ``querySelector``, throws, and then neither styles the tables
nor highlights the sidebar. This hook puts ``section-`` before an id that would start with a digit
(``section-3-no-leakage``) and leaves every other id as ``toc`` makes it. The theme's own 404 page
has such an id in its template (``404-page-not-found``), changed the same way.
"""

from __future__ import annotations

import re

from markdown.extensions.toc import slugify


def heading_id(value: str, separator: str) -> str:
    """``toc``'s own slug of ``value``, with ``section-`` in front when it would start with a digit."""
    slug = slugify(value, separator)
    return f"section{separator}{slug}" if slug[:1].isdigit() else slug


def on_config(config):
    config["mdx_configs"].setdefault("toc", {})["slugify"] = heading_id
    return config


def on_post_template(output, template_name, config):
    """Templates the theme renders without Markdown (the 404 page): the same rule on their ids."""
    return re.sub(r'\bid="(\d[^"]*)"', r'id="section-\1"', output)
