"""The runtime extra is enough: scoring an exported model imports no torch (nor any other core
dependency beyond numpy, Pillow and onnxruntime), and gives the torch scores."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from spillguard.deploy.export import PARITY_RTOL, parity_error
from spillguard.detector import SpillDetector

# Third-party top-level packages allowed in the torch-free path: the runtime extra and what
# onnxruntime itself imports (its own install requirements).
ALLOWED = {
    "numpy",
    "PIL",
    "onnxruntime",
    "packaging",
    "google",
    "flatbuffers",
    "coloredlogs",
    "humanfriendly",
    "sympy",
    "mpmath",
}

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys
    ALLOWED = set(json.loads(sys.argv[1]))
    ours = {"spillguard", "sharedcore"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED or top in ours or top.startswith("_"):
                return None
            raise ImportError(f"blocked import of {name} in the torch-free runtime")

    sys.meta_path.insert(0, Block())
    from spillguard.data import decode_image
    from spillguard.deploy.batch_scoring import score_paths
    from spillguard.deploy.runtime import OnnxDetector
    import numpy as np

    det = OnnxDetector.load(sys.argv[2])
    paths = sys.argv[3:]
    one = np.stack([decode_image(open(p, "rb").read(), det.input_size) for p in paths])
    rows, skipped = score_paths(det, paths)
    assert "torch" not in sys.modules, "torch was imported"
    print(json.dumps({
        "scores": det.score_samples(one).tolist(),
        "rows": [[str(p), s, v] for p, s, v in rows],
        "modules": sorted({m.split(".")[0] for m in sys.modules}),
    }))
    """
)


def test_scoring_an_exported_model_imports_no_torch(
    tiny_run: Path, tiny_onnx: Path, synth_images: tuple[list[Path], np.ndarray]
) -> None:
    paths, images = synth_images
    res = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(sorted(ALLOWED)), str(tiny_onnx), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert "torch" not in out["modules"] and "onnxruntime" in out["modules"]
    det = SpillDetector.load(tiny_run)
    ref = det.score_samples(images)
    assert parity_error(ref, np.array(out["scores"]), det.threshold()) <= PARITY_RTOL
    assert [r[0] for r in out["rows"]] == [str(p) for p in paths]
    assert [r[2] for r in out["rows"]] == (ref > det.threshold()).tolist()


def test_the_blocker_would_catch_torch(tiny_onnx: Path) -> None:
    """The import hook of the test above really fails on torch (so that test can fail)."""
    probe = (
        SCRIPT.split("sys.meta_path.insert(0, Block())")[0]
        + "sys.meta_path.insert(0, Block())\nimport spillguard.detector\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(sorted(ALLOWED))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0 and "blocked import of torch" in res.stderr
