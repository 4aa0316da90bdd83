"""The torch-free runtime: score uint8 images with an exported ``model.onnx`` on onnxruntime.

Needs only numpy, Pillow and onnxruntime (the ``runtime`` extra): this module and everything it
imports never import torch. ``OnnxDetector`` has the scoring surface of ``SpillDetector``
(``score_samples``, ``threshold``, ``thresholds_``, ``threshold_rule_``, ``input_size``), read from
the model's metadata; resizing stays outside the graph (``spillguard.data.decode_image``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sharedcore.errors import UserError
from spillguard.deploy.checksum import CHECKSUM_KEY, NotProtobuf, content_checksum
from spillguard.post_processing.thresholds import check_rule

#: Of the exported graph + metadata; another version is refused on load. 2: the model carries its
#: checksum (``spillguard.deploy.checksum``), checked before anything else is read.
FORMAT_VERSION = 2
INPUT_NAME = "images"  # (N, H, W, 3) uint8 RGB at the model's input size
SCORE_NAME = "score"  # (N,) float32, higher = more likely a spill
PROBA_NAME = "p_spill"  # (N,) float32, head models only
# metadata keys (values are strings; JSON where structured)
META_FORMAT = "spillguard_format_version"
#: Most input pixels an exported model may declare (as ``spillguard.config.INPUT_PIXELS_MAX``: 512 x 512).
INPUT_PIXELS_MAX = 512 * 512
META_REQUIRED = ("spillguard_version", "thresholds", "threshold_rule", "input_size", "colour", "score")


class Scorer(Protocol):
    """What a runtime offers predict, the service and cluster scoring: uint8 images in, scores out."""

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the images must have (``decode_image`` resizes to it)."""
        ...

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 -> (N,) float32 anomaly scores."""
        ...

    def threshold(self, rule: str | None = None) -> float:
        """The verdict threshold of ``rule`` (default: the model's own rule)."""
        ...


def onnx_threads() -> int:
    """onnxruntime intra-op threads: SPILLGUARD_THREADS, else 1 (as torch, see compute.limit_threads)."""
    env = os.environ.get("SPILLGUARD_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else 1


#: Images per ``session.run`` call. Measured single-threaded on the 2-core machine (docs/guides/archive.md):
#: batches of 16-32 score 1.3x more images per CPU-second than 512-2048 (a small batch's activations
#: stay in the core's L2 cache and leave the memory bus to the decoding thread); the per-call overhead
#: (about 70 us) is under 3% of a batch of 32.
ONNX_BATCH = 32


def session_options(ort: Any) -> Any:
    """The ``onnxruntime.SessionOptions`` of every spillguard session (``ort`` = the onnxruntime module).

    ``onnx_threads()`` intra-op threads (1 by default: the caller's thread, no pool), no inter-op
    pool (sequential execution), and thread-pool spinning off: with more than one thread, idle pool
    threads would otherwise busy-wait between calls and take the core that decodes the next chunk
    (or another process's); measured 853 -> 1,421 images/s of `predict` with decoding at
    SPILLGUARD_THREADS=2 on the loaded 2-core machine.
    """
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = onnx_threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # 1.07x over EXTENDED
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only
    return opts


def _session(model: bytes, name: str) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError(
            "onnxruntime is not installed; pip install 'avatargen-spillguard[runtime]' to score ONNX models"
        ) from None
    opts = session_options(ort)
    try:
        return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for truncated/foreign files
        why = " ".join(str(exc).split())[:160]
        raise UserError(
            f"{name}: not a readable ONNX model ({type(exc).__name__}: {why}); re-export it with 'spillguard export'"
        ) from None


def read_metadata(meta: dict[str, str], name: str) -> dict[str, Any]:
    """Parse and check the spillguard metadata of an exported model; UserError naming what is wrong."""
    if META_FORMAT not in meta:
        raise UserError(
            f"{name}: an ONNX model without spillguard metadata ({META_FORMAT}); export it with 'spillguard export RUN -o model.onnx'"
        )
    version = meta[META_FORMAT]
    if version != str(FORMAT_VERSION):
        raise UserError(
            f"{name}: exported model format version {version} found, version {FORMAT_VERSION} expected; "
            "re-export it with this spillguard version ('spillguard export RUN -o model.onnx')"
        )
    missing = [k for k in META_REQUIRED if k not in meta]
    if missing:
        raise UserError(f"{name}: metadata lacks {', '.join(missing)}; re-export it with 'spillguard export'")
    out: dict[str, Any] = dict(meta)
    try:
        for key in ("thresholds", "input_size", "training_data"):
            if key in meta:
                out[key] = json.loads(meta[key])
        thresholds = out["thresholds"]
        if not isinstance(thresholds, dict) or not thresholds:
            raise ValueError("thresholds is not a mapping of rule names to numbers")
        h, w = (int(v) for v in out["input_size"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{name}: malformed spillguard metadata ({exc}); re-export it") from None
    for rule, value in thresholds.items():  # a NaN threshold would call every image normal
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(
                f"{name}: damaged model file: threshold {rule!r} is {json.dumps(value)}, not a finite "
                "number; re-export it with 'spillguard export'"
            )
    out["thresholds"] = {str(k): float(v) for k, v in thresholds.items()}
    if out["threshold_rule"] not in out["thresholds"]:
        raise UserError(
            f"{name}: damaged model file: its verdict rule {out['threshold_rule']!r} has no threshold "
            f"(it has {', '.join(out['thresholds'])}); re-export it with 'spillguard export'"
        )
    if not (0 < h and 0 < w and h * w <= INPUT_PIXELS_MAX):
        raise UserError(
            f"{name}: damaged model file: input_size {h}x{w} is not a size spillguard exports (1 to "
            f"{INPUT_PIXELS_MAX:,} pixels); re-export it with 'spillguard export'"
        )
    out["input_size"] = (h, w)
    return out


def check_graph_input(session: Any, size: tuple[int, int], name: str) -> None:
    """UserError unless the graph's input is (N, H, W, 3) with the metadata's H and W where it fixes them."""
    shape = list(session.get_inputs()[0].shape)
    fixed = [shape[1], shape[2]] if len(shape) == 4 else None
    if (
        fixed is None
        or shape[3] not in (3, "3")
        or any(isinstance(d, int) and d != want for d, want in zip(fixed, size, strict=True))
    ):
        raise UserError(
            f"{name}: damaged model file: its graph takes {shape}, but its metadata says input_size "
            f"{size[0]}x{size[1]} (N, H, W, 3 expected); re-export it with 'spillguard export'"
        )


class OnnxDetector:
    """An exported spill detector on onnxruntime; same scoring surface as ``SpillDetector``."""

    def __init__(self, session: Any, metadata: dict[str, Any], source: str = "model.onnx") -> None:
        self.session_ = session
        self.metadata_ = metadata
        self.source = source
        self.thresholds_: dict[str, float] = metadata["thresholds"]
        self.threshold_rule_: str = metadata["threshold_rule"]
        self._outputs = [o.name for o in session.get_outputs()]
        if SCORE_NAME not in self._outputs:
            raise UserError(f"{source}: the model has no '{SCORE_NAME}' output; re-export it")

    @classmethod
    def load(cls, path: str | os.PathLike[str] | bytes) -> OnnxDetector:
        """Read an exported model (a path, or the file's bytes); UserError if broken or foreign."""
        if isinstance(path, bytes):
            data, name = path, "exported model"
        else:
            p = Path(path)
            if not p.is_file():
                raise UserError(f"{p}: no such file; point to a model written by 'spillguard export'")
            try:
                data = p.read_bytes()
            except OSError as exc:
                raise UserError(f"{p}: cannot read ({exc.strerror or exc}); check the path") from None
            name = str(p)
        if not data:
            raise UserError(f"{name}: empty file; re-export it with 'spillguard export'")
        try:
            stated, actual = content_checksum(data)
        except NotProtobuf as exc:
            raise UserError(
                f"{name}: not a readable ONNX model ({exc}); re-export it with 'spillguard export'"
            ) from None
        if stated is not None and stated != actual:  # checked before onnxruntime parses the graph
            raise UserError(
                f"{name}: damaged model file: its contents do not match the checksum it carries "
                f"({CHECKSUM_KEY}); re-export it with 'spillguard export'"
            )
        session = _session(data, name)
        meta = read_metadata(dict(session.get_modelmeta().custom_metadata_map), name)
        if stated is None:
            raise UserError(
                f"{name}: the model carries no checksum ({CHECKSUM_KEY}); re-export it with 'spillguard export'"
            )
        check_graph_input(session, meta["input_size"], name)
        return cls(session, meta, name)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the graph's input."""
        size: tuple[int, int] = self.metadata_["input_size"]
        return size

    @property
    def has_proba(self) -> bool:
        """True for head models (the graph also outputs p(spill))."""
        return PROBA_NAME in self._outputs

    def _check(self, images: np.ndarray) -> np.ndarray:
        h, w = self.input_size
        if images.ndim != 4 or images.shape[1:] != (h, w, 3) or images.dtype != np.uint8:
            raise UserError(
                f"{self.source}: images of shape {images.shape} {images.dtype} given, (N, {h}, {w}, 3) uint8 expected; "
                "resize with spillguard.data.decode_image"
            )
        return np.ascontiguousarray(images)

    def _run(self, images: np.ndarray, output: str, batch: int) -> np.ndarray:
        x = self._check(images)
        out = np.empty(len(x), dtype=np.float32)
        for i in range(0, len(x), batch):
            out[i : i + batch] = self.session_.run([output], {INPUT_NAME: x[i : i + batch]})[0]
        return out

    def score_samples(self, images: np.ndarray, batch: int = ONNX_BATCH) -> np.ndarray:
        """Anomaly score per image, (N, H, W, 3) uint8 at ``input_size`` -> (N,) float32."""
        return self._run(images, SCORE_NAME, batch)

    def predict_proba(self, images: np.ndarray, batch: int = ONNX_BATCH) -> np.ndarray:
        """p(spill) per image from the head, (N,) float32; UserError for reconstruction models."""
        if not self.has_proba:
            raise UserError(f"{self.source}: a reconstruction-score model has no p(spill); use score_samples")
        return self._run(images, PROBA_NAME, batch)

    def threshold(self, rule: str | None = None) -> float:
        """The threshold of ``rule``; UserError if the exported run did not calibrate it."""
        return self.thresholds_[
            check_rule(rule or self.threshold_rule_, self.thresholds_, f" in {self.source}")
        ]

    def predict(self, images: np.ndarray, rule: str | None = None) -> np.ndarray:
        """True where an image is flagged as a spill under ``rule``."""
        return self.score_samples(images) > self.threshold(rule)
