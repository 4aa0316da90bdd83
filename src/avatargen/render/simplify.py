"""Speed: rewrite python_avatars SVG so resvg draws the same picture with fewer offscreen layers.

resvg renders every mask and filter into extra canvas-sized layers, which is most of the time of a
528x560 PNG. Two patterns of the Avataaars art are rewritten; anything else is left as it is:

1. Colour-layer masks. A shape P is coloured by masking a canvas-sized rectangle with P::

       <mask id="m"><use xlink:href="#P"/></mask>
       <g mask="url(#m)" fill="C"><g transform="..."><rect .../></g></g>

   When the masked group holds nothing but rectangles in translated groups, the result is P filled
   with C: the group becomes ``<use xlink:href="#P" fill="C"/>``.
2. Drop shadows: a filter that is only ``feOffset(SourceAlpha)`` + ``feColorMatrix`` to black at alpha
   k (optionally ``feMerge`` with the source graphic). The shadow is the element's own alpha, shifted
   and scaled: a copy painted black in a group with ``opacity`` k, translated by the offset, drawn
   under the element (or instead of it, without the merge).
3. Masks left that are one opaque ``<use>`` of an unpainted shape are clip paths: ``<clipPath>``
   draws the same pixels (resvg skips the luminance pass).

Tests draw every built-in part both ways and compare the pixels.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
HREF = f"{{{XLINK_NS}}}href"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

_URL = re.compile(r"^url\(#([^)]+)\)$")
_TRANSLATE = re.compile(r"^\s*translate\(\s*[-+0-9.eE]+\s*(?:[,\s]\s*[-+0-9.eE]+\s*)?\)\s*$")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PAINT_ATTRS = ("fill", "fill-opacity", "opacity", "stroke")
_SHAPES = ("path", "rect", "circle", "ellipse", "polygon", "polyline", "line")


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


class _Tree:
    """A parsed SVG with id and parent look-ups, and element replacement that keeps text tails."""

    def __init__(self, svg: str) -> None:
        self.root = ET.fromstring(svg)
        self.ids = {el.get("id", ""): el for el in self.root.iter() if el.get("id")}
        self.parents = {child: parent for parent in self.root.iter() for child in parent}

    def ref(self, value: str | None) -> ET.Element | None:
        m = _URL.match(value or "")
        return self.ids.get(m.group(1)) if m else None

    def replace(self, old: ET.Element, new: list[ET.Element]) -> None:
        parent = self.parents[old]
        index = list(parent).index(old)
        parent.remove(old)
        if new:
            new[-1].tail = old.tail
        for offset, el in enumerate(new):
            parent.insert(index + offset, el)
            self.parents[el] = parent


# ------------------------------------------------------------------------------- colour-layer masks


def _plain_mask_target(tree: _Tree, mask: ET.Element) -> tuple[str, str] | None:
    """(href, transform) when ``mask`` is one opaque ``<use>`` of a shape without its own paint."""
    kids = list(mask)
    if len(kids) != 1 or _tag(kids[0]) != "use" or set(kids[0].attrib) - {HREF, "transform", "id"}:
        return None
    if mask.get("maskContentUnits", "userSpaceOnUse") != "userSpaceOnUse":
        return None
    if mask.get("fill", "white").lower() not in ("white", "#ffffff"):
        return None
    href = kids[0].get(HREF, "")
    shape = tree.ids.get(href.lstrip("#"))
    if shape is None or _tag(shape) not in _SHAPES:
        return None
    if any(a in shape.attrib for a in (*_PAINT_ATTRS, "transform", "style", "mask", "clip-path", "filter")):
        return None
    return href, kids[0].get("transform", "")


def _only_colour_rects(group: ET.Element) -> bool:
    """True when ``group`` holds only unpainted rectangles, inside translated plain groups."""
    rects = 0
    for el in group.iter():
        if el is group:
            continue
        t = _tag(el)
        if t == "g":
            if set(el.attrib) - {"id", "transform"} or not _TRANSLATE.match(
                el.get("transform", "translate(0)")
            ):
                return False
        elif t == "rect":
            if set(el.attrib) - {"id", "x", "y", "width", "height"}:
                return False
            rects += 1
        else:
            return False
    return rects >= 1


def _flatten_masks(tree: _Tree) -> bool:
    changed = False
    for el in list(tree.root.iter()):
        if _tag(el) != "g" or "mask" not in el.attrib or "fill" not in el.attrib:
            continue
        if set(el.attrib) - {"id", "mask", "fill", "transform", "fill-rule"} or not _only_colour_rects(el):
            continue
        mask = tree.ref(el.get("mask"))
        target = _plain_mask_target(tree, mask) if mask is not None else None
        if target is None:
            continue
        href, use_transform = target
        attrs = {"fill": el.attrib["fill"], HREF: href}
        transform = " ".join(t for t in (el.get("transform", ""), use_transform) if t)
        if transform:
            attrs["transform"] = transform
        if "id" in el.attrib:
            attrs["id"] = el.attrib["id"]
        tree.replace(el, [ET.Element(f"{{{SVG_NS}}}use", attrs)])
        changed = True
    return changed


# ------------------------------------------------------------------------------------ drop shadows


def _shadow_filter(flt: ET.Element) -> tuple[float, float, float, bool] | None:
    """(dx, dy, alpha, merged) for a pure black drop-shadow filter, else None."""
    kids = list(flt)
    tags = [_tag(k) for k in kids]
    if flt.get("primitiveUnits", "userSpaceOnUse") != "userSpaceOnUse" or tags[:2] != [
        "feOffset",
        "feColorMatrix",
    ]:
        return None
    off, cm = kids[0], kids[1]
    if off.get("in") != "SourceAlpha" or cm.get("type", "matrix") != "matrix":
        return None
    if cm.get("in") not in (None, off.get("result")):
        return None
    values = [float(v) for v in _NUMBER.findall(cm.get("values", ""))]
    if len(values) != 20 or any(values[i] for i in range(20) if i != 18):
        return None
    try:
        dx, dy = float(off.get("dx", "0")), float(off.get("dy", "0"))
    except ValueError:
        return None
    if tags == ["feOffset", "feColorMatrix"]:
        return dx, dy, values[18], False
    if tags == ["feOffset", "feColorMatrix", "feMerge"]:
        nodes = [n.get("in") for n in kids[2]]
        if (
            [_tag(n) for n in kids[2]] == ["feMergeNode"] * 2
            and cm.get("result")
            and nodes
            == [
                cm.get("result"),
                "SourceGraphic",
            ]
        ):
            return dx, dy, values[18], True
    return None


def _paints_only_by_inheritance(tree: _Tree, el: ET.Element) -> bool:
    """True when every ``<use>`` under ``el`` points at elements with no paint of their own."""
    for sub in el.iter():
        if _tag(sub) == "use":
            target = tree.ids.get(sub.get(HREF, "").lstrip("#"))
            if target is None:
                return False
            for t in target.iter():
                if any(a in t.attrib for a in ("fill", "stroke", "style", "filter")):
                    return False
        if "style" in sub.attrib or (sub is not el and "filter" in sub.attrib):
            return False
    return True


def _black_copy(el: ET.Element) -> ET.Element:
    """A deep copy of ``el`` with every fill and stroke black (``none`` kept) and no ids."""
    dup = copy.deepcopy(el)
    for sub in dup.iter():
        sub.attrib.pop("id", None)
        for attr in ("fill", "stroke"):
            if attr in sub.attrib and sub.attrib[attr] != "none":
                sub.attrib[attr] = "black"
    if dup.get("fill") is None:
        dup.set("fill", "black")
    return dup


def _flatten_shadows(tree: _Tree) -> bool:
    changed = False
    for el in list(tree.root.iter()):
        flt = tree.ref(el.get("filter"))
        if flt is None or _tag(flt) != "filter" or _tag(el) not in ("g", "use", *_SHAPES):
            continue
        spec = _shadow_filter(flt)
        if spec is None or not _paints_only_by_inheritance(tree, el):
            continue
        if "transform" in el.attrib and not _TRANSLATE.match(el.get("transform", "")):
            continue  # resvg offsets shadows in device space; under a rotation that would differ
        dx, dy, alpha, merged = spec
        transform = el.get("transform", "")
        source = copy.copy(el)  # shallow: children are moved, not copied
        source.attrib.pop("filter")
        shadow_body = _black_copy(source)
        shadow_body.attrib.pop("transform", None)
        shadow_body.attrib.pop("opacity", None)
        shadow = ET.Element(
            f"{{{SVG_NS}}}g",
            {"transform": f"{transform} translate({dx:g}, {dy:g})".strip(), "opacity": f"{alpha:g}"},
        )
        shadow.append(shadow_body)
        opacity = el.get("opacity")
        if merged:
            if opacity is not None:  # the group's opacity applies to shadow and source together
                source.attrib.pop("opacity")
                outer = ET.Element(f"{{{SVG_NS}}}g", {"opacity": opacity})
                outer.extend([shadow, source])
                tree.replace(el, [outer])
            else:
                tree.replace(el, [shadow, source])
        else:
            if opacity is not None:
                shadow.set("opacity", f"{alpha * float(opacity):g}")
            tree.replace(el, [shadow])
        changed = True
    return changed


# ------------------------------------------------------------------------------ masks -> clip paths


def _masks_to_clips(tree: _Tree) -> bool:
    users: dict[str, list[ET.Element]] = {}
    for el in tree.root.iter():
        m = _URL.match(el.get("mask", ""))
        if m is not None:
            users.setdefault(m.group(1), []).append(el)
    changed = False
    for mask_id, els in users.items():
        mask = tree.ids.get(mask_id)
        if mask is None or _tag(mask) != "mask" or _plain_mask_target(tree, mask) is None:
            continue
        if any("clip-path" in el.attrib for el in els):
            continue
        clip = ET.Element(f"{{{SVG_NS}}}clipPath", {"id": mask_id})
        clip.extend(list(mask))
        tree.replace(mask, [clip])
        tree.ids[mask_id] = clip
        for el in els:
            del el.attrib["mask"]
            el.set("clip-path", f"url(#{mask_id})")
        changed = True
    return changed


def simplify_svg(svg: str) -> str:
    """``svg`` with colour-layer masks and drop-shadow filters rewritten as plain drawing (module doc)."""
    tree = _Tree(svg)
    changed = _flatten_masks(tree)
    changed = _flatten_shadows(tree) or changed
    changed = _masks_to_clips(tree) or changed
    return ET.tostring(tree.root, encoding="unicode") if changed else svg
