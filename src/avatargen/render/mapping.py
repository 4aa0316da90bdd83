"""Mapping files: from a data set's attribute names and values to python_avatars parts.

A mapping is a YAML file (see ``mappings/english.yaml``)::

    format_version: 1
    name: english
    defaults: {mouth: smile, eyes: default}      # parts the data does not set
    attributes:
      hairstyle:                                 # attribute name in the data
        part: top                                # the part its values set
        values: {short_flat: short_flat, none: no_hair}
      hair_color:
        part: hair_color
        values: {black: black, none: null}       # null: keep the default

A value may also map to several parts at once (``{top: no_hair, facial_hair: none}``). Names are compared
after Unicode NFC normalisation, trimming and case folding. Facial hair takes the hair colour unless the
file sets ``facial_hair_color``.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from avatargen.choices import BUILTIN_MAPPINGS
from avatargen.render.vocabulary import BASE_DEFAULTS, PARTS, PartValue
from sharedcore.errors import UserError
from sharedcore.structured import read_yaml

FORMAT_VERSION = 1
BUILTIN_NAMES = BUILTIN_MAPPINGS


def normalise(name: object) -> str:
    """The form names are matched in: NFC, trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(unicodedata.normalize("NFC", str(name)).split()).casefold()


@dataclass(frozen=True)
class AttributeMap:
    """How one data attribute sets parts: ``values[normalised value] -> {part: resolved value}``."""

    name: str
    part: str
    values: dict[str, dict[str, PartValue]]
    labels: dict[str, str] = field(default_factory=dict)  # normalised value -> value as written


@dataclass(frozen=True)
class StyleMapping:
    """A validated mapping file. ``defaults`` holds every part (file defaults over built-in ones)."""

    name: str
    source: str
    description: str
    attributes: dict[str, AttributeMap]
    defaults: dict[str, PartValue]
    file_defaults: dict[str, str]

    def attribute(self, name: str) -> AttributeMap:
        """The map of attribute ``name``; UserError naming this file when it has none."""
        am = self.attributes.get(normalise(name))
        if am is None:
            known = ", ".join(a.name for a in self.attributes.values())
            raise UserError(
                f"{self.source}: attribute '{name}' is not in this mapping (it maps: {known}); "
                "add it to the mapping file or pass --mapping FILE with one that has it"
            )
        return am

    def parts_for(self, style: Mapping[str, Any]) -> dict[str, PartValue]:
        """python_avatars keyword arguments for one style (``{attribute: value}``).

        Keys ``probability`` and ``log_probability`` are ignored. Unknown attributes or unmapped values
        raise a UserError naming the attribute, the value and this mapping file.
        """
        parts = dict(self.defaults)
        explicit: set[str] = set()
        for key, value in style.items():
            if key in ("probability", "log_probability"):
                continue
            am = self.attribute(str(key))
            chosen = am.values.get(normalise(value))
            if chosen is None:
                raise self._unmapped(am, value)
            parts.update(chosen)
            explicit.update(chosen)
        if "facial_hair_color" not in explicit and "facial_hair_color" not in self.file_defaults:
            parts["facial_hair_color"] = parts["hair_color"]
        return parts

    def check(self, values: Mapping[str, Iterable[str]]) -> None:
        """Raise a UserError for the first attribute or value of ``values`` this mapping cannot draw."""
        for attr, vals in values.items():
            am = self.attribute(attr)
            for v in vals:
                if normalise(v) not in am.values:
                    raise self._unmapped(am, v)

    def _unmapped(self, am: AttributeMap, value: object) -> UserError:
        return UserError(
            f"{self.source}: attribute '{am.name}': value '{value}' is not mapped to any "
            f"{am.part}; add it under attributes -> {am.name} -> values in the mapping file"
        )

    def missing(self, values: Mapping[str, Iterable[str]]) -> list[str]:
        """What of ``values`` this mapping lacks, as ``attr`` or ``attr=value`` strings (empty: covers all)."""
        out: list[str] = []
        for attr, vals in values.items():
            am = self.attributes.get(normalise(attr))
            if am is None:
                out.append(str(attr))
                continue
            out += [f"{attr}={v}" for v in vals if normalise(v) not in am.values]
        return out

    def rows(self) -> list[dict[str, str]]:
        """One row per mapped value: attribute, value, and the parts it sets (``part=value`` list)."""
        out = []
        for am in self.attributes.values():
            for key, label in am.labels.items():
                parts = am.values[key]
                drawn = ", ".join(f"{p}={part_label(v)}" for p, v in parts.items()) or "(default)"
                out.append({"attribute": am.name, "value": label, "parts": drawn})
        return out

    def unset_parts(self) -> dict[str, str]:
        """Parts no attribute of this mapping sets, with the value they are drawn with (for captions)."""
        set_by_data = {am.part for am in self.attributes.values()}
        set_by_data |= {p for am in self.attributes.values() for vals in am.values.values() for p in vals}
        out = {}
        for part in PARTS:
            if part in set_by_data or part in ("background_color", "hat_color", "shirt_graphic"):
                continue
            if part == "facial_hair_color" and part not in self.file_defaults:
                out[part] = "same as hair"
                continue
            out[part] = part_label(self.defaults[part])
        return out


def part_label(value: PartValue) -> str:
    """A part value as written in mapping files (lowercase member name, or the hex colour)."""
    return value if isinstance(value, str) else value.name.lower()


def _resolve(source: str, where: str, part: str, value: object) -> PartValue:
    spec = PARTS.get(part)
    if spec is None:
        raise UserError(f"{source}: {where}: unknown part '{part}'; use one of: {', '.join(PARTS)}")
    resolved = spec.resolve(str(value)) if isinstance(value, str) else None
    if resolved is None:
        hint = " or a #RRGGBB colour" if spec.colour else ""
        names = spec.names()
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise UserError(
            f"{source}: {where}: '{value}' is not a python_avatars {part}; use one of: {shown}{hint}"
        )
    return resolved


def parse_mapping(data: object, source: str) -> StyleMapping:
    """Validate the parsed YAML ``data`` of a mapping file; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise UserError(f"{source}: not a mapping file (expected a YAML dictionary with 'attributes')")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(
            f"{source}: format_version is {version!r}, expected {FORMAT_VERSION}; "
            "write 'format_version: 1' at the top of the mapping file"
        )
    raw_defaults = data.get("defaults") or {}
    if not isinstance(raw_defaults, dict):
        raise UserError(f"{source}: 'defaults' must be a dictionary of part: value")
    defaults: dict[str, PartValue] = {
        p: _resolve("built-in", "defaults", p, v) for p, v in BASE_DEFAULTS.items()
    }
    file_defaults: dict[str, str] = {}
    for part, value in raw_defaults.items():
        defaults[str(part)] = _resolve(source, f"defaults -> {part}", str(part), value)
        file_defaults[str(part)] = str(value)
    raw_attrs = data.get("attributes")
    if not isinstance(raw_attrs, dict) or not raw_attrs:
        raise UserError(f"{source}: 'attributes' is missing or empty; map at least one attribute")
    attributes: dict[str, AttributeMap] = {}
    for attr, spec in raw_attrs.items():
        where = f"attributes -> {attr}"
        if not isinstance(spec, dict) or "part" not in spec or not isinstance(spec.get("values"), dict):
            raise UserError(f"{source}: {where}: needs 'part: <part>' and a 'values:' dictionary")
        part = str(spec["part"])
        if part not in PARTS:
            raise UserError(f"{source}: {where}: unknown part '{part}'; use one of: {', '.join(PARTS)}")
        key = normalise(attr)
        if key in attributes:
            raise UserError(f"{source}: {where}: attribute listed twice (names are compared case-blind)")
        values: dict[str, dict[str, PartValue]] = {}
        labels: dict[str, str] = {}
        for value, target in spec["values"].items():
            vwhere = f"{where} -> values -> {value}"
            vkey = normalise(value)
            if vkey in values:
                raise UserError(f"{source}: {vwhere}: value listed twice (names are compared case-blind)")
            if target is None:
                chosen: dict[str, PartValue] = {}
            elif isinstance(target, dict):
                chosen = {str(p): _resolve(source, vwhere, str(p), v) for p, v in target.items()}
            else:
                chosen = {part: _resolve(source, vwhere, part, target)}
            values[vkey] = chosen
            labels[vkey] = str(value)
        attributes[key] = AttributeMap(name=str(attr), part=part, values=values, labels=labels)
    return StyleMapping(
        name=str(data.get("name") or Path(source).stem),
        source=source,
        description=str(data.get("description") or ""),
        attributes=attributes,
        defaults=defaults,
        file_defaults=file_defaults,
    )


def builtin_path(name: str) -> Path:
    """Path of the built-in mapping ``name`` (``english`` or ``course_ru``)."""
    ref = resources.files("avatargen.render") / "mappings" / f"{name}.yaml"
    return Path(str(ref))


def load_mapping(spec: str | os.PathLike[str]) -> StyleMapping:
    """Load a mapping: a built-in name (``english``, ``course_ru``; parsed once) or a YAML file path."""
    text_spec = str(spec)
    if text_spec in BUILTIN_NAMES:
        return _load_builtin(text_spec)
    return _load_file(Path(text_spec))


@cache
def _load_builtin(name: str) -> StyleMapping:
    return _load_file(builtin_path(name))


def _load_file(path: Path) -> StyleMapping:
    if not path.is_file():
        raise UserError(
            f"{path}: no such mapping file; give a YAML file or one of the built-in mappings: "
            f"{', '.join(BUILTIN_NAMES)}"
        )
    data = read_yaml(path)
    return parse_mapping(data, str(path))


def builtin_mappings() -> list[StyleMapping]:
    """All built-in mappings, in the order auto-detection tries them."""
    return [load_mapping(n) for n in BUILTIN_NAMES]


def detect_mapping(values: Mapping[str, Sequence[str]]) -> StyleMapping:
    """The first built-in mapping that maps every attribute and value of ``values`` ({attribute: values}).

    Raises a UserError naming what the closest built-in mapping lacks when none fits.
    """
    best: tuple[tuple[int, int], StyleMapping, list[str]] | None = None
    for m in builtin_mappings():
        miss = m.missing(values)
        if not miss:
            return m
        unknown_attrs = sum(normalise(a) not in m.attributes for a in values)
        score = (unknown_attrs, len(miss))
        if best is None or score < best[0]:
            best = (score, m, miss)
    assert best is not None
    _, m, miss = best
    more = f" (and {len(miss) - 1} more)" if len(miss) > 1 else ""
    raise UserError(
        f"no built-in mapping fits these attributes; the closest, {m.source}, lacks '{miss[0]}'{more}; "
        "write a mapping YAML for your data and pass --mapping FILE"
    )
