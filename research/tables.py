"""Print an experiment folder's comparison.json as a markdown table (for RESULTS.md / README).

Usage: python research/tables.py EXPERIMENT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

d = Path(sys.argv[1])
rows = json.loads((d / "comparison.json").read_text())
cols = ["variant", "val AUC", "test ROC AUC", "rule", "TPR", "TNR", "TPR stream", "TNR stream",
        "best TNR at TPR 0.98 (labels)", "train s", "images/s"]
print("| " + " | ".join(cols) + " |")
print("|" + "---|" * len(cols))
for r in rows:
    cells = []
    for c in cols:
        v = r[c]
        if c in ("train s", "images/s"):
            v = f"{v:.0f}"
        elif isinstance(v, float):
            v = f"{v:.4f}" if c == "val AUC" else f"{v:.3f}"
        cells.append(str(v))
    print("| " + " | ".join(cells) + " |")
print(f"\nchosen without test labels (best.txt): {(d / 'best.txt').read_text().strip()}")
