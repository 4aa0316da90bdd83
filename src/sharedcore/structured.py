"""Reading JSON and YAML files with one set of checks, for every tool's data, rules, mapping and
config files: UTF-8 (a BOM is allowed), a key given twice in one mapping is refused (JSON and YAML
parsers otherwise keep the last one silently), nesting that would exhaust the parser's recursion is a
one-line error, and syntax errors name the line and column. Every problem is a UserError naming the file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sharedcore.errors import UserError


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a leading BOM dropped); UserError when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise UserError(
            f"{path}: cannot read ({exc.strerror or exc}); check the path and permissions"
        ) from None


def _json_pairs_no_duplicates(path: Path) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise UserError(
                    f"{path}: key '{k}' appears twice in the same object; keep one (merge their counts)"
                )
            out[k] = v
        return out

    return hook


def _too_deep(path: Path, kind: str) -> UserError:
    return UserError(
        f"{path}: {kind} nested too deeply (more than about {sys.getrecursionlimit()} levels); "
        "a data, rules or model file is a few levels deep, check the file"
    )


def read_json(path: Path) -> Any:
    """Parse a JSON file; syntax errors and duplicate keys become a UserError with line/column."""
    text = read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_json_pairs_no_duplicates(path))
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: line {exc.lineno}, column {exc.colno}: malformed JSON ({exc.msg}); fix the syntax"
        ) from None
    except RecursionError:  # e.g. 100,000 nested brackets: Python's parser recurses per level
        raise _too_deep(path, "JSON") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # e.g. a list as a key
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key is a list or mapping, not a name", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice in the same mapping; keep one", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return dict(loader.construct_pairs(node, deep=True))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def parse_yaml(text: str, source: str | Path) -> Any:
    """Parse YAML ``text`` (safe tags only; duplicate keys refused); UserError naming ``source``."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except RecursionError:  # PyYAML composes nested collections recursively
        raise _too_deep(Path(source), "YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise UserError(f"{source}: {pos}malformed YAML ({problem}); fix the syntax") from None


def read_yaml(path: Path) -> Any:
    """Parse a YAML file (UTF-8, safe tags only, duplicate keys refused); UserError naming the file."""
    return parse_yaml(read_text(path), path)
