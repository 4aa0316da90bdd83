"""Checks of numbers a user gives (options, config fields, counts in files), shared by both tools.

Each check returns the value (as int or float) or raises a one-line UserError that names the
option or field, the value, the allowed range and the fix, e.g.
``--seed: -1 is out of range; use an integer from 0 to 4294967295``. Booleans and strings are not
numbers here (``epochs: "many"`` and ``epochs: true`` are refused); NaN and infinities are refused
wherever a finite number is meant.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from sharedcore.errors import UserError

#: Seeds accepted everywhere (numpy, torch, Python's random): 0 .. 2**32-1.
SEED_MAX = 2**32 - 1
#: Largest count (and sum of counts) kept exact in float64 and far from int64 wrap-around.
COUNT_MAX = 2**53
#: Default pixel budget of one image side x side (64 Mpx, 256 MB as RGBA uint8).
PIXELS_MAX = 64 * 1024 * 1024


def _shown(value: Any) -> str:
    """The value as the user would recognise it, cut to a readable length."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def _fail(name: str, value: Any, problem: str, allowed: str, fix: str | None) -> UserError:
    tail = f" ({fix})" if fix else ""
    return UserError(f"{name}: {_shown(value)} {problem}; use {allowed}{tail}")


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool, what: str) -> str:
    if low is not None and high is not None and not low_open and not high_open:
        return f"{what} from {_num(low)} to {_num(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {_num(low)}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {_num(high)}")
    return f"{what} " + " and ".join(parts) if parts else what


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}" if isinstance(x, float) else str(x)


def check_float(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    fix: str | None = None,
) -> float:
    """A finite real number in [low, high] (open ends with ``low_open``/``high_open``); returns a float."""
    allowed = _range_text(low, high, low_open, high_open, "a finite number")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, value, "is not a number", allowed, fix)
    try:
        x = float(value)
    except OverflowError:
        raise _fail(name, value, "is too large", allowed, fix) from None
    if not math.isfinite(x):
        raise _fail(name, value, "is not a finite number", allowed, fix)
    if (low is not None and (x < low or (low_open and x == low))) or (
        high is not None and (x > high or (high_open and x == high))
    ):
        raise _fail(name, value, "is out of range", allowed, fix)
    return x


def check_int(
    value: Any,
    name: str,
    low: int | None = None,
    high: int | None = None,
    *,
    fix: str | None = None,
) -> int:
    """A whole number in [low, high]; an integral float (``5.0``, ``1e3``) is accepted; returns an int."""
    allowed = _range_text(low, high, False, False, "an integer")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, value, "is not an integer", allowed, fix)
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        x = float(value)
        if not math.isfinite(x):
            raise _fail(name, value, "is not a finite number", allowed, fix)
        if not x.is_integer():
            raise _fail(name, value, "is not a whole number", allowed, fix)
        n = int(x)
    if (low is not None and n < low) or (high is not None and n > high):
        raise _fail(name, value, "is out of range", allowed, fix)
    return n


def check_seed(value: Any, name: str = "--seed") -> int:
    """A random seed: an integer from 0 to 2**32-1."""
    return check_int(value, name, 0, SEED_MAX, fix="any seed in range gives reproducible output")


def seed_option(value: int | None) -> int | None:
    """Typer callback for ``--seed`` options: ``typer.Option(0, "--seed", callback=seed_option)``."""
    return None if value is None else check_seed(value, "--seed")


def check_probability(value: Any, name: str, *, open_ends: bool = False, fix: str | None = None) -> float:
    """A probability in [0, 1] (in (0, 1) with ``open_ends``)."""
    return check_float(value, name, 0.0, 1.0, low_open=open_ends, high_open=open_ends, fix=fix)


def check_counts(
    counts: Mapping[str, Any] | Sequence[Any], name: str, *, total_max: int = COUNT_MAX
) -> list[int]:
    """Non-negative whole counts whose sum stays <= ``total_max`` (no overflow, no int64 wrap).

    ``counts`` is a list, or a mapping of value name -> count (errors then name the value).
    """
    items = counts.items() if isinstance(counts, Mapping) else enumerate(counts)
    out: list[int] = []
    total = 0
    for key, v in items:
        label = f"{name}, value '{key}'" if isinstance(counts, Mapping) else f"{name}[{key}]"
        n = check_int(v, label, 0, total_max, fix="a count of how many times it was seen")
        total += n
        if total > total_max:
            raise UserError(
                f"{name}: the counts add up to more than {total_max} (2**53); use counts whose total is "
                "at most that (divide them all by a common factor)"
            )
        out.append(n)
    return out


def check_size(
    width: Any,
    height: Any,
    name: str,
    *,
    min_side: int = 1,
    max_side: int = 16384,
    max_pixels: int = PIXELS_MAX,
) -> tuple[int, int]:
    """An image size (width, height) in pixels: each side in [min_side, max_side] and
    width x height within the pixel budget ``max_pixels``. Returns (width, height) as ints."""
    w = check_int(width, f"{name} width", min_side, max_side)
    h = check_int(height, f"{name} height", min_side, max_side)
    if w * h > max_pixels:
        raise UserError(
            f"{name}: {w}x{h} is {w * h} pixels, over the budget of {max_pixels}; "
            "use a smaller size (fewer pixels)"
        )
    return w, h
