"""Speed: replace python_avatars' "colour layer" masks by plain fills (same picture, ~no mask cost).

The Avataaars art colours a shape P by masking a canvas-sized rectangle with P::

    <mask id="m"><use xlink:href="#P"/></mask>
    <g mask="url(#m)" fill="C"><g transform="..."><rect .../></g></g>

resvg renders every mask as extra full-size layers, which is most of the time of a 2x PNG. When the
masked group holds nothing but rectangles in translated groups, the result is P filled with C, so the
group becomes ``<use xlink:href="#P" fill="C"/>``. Anything else is left as it is. The pictures stay
the same; tests compare both renderings over every built-in part.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
HREF = f"{{{XLINK_NS}}}href"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

_URL = re.compile(r"^url\(#([^)]+)\)$")
_TRANSLATE = re.compile(r"^\s*translate\(\s*[-+0-9.eE]+\s*(?:[,\s]\s*[-+0-9.eE]+\s*)?\)\s*$")
_PAINT_ATTRS = ("fill", "fill-opacity", "opacity", "stroke")


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _plain_mask_target(mask: ET.Element, ids: dict[str, ET.Element]) -> tuple[str, str] | None:
    """(href, transform) when ``mask`` is one opaque ``<use>`` of a shape without its own paint."""
    kids = list(mask)
    if len(kids) != 1 or _tag(kids[0]) != "use" or set(kids[0].attrib) - {HREF, "transform", "id"}:
        return None
    if mask.get("maskContentUnits", "userSpaceOnUse") != "userSpaceOnUse":
        return None
    if mask.get("fill", "white") not in ("white", "#FFFFFF", "#ffffff"):
        return None
    href = kids[0].get(HREF, "")
    shape = ids.get(href.lstrip("#"))
    if shape is None or _tag(shape) not in ("path", "rect", "circle", "ellipse", "polygon"):
        return None
    if any(a in shape.attrib for a in (*_PAINT_ATTRS, "transform", "style", "mask", "clip-path", "filter")):
        return None
    return href, kids[0].get("transform", "")


def _only_colour_rects(group: ET.Element) -> bool:
    """True when ``group`` holds only rectangles (unpainted), inside translated plain groups."""
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


def flatten_masks(svg: str) -> str:
    """``svg`` with every colour-layer mask replaced by a plain filled ``<use>`` (see module doc)."""
    root = ET.fromstring(svg)
    ids = {el.get("id", ""): el for el in root.iter() if el.get("id")}
    parents = {child: parent for parent in root.iter() for child in parent}
    changed = False
    for el in list(root.iter()):
        m = _URL.match(el.get("mask", ""))
        if m is None or _tag(el) != "g" or not _only_colour_rects(el):
            continue
        if set(el.attrib) - {"id", "mask", "fill", "transform", "fill-rule"}:
            continue
        mask = ids.get(m.group(1))
        target = _plain_mask_target(mask, ids) if mask is not None else None
        if target is None or "fill" not in el.attrib:
            continue
        href, use_transform = target
        transform = " ".join(t for t in (el.get("transform", ""), use_transform) if t)
        attrs = {"fill": el.attrib["fill"], HREF: href}
        if transform:
            attrs["transform"] = transform
        if "id" in el.attrib:
            attrs["id"] = el.attrib["id"]
        parent = parents[el]
        index = list(parent).index(el)
        parent.remove(el)
        new = ET.Element(f"{{{SVG_NS}}}use", attrs)
        new.tail = el.tail
        parent.insert(index, new)
        changed = True
    return ET.tostring(root, encoding="unicode") if changed else svg
