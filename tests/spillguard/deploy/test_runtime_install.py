"""The runtime extra on its own: a fresh virtual environment with `pip install -e REPO[runtime]` holds
no torch, pandas, scipy, scikit-learn, matplotlib or pyarrow (pip list), its `spillguard predict
model.onnx` writes the torch backend's CSV, and a command of another extra says so in one line (slow:
pip installs the core dependencies and onnxruntime from the package index, a few minutes)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

from spillguard.deploy.export import PARITY_RTOL, parity_error

REPO = Path(__file__).resolve().parents[3]
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_a_runtime_only_install_scores_an_exported_model(
    tiny_run: Path, tiny_onnx: Path, tiny_data: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "rtvenv"
    venv.create(env_dir, with_pip=True)  # no system site-packages: only what the extra pulls
    bin_dir = env_dir / "bin"
    res = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "-e", f"{REPO}[runtime]"],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    if res.returncode != 0 and any(s in res.stderr for s in OFFLINE):
        pytest.skip(f"no package index reachable: {res.stderr.strip().splitlines()[-1]}")
    assert res.returncode == 0, res.stderr[-3000:]
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"onnxruntime", "numpy", "pillow"} <= names
    heavy = {"torch", "pandas", "scipy", "scikit-learn", "matplotlib", "pyarrow"}
    assert not heavy & names, f"the runtime install pulled {sorted(heavy & names)}"

    imgs = str(tiny_data / "test" / "imgs")
    out = tmp_path / "runtime.csv"
    run = subprocess.run(
        [str(bin_dir / "spillguard"), "predict", str(tiny_onnx), imgs, "--csv", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    need = subprocess.run(
        [str(bin_dir / "spillguard"), "train", str(tiny_data), "-o", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert need.returncode == 2 and "needs torch" in need.stderr and len(need.stderr.splitlines()) == 1

    ref = tmp_path / "torch.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spillguard",
            "predict",
            str(tiny_run),
            imgs,
            "--backend",
            "torch",
            "--csv",
            str(ref),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    a, b = _rows(ref), _rows(out)
    assert [(r["path"], r["verdict"]) for r in a] == [(r["path"], r["verdict"]) for r in b]
    assert {r["verdict"] for r in a} == {"spill", "normal"}
    sa, sb = (np.array([float(r["score"]) for r in rows]) for rows in (a, b))
    assert parity_error(sa, sb, 1.0) <= PARITY_RTOL + 1e-5  # the CSV's 6 significant digits
