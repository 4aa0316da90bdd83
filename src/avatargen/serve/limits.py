"""What one request may ask of the avatar API: seeds, avatar sizes, how many styles, the body size,
and the query parameters with a meaning of their own; a value outside them is a 422."""

from __future__ import annotations

from functools import lru_cache

from avatargen.serve.errors import ServeError
from sharedcore.cli_params import parse_size
from sharedcore.errors import UserError
from sharedcore.validate import SEED_MAX

DEFAULT_SIZE = "264x280"
MIN_SIDE, MAX_SIDE = 8, 1024  # pixels per side of a served avatar
MAX_N = 1000  # styles per /v1/sample request
MAX_K = 100  # styles per /v1/most-probable request
MAX_SEED = SEED_MAX  # the seeds every --seed option accepts, so any URL's seed works in the CLIs too
# Query parameters with a meaning of their own; every other parameter pins an attribute.
RESERVED = ("seed", "size", "n", "unique", "query", "k")
MAX_BODY = 64 * 1024  # bytes of a POST body


def check_seed(seed: int) -> None:
    """Seeds are integers 0..MAX_SEED (2**32-1, as every --seed option); others -> 422."""
    if not 0 <= seed <= MAX_SEED:
        raise ServeError(422, "bad_parameter", f"seed={seed}: give an integer 0..{MAX_SEED}")


@lru_cache(maxsize=1024)
def served_size(text: str) -> tuple[int, int]:
    """``WxH`` or a scale (``2x``) of 264x280, each side MIN_SIDE..MAX_SIDE; else 422."""
    try:
        size = parse_size(text, where="size")
    except UserError as exc:
        raise ServeError(422, "bad_size", str(exc)) from None
    if not all(MIN_SIDE <= s <= MAX_SIDE for s in size):
        raise ServeError(
            422, "bad_size", f"size '{text}': each side must be {MIN_SIDE}..{MAX_SIDE} pixels here"
        )
    return size
