"""Montages of cached images for eyeballing (writes /tmp/spillx/montage_*.png)."""

from __future__ import annotations

import numpy as np
from PIL import Image

D = "/tmp/spillx"


def grid(a: np.ndarray, cols: int = 16) -> Image.Image:
    n = len(a)
    rows = (n + cols - 1) // cols
    h, w = a.shape[1:3]
    g = np.full((rows * (h + 2), cols * (w + 2), 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        g[r * (h + 2) : r * (h + 2) + h, c * (w + 2) : c * (w + 2) + w] = a[i]
    return Image.fromarray(g).resize((g.shape[1] * 2, g.shape[0] * 2), Image.Resampling.NEAREST)


tr = np.load(f"{D}/train_32x64.npy")
pr = np.load(f"{D}/proliv_32x64.npy")
te = np.load(f"{D}/test_32x64.npy")
y = np.load(f"{D}/test_y.npy")
rng = np.random.default_rng(0)
grid(tr[rng.choice(len(tr), 96, replace=False)]).save(f"{D}/montage_train.png")
grid(pr[:96]).save(f"{D}/montage_proliv.png")
grid(te[y == 1]).save(f"{D}/montage_testspill.png")
grid(te[y == 0][rng.choice((y == 0).sum(), 96, replace=False)]).save(f"{D}/montage_testnormal.png")
