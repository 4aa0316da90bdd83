"""MkDocs hook (mkdocs.yml ``hooks:``): fills the reference pages from the code at build time.

A line ``<!-- generated: NAME -->`` in a page is replaced by ``generated.GENERATORS[NAME]()``; an unknown
name fails the build. The CLI reference uses mkdocs-click, which imports ``cli_commands`` from this
folder (put on ``sys.path`` here).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _paths() -> None:
    """This folder (``generated``, ``cli_commands``) and this checkout's src/ first on ``sys.path``
    (MkDocs restores sys.path after loading a hook, so this runs again in ``on_config``)."""
    for path in (str(REPO / "src"), str(HERE)):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


_paths()
import generated  # noqa: E402  (needs the paths above)

MARK = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.MULTILINE)


def on_config(config: Any, **_: Any) -> Any:
    _paths()
    return config


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in generated.GENERATORS:
            known = ", ".join(sorted(generated.GENERATORS))
            raise KeyError(f"{page.file.src_path}: no generated section '{name}' (known: {known})")
        return generated.GENERATORS[name]()

    return MARK.sub(fill, markdown)
