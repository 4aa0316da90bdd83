"""Montage of the highest-scoring test normals and lowest-scoring test spills for a saved score file.

Error analysis for reporting only (uses test labels to pick the images to show).
Usage: python research/show_errors.py SCORES.npy OUT.png
"""

from __future__ import annotations

import sys

import common
import numpy as np
from PIL import Image

s = np.load(sys.argv[1])
d = common.load()
y = d["y"]
te = d["test"]
neg = np.flatnonzero(y == 0)
pos = np.flatnonzero(y == 1)
top_n = neg[np.argsort(-s[neg])[:32]]
low_p = pos[np.argsort(s[pos])[:8]]
print("top normals", np.round(s[top_n], 2))
print("low spills", np.round(s[low_p], 2))
a = te[np.r_[top_n, low_p]]
cols = 8
h, w = a.shape[1:3]
rows = (len(a) + cols - 1) // cols
g = np.full((rows * (h + 2), cols * (w + 2), 3), 255, np.uint8)
for i in range(len(a)):
    r, c = divmod(i, cols)
    g[r * (h + 2) : r * (h + 2) + h, c * (w + 2) : c * (w + 2) + w] = a[i]
Image.fromarray(g).resize((g.shape[1] * 3, g.shape[0] * 3), Image.Resampling.NEAREST).save(sys.argv[2])
