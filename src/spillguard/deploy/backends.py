"""Pick a runtime for a model: a run folder (or checkpoint) on torch, or an exported ``.onnx`` file
(or a run exported on the fly) on onnxruntime. Importing this module imports no torch; torch is
imported only when a run folder is loaded."""

from __future__ import annotations

import os
from pathlib import Path

from sharedcore.errors import UserError
from spillguard.deploy.runtime import OnnxDetector, Scorer

BACKENDS = ("auto", "torch", "onnx")


def is_onnx_file(model: str | os.PathLike[str]) -> bool:
    """True for a path ending in .onnx (an exported model rather than a run folder)."""
    return Path(model).suffix.lower() == ".onnx"


def resolve_backend(model: str | os.PathLike[str], backend: str = "auto") -> str:
    """ "auto" -> "onnx" for a .onnx file, else "torch"; UserError for an impossible pairing."""
    if backend not in BACKENDS:
        raise UserError(f"backend '{backend}' is unknown; choose one of {', '.join(BACKENDS)}")
    onnx_file = is_onnx_file(model)
    if backend == "auto":
        return "onnx" if onnx_file else "torch"
    if backend == "torch" and onnx_file:
        raise UserError(
            f"{model}: an exported ONNX model runs only with --backend onnx; for torch point to the run folder"
        )
    return backend


def onnx_model_bytes(model: str | os.PathLike[str]) -> bytes:
    """The ONNX model of ``model``: the file itself, or a run folder exported in memory (needs torch)."""
    if is_onnx_file(model):
        p = Path(model)
        if not p.is_file():
            raise UserError(f"{p}: no such file; point to a model written by 'spillguard export'")
        return p.read_bytes()
    from spillguard.deploy.export import drift_reference_text, export_bytes, training_summary
    from spillguard.detector import SpillDetector

    run = Path(model)
    return export_bytes(SpillDetector.load(run), training_summary(run), drift_reference_text(run))


def run_files(model: str | os.PathLike[str]) -> list[Path]:
    """The files a command reads from a run folder (or the .onnx file itself): never to be overwritten."""
    p = Path(model)
    if is_onnx_file(p):
        return [p]
    return [p / name for name in ("checkpoint.pt", "metrics.json", "drift_reference.json")]


def load_scorer(model: str | os.PathLike[str], backend: str = "auto") -> Scorer:
    """A scorer with ``score_samples``/``threshold``/``input_size`` for a run folder or a .onnx file."""
    kind = resolve_backend(model, backend)
    if kind == "onnx":
        if is_onnx_file(model):
            return OnnxDetector.load(model)
        det = OnnxDetector.load(onnx_model_bytes(model))
        det.source = str(model)
        return det
    from spillguard.detector import SpillDetector

    return SpillDetector.load(model)
