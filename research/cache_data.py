"""Decode the real spills data once into uint8 arrays (N, H, W, 3) cached under /tmp/spillx.

Usage: python research/cache_data.py [H W]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path("/work/shared/data/spills")
OUT = Path("/tmp/spillx")


def load(paths: list[Path], h: int, w: int) -> np.ndarray:
    arr = np.empty((len(paths), h, w, 3), np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            arr[i] = np.asarray(im.convert("RGB").resize((w, h), Image.Resampling.BILINEAR))
    return arr


def main() -> None:
    h, w = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (32, 64)
    OUT.mkdir(parents=True, exist_ok=True)
    train = sorted((ROOT / "train").glob("*.jpg"))
    proliv = sorted((ROOT / "proliv").glob("*.jpg"))
    rows = [ln.split() for ln in (ROOT / "test/test_annotation.txt").read_text().splitlines() if ln.strip()]
    test = [ROOT / "test/imgs" / r[0] for r in rows]
    ytest = np.array([int(r[1]) for r in rows])
    sizes = {}
    for name, ps in (("train", train), ("proliv", proliv), ("test", test)):
        sizes[name] = np.array([Image.open(p).size for p in ps])
        np.save(OUT / f"{name}_{h}x{w}.npy", load(ps, h, w))
        np.save(OUT / f"{name}_sizes.npy", sizes[name])
    np.save(OUT / "test_y.npy", ytest)
    print({k: (len(v), v.min(0), v.max(0)) for k, v in sizes.items()}, ytest.sum())


if __name__ == "__main__":
    main()
