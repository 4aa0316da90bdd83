"""The runtime extra is enough: scoring an exported model with the library imports no torch (nor any
third-party package beyond numpy, Pillow, onnxruntime and their own requirements), and gives the torch
scores. (The CLI on the runtime install: test_cli_without_torch.py.)"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np

from spillguard.deploy.export import PARITY_RTOL, parity_error
from spillguard.detector import SpillDetector
from tests.blocked_imports import distribution_closure, run_blocked, top_level_modules

# Third-party top-level packages allowed in the torch-free library path: numpy, Pillow, onnxruntime
# and what they require (as installed here), nothing of the CLI shell.
ALLOWED = frozenset(top_level_modules(distribution_closure(["numpy", "Pillow", "onnxruntime"])))

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from spillguard.data import decode_image
    from spillguard.deploy.batch_scoring import score_paths
    from spillguard.deploy.runtime import OnnxDetector
    import numpy as np

    det = OnnxDetector.load(sys.argv[1])
    paths = sys.argv[2:]
    one = np.stack([decode_image(open(p, "rb").read(), det.input_size) for p in paths])
    rows, skipped = score_paths(det, paths)
    print(json.dumps({
        "scores": det.score_samples(one).tolist(),
        "rows": [[str(p), s, v] for p, s, v in rows],
    }))
    """
)


def test_scoring_an_exported_model_imports_no_torch(
    tiny_run: Path, tiny_onnx: Path, synth_images: tuple[list[Path], np.ndarray]
) -> None:
    assert "torch" not in ALLOWED and {"numpy", "PIL", "onnxruntime"} <= ALLOWED
    paths, images = synth_images
    res = run_blocked(SCRIPT, str(tiny_onnx), *map(str, paths), allow=ALLOWED)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert "torch" not in res.modules and "onnxruntime" in res.modules
    det = SpillDetector.load(tiny_run)
    ref = det.score_samples(images)
    assert parity_error(ref, np.array(out["scores"]), det.threshold()) <= PARITY_RTOL
    assert [r[0] for r in out["rows"]] == [str(p) for p in paths]
    assert [r[2] for r in out["rows"]] == (ref > det.threshold()).tolist()


def test_the_blocker_would_catch_torch() -> None:
    """The import hook of the test above really fails on torch (so that test can fail)."""
    res = run_blocked("import spillguard.detector", allow=ALLOWED)
    assert res.returncode != 0 and "ModuleNotFoundError: No module named 'torch'" in res.stderr
