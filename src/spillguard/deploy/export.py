"""Export a trained run as one ONNX graph: uint8 NHWC images at the model's input size -> score.

The graph holds everything after resizing, exactly as ``SpillDetector.score_samples`` computes it:
/255, colour conversion, per-image illumination normalisation, standardisation with the training
statistics, the network (BatchNorm folded, as torch scores), and the score (the head's
softplus(logit) and p(spill) = sigmoid(logit), or the reconstruction error map with the config's
``mse``/``local``/``combined`` reduction). The batch axis is dynamic; thresholds, rule, input size,
colour space, training-data summary and versions go into the model's metadata, and the SHA-256 of
all of it last (``spillguard.deploy.checksum``), checked whenever the model is loaded.

Exporter: torch's TorchScript-based ``torch.onnx.export(..., dynamo=False)`` (opset 17), offline;
why not the dynamo exporter: see ``export_bytes``.
"""

from __future__ import annotations

import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sharedcore.atomic import atomic_path
from sharedcore.errors import UserError
from spillguard import __version__
from spillguard.data.preprocess import convert_colour
from spillguard.deploy.checksum import add_checksum
from spillguard.deploy.runtime import (
    FORMAT_VERSION,
    INPUT_NAME,
    META_FORMAT,
    PROBA_NAME,
    SCORE_NAME,
    OnnxDetector,
)
from spillguard.detector import SpillDetector
from spillguard.models.capabilities import SpillClassifier
from spillguard.models.fusion import fuse_for_inference
from spillguard.post_processing.scores import SCORES, error_map, head_score

OPSET = 17
PARITY_RTOL = 1e-5  # relative, with the floor below; see parity_error
PARITY_FLOOR = 1e-3  # relative errors are taken against max(|score|, FLOOR * threshold)


class ScoringGraph(nn.Module):
    """The scoring path of a fitted ``SpillDetector`` as one module: (N, H, W, 3) uint8 -> outputs."""

    def __init__(self, det: SpillDetector) -> None:
        super().__init__()
        cfg = det.config
        self.net = fuse_for_inference(det.model_).float()
        self.colour, self.illumination = det.prep_.colour, det.prep_.illumination
        self.register_buffer("mean", det.prep_.mean_.float().reshape(1, -1, 1, 1).clone())
        self.register_buffer("std", det.prep_.std_.float().reshape(1, -1, 1, 1).clone())
        self.score, self.smooth = cfg.score, cfg.smooth
        self.head = cfg.score == "head"
        if self.head and not isinstance(self.net, SpillClassifier):
            raise UserError(f"model '{cfg.model}' has no spill head; score 'head' needs e.g. conv_ae_head")

    def standardise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC -> standardised float32 NCHW (``preprocess.to_unit`` then ``Preprocessor``)."""
        x = images.permute(0, 3, 1, 2).float() / 255.0
        y = convert_colour(x, self.colour)
        if self.illumination == "per_image":
            m = y.mean(dim=(2, 3), keepdim=True)
            s = y.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
            y = (y - m) / s
        mean, std = self.get_buffer("mean"), self.get_buffer("std")
        return (y - mean) / std

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(score,) for reconstruction scores; (score, p_spill) for head models."""
        x = self.standardise(images)
        if self.head and isinstance(self.net, SpillClassifier):  # checked in __init__
            logit = self.net.spill_logit(x)
            return head_score(logit), torch.sigmoid(logit)
        return (SCORES[self.score](error_map(x, self.net(x)), self.smooth),)


def training_summary(run: Path) -> dict[str, Any]:
    """What the run was trained on (from its metrics.json): root, layout, image counts, splits."""
    from spillguard.reporting.run_report import read_run_json

    path = run / "metrics.json" if run.is_dir() else run.parent / "metrics.json"
    if not path.is_file():  # a checkpoint on its own exports without a summary
        return {}
    m = read_run_json(path)  # checked as a whole: a damaged file is a "damaged run file" error
    data = m["data"]
    return {
        "root": data.get("root"),
        "layout": data.get("layout"),
        "n_normal": data.get("n_normal"),
        "n_spill": data.get("n_spill"),
        "n_skipped": len(data.get("skipped", [])),
        "sizes": m.get("sizes", {}),
        "train_seconds": m.get("train_seconds"),
    }


def drift_reference_text(run: Path) -> str | None:
    """The run's ``drift_reference.json`` (validation normals for the serve drift panel), or None."""
    from spillguard.reporting.run_report import damaged_run_file

    path = (run if run.is_dir() else run.parent) / "drift_reference.json"
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        raise damaged_run_file(path, "not readable") from None
    if text is not None:  # it travels inside the model: never embed what the service cannot read
        try:
            ok = isinstance(json.loads(text), dict)
        except (ValueError, RecursionError):
            ok = False
        if not ok:
            raise damaged_run_file(path, "not a JSON mapping")
    return text


def metadata(
    det: SpillDetector, training: dict[str, Any], drift_reference: str | None = None
) -> dict[str, str]:
    """The model's metadata_props: every value a string (JSON where structured); ``drift_reference``
    (the run's drift_reference.json) travels too, so that a served model.onnx has its drift panel."""
    cfg = det.config
    extra = {"drift_reference": drift_reference} if drift_reference else {}
    bad = {k: v for k, v in det.thresholds_.items() if not math.isfinite(v)}
    if bad:  # a NaN threshold calls every image normal; never ship one
        raise UserError(
            f"the run's thresholds {', '.join(f'{k}={v}' for k, v in bad.items())} are not finite numbers; "
            "retrain or recalibrate it before exporting"
        )
    return {
        META_FORMAT: str(FORMAT_VERSION),
        "spillguard_version": __version__,
        "thresholds": json.dumps(det.thresholds_, allow_nan=False),
        "threshold_rule": det.threshold_rule_,
        "input_size": json.dumps(list(cfg.input_size)),
        "input": f"{INPUT_NAME}: (N, {cfg.height}, {cfg.width}, 3) uint8 RGB, resized outside the graph (bilinear, spillguard.data.resize_to_input)",
        "outputs": SCORE_NAME + (f", {PROBA_NAME}" if cfg.score == "head" else ""),
        "colour": cfg.colour,
        "illumination": cfg.illumination,
        "score": cfg.score,
        "smooth": str(cfg.smooth),
        "model": str(cfg.model),
        "config": json.dumps(cfg.to_dict()),
        "training_data": json.dumps(training),
        **extra,
    }


def export_bytes(
    det: SpillDetector, training: dict[str, Any] | None = None, drift_reference: str | None = None
) -> bytes:
    """The serialized ONNX model of ``det`` with metadata (needs the ``export`` extra: onnx).

    Uses the TorchScript exporter (``dynamo=False``). The dynamo exporter also works offline with
    torch 2.13 and gave the very same parity (max relative difference 1.6e-7 head, 7.9e-8 ``local``
    AE on 256 random images), but took 3-7 s per export instead of 0.05-0.3 s and its graphs scored
    10-20% slower on onnxruntime (1 thread); this path is deprecated upstream, so revisit with torch >= 2.14.
    """
    try:
        import onnx
    except ImportError:
        raise UserError("onnx is not installed; pip install 'avatargen-spillguard[export]'") from None
    graph = ScoringGraph(det).eval()
    h, w = det.config.input_size
    dummy = torch.zeros(2, h, w, 3, dtype=torch.uint8)
    outputs = [SCORE_NAME, PROBA_NAME] if graph.head else [SCORE_NAME]
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            graph,
            (dummy,),
            buf,  # type: ignore[arg-type]  # the TorchScript exporter writes to file objects
            input_names=[INPUT_NAME],
            output_names=outputs,
            dynamic_axes={INPUT_NAME: {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
            opset_version=OPSET,
            dynamo=False,
        )
    model = onnx.load_from_string(buf.getvalue())
    model.doc_string = f"spillguard {__version__} spill detector: uint8 NHWC images -> {', '.join(outputs)}"
    for k, v in metadata(det, training or {}, drift_reference).items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    return add_checksum(bytes(model.SerializeToString()))


def parity_error(reference: np.ndarray, other: np.ndarray, threshold: float) -> float:
    """Largest relative difference |a - b| / max(|a|, 1e-3 * |threshold|), over images.

    Plain relative error is unstable for scores near 0 (a head's softplus of a very negative logit is
    about exp(logit), and its float32 rounding is relative to the logit, not to the score): below a
    thousandth of the verdict threshold the difference is measured against that floor instead.
    """
    ref = np.asarray(reference, np.float64)
    denom = np.maximum(np.abs(ref), PARITY_FLOOR * abs(threshold))
    denom = np.where(denom > 0, denom, 1.0)
    return float(np.max(np.abs(np.asarray(other, np.float64) - ref) / denom)) if len(ref) else 0.0


def export_run(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    force: bool = False,
    check_images: np.ndarray | None = None,
) -> tuple[Path, float]:
    """Export the run's detector to ``out`` (atomic) after checking onnxruntime against torch.

    The check scores ``check_images`` (default: 256 seeded random uint8 images) with both runtimes;
    a relative difference above 1e-5 (see ``parity_error``) refuses the export. Returns the path and
    the measured difference.
    """
    run_p = Path(run)
    det = SpillDetector.load(run_p)
    data = export_bytes(det, training_summary(run_p), drift_reference_text(run_p))
    h, w = det.config.input_size
    x = check_images
    if x is None:
        x = np.random.default_rng(0).integers(0, 256, (256, h, w, 3), dtype=np.uint8)
    onnx_det = OnnxDetector.load(data)
    err = parity_error(det.score_samples(x), onnx_det.score_samples(x), det.threshold())
    if not err <= PARITY_RTOL:
        raise UserError(
            f"{run_p}: the exported graph differs from torch by {err:.2e} (relative) on check images; not written"
        )
    with atomic_path(out, force) as tmp:
        tmp.write_bytes(data)
    return Path(out), err
