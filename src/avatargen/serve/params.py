"""The query parameters several endpoints of the avatar API share: the seed and the avatar size."""

from __future__ import annotations

from fastapi import Query

from avatargen.serve.limits import DEFAULT_SIZE, MAX_SEED

SEED = Query(0, ge=0, le=MAX_SEED, description="Random seed: the same seed and pins draw the same style.")
SIZE = Query(DEFAULT_SIZE, description="WIDTHxHEIGHT (8..1024 per side) or a scale of 264x280 (1x, 2x).")
