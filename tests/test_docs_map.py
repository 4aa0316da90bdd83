"""The folder map of the architecture page (docs/architecture.md, "The folder map") names every module
and package folder under src/, so a newcomer finds any file from the docs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "architecture.md"


def _map_section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("\n## The folder map")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_module_is_named_in_the_folder_map() -> None:
    section = _map_section()
    words = set(re.findall(r"\w+", section))  # the map names a module by its file or its dotted name
    missing = [
        str(path.relative_to(REPO / "src"))
        for path in sorted((REPO / "src").rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py") and path.stem not in words
    ]
    assert missing == [], f"modules the folder map of {PAGE.name} does not name: {missing}"


def test_every_package_folder_is_named_in_the_folder_map() -> None:
    section = _map_section()
    missing = [
        str(d.relative_to(REPO / "src"))
        for d in sorted((REPO / "src").rglob("*"))
        if d.is_dir()
        and (d / "__init__.py").is_file()
        and d.parent != REPO / "src"
        and f"{d.name}/" not in section
    ]
    assert missing == [], f"package folders the folder map of {PAGE.name} does not name: {missing}"


def test_the_map_is_not_empty_and_names_a_known_module() -> None:
    """A guard against a section heading that moved: the map must hold the modules' table."""
    section = _map_section()
    assert "detector.py" in section and "styles/model.py" in section and len(section) > 2000
