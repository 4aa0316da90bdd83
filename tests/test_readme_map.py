"""README "Development" maps the tree: every module and package folder under src/ is named there."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _development_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Development")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_module_is_named_in_the_development_map() -> None:
    section = _development_section()
    words = set(re.findall(r"\w+", section))  # the map names a module by its file or its dotted name
    missing = [
        str(path.relative_to(REPO / "src"))
        for path in sorted((REPO / "src").rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py") and path.stem not in words
    ]
    assert missing == [], f"modules the README Development map does not name: {missing}"


def test_every_package_folder_is_named_in_the_development_map() -> None:
    section = _development_section()
    missing = [
        str(d.relative_to(REPO / "src"))
        for d in sorted((REPO / "src").rglob("*"))
        if d.is_dir()
        and (d / "__init__.py").is_file()
        and d.parent != REPO / "src"
        and f"{d.name}/" not in section
    ]
    assert missing == [], f"package folders the README Development map does not name: {missing}"
