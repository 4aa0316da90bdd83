"""The HTML report shell: headings, paragraphs, tables and PNG figures, written atomically."""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sharedcore.atomic import write_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:.5em;vertical-align:top}figcaption{font-size:.85em;color:#555;max-width:520px}
img{max-width:100%;border:1px solid #eee}.note{color:#555;font-size:.9em}code{background:#f6f6f6;padding:0 .2em}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class HtmlReport:
    """Build a self-contained HTML page; image paths are stored relative to the report's folder."""

    def __init__(self, title: str) -> None:
        self.title = title
        self._parts: list[str] = []
        self.images: list[str] = []  # the figures added, as given to ``image`` (posix paths)

    def heading(self, text: str, level: int = 2) -> HtmlReport:
        """Add a section heading (h2 by default)."""
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def paragraph(self, text: str, css_class: str = "") -> HtmlReport:
        """Add a paragraph of plain text (escaped)."""
        cls = f' class="{css_class}"' if css_class else ""
        self._parts.append(f"<p{cls}>{html.escape(text)}</p>")
        return self

    def table(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> HtmlReport:
        """Add a table from a list of dicts (one per row); floats shown with 4 significant digits."""
        if not rows:
            return self
        cols = list(columns) if columns else list(rows[0].keys())
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c, '')))}</td>" for c in cols) + "</tr>"
            for r in rows
        )
        self._parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return self

    def image(self, path: str | os.PathLike[str], caption: str = "", width: int | None = None) -> HtmlReport:
        """Add a figure; ``path`` should be inside (or relative to) the report's folder."""
        w = f' width="{width}"' if width else ""
        self.images.append(Path(path).as_posix())
        src = html.escape(self.images[-1])
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._parts.append(f'<figure><img src="{src}" alt="{html.escape(caption)}"{w}>{cap}</figure>')
        return self

    def raw(self, fragment: str) -> HtmlReport:
        """Add a trusted HTML fragment as is."""
        self._parts.append(fragment)
        return self

    def render(self) -> str:
        """Return the whole page as a string."""
        body = "\n".join(self._parts)
        t = html.escape(self.title)
        return (
            f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{t}</title>'
            f"<style>{_CSS}</style></head><body><h1>{t}</h1>\n{body}\n</body></html>\n"
        )

    def write(self, path: str | os.PathLike[str], force: bool = True) -> Path:
        """Write the page atomically to ``path`` (replacing an earlier report by default)."""
        return write_text(path, self.render(), force=force)
