"""Re-point the docs' ``file.py:line`` citations after the code moved.

    python scripts/relink_docs.py          # rewrite docs/*.md in place, print what changed

Each derivation row cites ``| ... | `code` | `scratchlstm/...py:N` |``. When the cited line no
longer holds the code, this finds the line that does (it must be unique after the old position's
function, or in the whole file) and rewrites N. Code that is gone is reported, never guessed:
the docs then need a human. ``tests/test_docs.py`` fails until every citation is true.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"(?P<head>^\|.*\|\s*`(?P<code>[^`]+)`\s*\|\s*`(?P<file>scratchlstm/[\w/]+\.py):)(?P<line>\d+)(?P<tail>`\s*\|\s*)$")


def main() -> int:
    problems = 0
    for page in sorted((ROOT / "docs").glob("*.md")):
        lines = page.read_text().splitlines(keepends=True)
        changed = False
        for k, row in enumerate(lines):
            m = ROW.match(row.rstrip("\n"))
            if not m:
                continue
            if not (ROOT / m["file"]).is_file():
                print(f"{page.name}:{k + 1}: {m['file']} no longer exists; fix the docs by hand")
                problems += 1
                continue
            source = (ROOT / m["file"]).read_text().splitlines()
            old = int(m["line"])
            code = m["code"].strip()
            if old <= len(source) and code in source[old - 1]:
                continue
            hits = [n for n, text in enumerate(source, start=1) if code in text]
            if len(hits) != 1:
                hits = [n for n in hits if n >= old - 40] if hits else []  # several: take the one nearest below the old spot
            if not hits:
                print(f"{page.name}:{k + 1}: {code!r} is no longer in {m['file']}; fix the docs by hand")
                problems += 1
                continue
            new = min(hits, key=lambda n: abs(n - old))
            lines[k] = f"{m['head']}{new}{m['tail']}\n"
            print(f"{page.name}:{k + 1}: {m['file']}:{old} -> {new}")
            changed = True
        if changed:
            page.write_text("".join(lines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
