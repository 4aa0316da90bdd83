"""Command-line values both tools parse the same way: ``attribute=value`` pairs (``--given``, a style
given on the command line) and image sizes (``--size``). Every mistake is one UserError line."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sharedcore.errors import UserError

SCALE_BASE = (264, 280)  # width, height that a scale such as ``2x`` multiplies: the Avataaars SVG viewBox
MIN_SIDE = 4
MAX_SIDE = 4096
_SCALE = re.compile(r"\d+(\.\d+)?x")


def parse_pairs(
    items: Iterable[str], where: str = "--given", example: str = "hairstyle=bob"
) -> dict[str, str]:
    """``["attr=value", ...]`` -> ``{attr: value}``, in the order given.

    The first ``=`` splits (a value may hold ``=``; names may hold spaces); surrounding spaces are
    trimmed. A pair without ``=``, an empty name or value, or an attribute given twice is a UserError
    that starts with ``where`` (the option or argument) and names the pair.
    """
    out: dict[str, str] = {}
    for item in items:
        attr, sep, value = item.partition("=")
        attr, value = attr.strip(), value.strip()
        if not sep:
            raise UserError(f"{where}: '{item}' is not attribute=value; write e.g. {example}")
        if not attr or not value:
            raise UserError(f"{where}: '{item}' has an empty attribute or value; write e.g. {example}")
        if attr in out:
            raise UserError(
                f"{where}: attribute '{attr}' is given twice ('{attr}={out[attr]}' and '{attr}={value}'); "
                "give it once"
            )
        out[attr] = value
    return out


def parse_size(text: str, where: str = "--size", base: tuple[int, int] = SCALE_BASE) -> tuple[int, int]:
    """(width, height) in pixels from ``WIDTHxHEIGHT`` (``528x560``; ``X`` or ``*`` also separate) or a
    scale of ``base`` (``1x``, ``2x``, ``0.5x``: of the 264x280 avatar viewBox); sides MIN_SIDE..MAX_SIDE."""
    t = text.strip().lower().replace("*", "x")
    try:
        if _SCALE.fullmatch(t):
            scale = float(t[:-1])
            size = (round(base[0] * scale), round(base[1] * scale))
        else:
            w, h = t.split("x")
            size = (int(w), int(h))
    except ValueError:
        raise UserError(
            f"{where} '{text}': expected WIDTHxHEIGHT (e.g. 528x560) or a scale of "
            f"{base[0]}x{base[1]} like 2x"
        ) from None
    if not (MIN_SIDE <= size[0] <= MAX_SIDE and MIN_SIDE <= size[1] <= MAX_SIDE):
        raise UserError(
            f"{where} '{text}' is {size[0]}x{size[1]}: each side must be {MIN_SIDE}..{MAX_SIDE} pixels"
        )
    return size


def parse_optional_size(text: str | None, where: str = "--size") -> tuple[int, int] | None:
    """``parse_size``, with None or an empty text meaning 'not given' (None)."""
    if text is None or not text.strip():
        return None
    return parse_size(text, where)
