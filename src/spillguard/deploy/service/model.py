"""The model the service scores with: a scorer (anything with SpillDetector's scoring surface), what it
is (run id, config, training date, version) and its drift reference, loaded and checked as one unit,
and the holder that swaps it atomically on reload."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from sharedcore.errors import UserError
from spillguard.compute import limit_threads, require_torch
from spillguard.deploy.backends import is_onnx_file, onnx_model_bytes, resolve_backend
from spillguard.deploy.runtime import OnnxDetector
from spillguard.deploy.service.drift import DriftReference, load_reference


class Scorer(Protocol):
    """What the service needs to score: SpillDetector's surface, which OnnxDetector offers too."""

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        ...

    @property
    def threshold_rule_(self) -> str: ...

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 at the input size -> (N,) float32 scores; higher = more spill-like."""
        ...

    def threshold(self, rule: str | None = None) -> float:
        """The threshold of ``rule`` (default: the run's own rule)."""
        ...


class Explainer(Protocol):
    """Optional capability: inputs, reconstructions and error maps for a few images."""

    def explain(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


ScorerLoader = Callable[[Path], tuple[Scorer, Explainer | None]]


def torch_loader(run: Path) -> tuple[Scorer, Explainer | None]:
    """``SpillDetector.load`` (torch) of a run folder; it scores and explains."""
    from spillguard.detector import SpillDetector

    if is_onnx_file(run):
        raise UserError(f"{run}: an exported ONNX model is served with --backend onnx (or auto)")
    det = SpillDetector.load(run)
    return det, det


def backend_loader(backend: str = "auto") -> ScorerLoader:
    """The loader of ``--backend``: ``auto`` serves a .onnx file on onnxruntime and a run folder on
    torch; ``onnx`` also scores a run folder on onnxruntime (exported in memory; torch still explains);
    ``torch`` serves run folders only. An exported model has no reconstruction, so it does not explain.
    """
    resolve_backend("model", backend)  # an unknown backend fails at start, not at the first reload

    def load(run: Path) -> tuple[Scorer, Explainer | None]:
        kind = resolve_backend(run, backend)
        if not is_onnx_file(run):  # a run folder needs torch (to score, or to export in memory)
            require_torch(f"serving the run folder {run}")
            if "torch" not in sys.modules:  # first torch use of this process: its thread count, once
                limit_threads()
        if kind == "torch":
            return torch_loader(run)
        if is_onnx_file(run):
            return OnnxDetector.load(run), None
        from spillguard.detector import SpillDetector

        onnx = OnnxDetector.load(onnx_model_bytes(run))
        onnx.source = str(run)
        return onnx, SpillDetector.load(run)

    return load


#: The service's default: a .onnx file on onnxruntime, a run folder on torch (reload accepts either).
auto_loader = backend_loader("auto")


@dataclass(frozen=True)
class ModelInfo:
    """What a verdict was made with (returned in every response and stored with every verdict)."""

    model_id: str  # run folder name + first 12 hex digits of the checkpoint's sha256
    run: str  # run folder name (never the server path)
    config: str  # model architecture and score, e.g. "conv_ae_head/head"
    trained_at: str  # ISO time (UTC) the checkpoint was written
    spillguard_version: str
    rule: str
    threshold: float


@dataclass(frozen=True)
class LoadedModel:
    """A checked, ready model: requests capture one of these and finish on it, even across a reload."""

    scorer: Scorer
    explainer: Explainer | None
    info: ModelInfo
    size: tuple[int, int]  # (height, width) of the model input
    reference: DriftReference
    path: Path | None = None  # the absolute server path it was loaded from (given at start or reload)

    @property
    def kind(self) -> str:
        """``onnx`` for an exported model file, ``run`` for a run folder (or its checkpoint file)."""
        return "onnx" if self.path is not None and is_onnx_file(self.path) else "run"


def _checkpoint_file(run: Path) -> Path:
    p = run / "checkpoint.pt" if run.is_dir() else run
    if not p.is_file():
        raise UserError(
            f"{run}: no checkpoint.pt; point to a run folder made by 'spillguard train' or a model.onnx"
        )
    return p


def load_model(run: str | Path, rule: str | None = None, loader: ScorerLoader = auto_loader) -> LoadedModel:
    """Load the run (or exported model), check that it scores (finite, one score per image), describe it.

    UserError (one line) when the run is missing, unreadable, has no rule ``rule`` or scores badly.
    """
    try:
        return _load_model(Path(run), rule, loader)
    except UserError:
        raise
    except Exception as exc:  # an unreadable path, a NUL in it, a loader failing its own way: one line
        first = " ".join(str(exc).split())[:200]
        raise UserError(f"{run}: cannot load this run ({type(exc).__name__}: {first})") from None


def _load_model(run: Path, rule: str | None, loader: ScorerLoader) -> LoadedModel:
    ckpt = _checkpoint_file(run)
    folder = ckpt.parent
    scorer, explainer = loader(run)
    h, w = (int(v) for v in scorer.input_size)
    use_rule = rule or scorer.threshold_rule_
    threshold = float(scorer.threshold(use_rule))
    probe = np.full((2, h, w, 3), 128, dtype=np.uint8)
    probe[1] = 30
    scores = np.asarray(scorer.score_samples(probe))
    if scores.shape != (2,) or not np.all(np.isfinite(scores)) or not np.isfinite(threshold):
        raise UserError(
            f"{run}: the model gives no finite score per image (shape {scores.shape}); retrain the run"
        )
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()[:12]
    version = "unknown"
    metrics = folder / "metrics.json"
    if isinstance(scorer, OnnxDetector):  # what it is travels in the exported model's metadata
        version = str(scorer.metadata_.get("spillguard_version", version))
        config_name = f"{scorer.metadata_.get('model', '?')}/{scorer.metadata_.get('score', '?')}"
    else:
        if metrics.is_file():
            try:
                version = str(
                    json.loads(metrics.read_text(encoding="utf-8")).get("spillguard_version", version)
                )
            except (OSError, ValueError):
                pass
        cfg = getattr(scorer, "config", None)
        config_name = f"{getattr(cfg, 'model', type(scorer).__name__)}/{getattr(cfg, 'score', '?')}"
    trained = datetime.fromtimestamp(ckpt.stat().st_mtime, UTC).isoformat(timespec="seconds")
    name = ckpt.name if is_onnx_file(ckpt) else folder.name
    info = ModelInfo(
        model_id=f"{name}@{digest}",
        run=name,
        config=config_name,
        trained_at=trained,
        spillguard_version=version,
        rule=use_rule,
        threshold=threshold,
    )
    # an exported model carries its run's drift reference; else the run folder (or the file's folder)
    embedded = scorer.metadata_.get("drift_reference") if isinstance(scorer, OnnxDetector) else None
    ref = load_reference(folder, threshold, embedded)
    return LoadedModel(scorer, explainer, info, (h, w), ref, run.resolve())


class ModelHolder:
    """The current model reference, and the last few models served (by id, for explanations).

    Reading ``current`` is one attribute read; ``reload`` replaces it atomically. Requests take
    ``current`` once and use that object to the end, so a reload never changes the model under a request
    in flight. ``recent`` (an LRU of ``keep`` models, the current one among them) keeps a replaced model
    in memory, so the verdicts it gave are explained by it without a disk load.
    """

    def __init__(self, model: LoadedModel, keep: int = 3) -> None:
        if keep < 1:
            raise UserError(f"--keep-models {keep}: must be >= 1")
        self._current = model
        self._keep = keep
        self._recent: OrderedDict[str, LoadedModel] = OrderedDict({model.info.model_id: model})
        self._lock = threading.Lock()  # one reload at a time
        self._lru_lock = threading.Lock()

    @property
    def current(self) -> LoadedModel:
        """The model new requests score with."""
        return self._current

    def remember(self, model: LoadedModel) -> None:
        """Put ``model`` at the front of the recent models (the oldest beyond ``keep`` is dropped)."""
        with self._lru_lock:
            self._recent[model.info.model_id] = model
            self._recent.move_to_end(model.info.model_id)
            while len(self._recent) > self._keep:
                self._recent.popitem(last=False)

    def recent(self, model_id: str) -> LoadedModel | None:
        """The model of this id if it is the current one or among the recent ones (touches it)."""
        cur = self._current
        if cur.info.model_id == model_id:
            return cur
        with self._lru_lock:
            m = self._recent.get(model_id)
            if m is not None:
                self._recent.move_to_end(model_id)
            return m

    def recent_ids(self) -> list[str]:
        """Ids of the models in memory, most recently used last."""
        with self._lru_lock:
            return list(self._recent)

    def reload(
        self,
        run: str | Path,
        rule: str | None = None,
        loader: ScorerLoader = auto_loader,
        before_swap: Callable[[LoadedModel], object] | None = None,
    ) -> tuple[LoadedModel, LoadedModel]:
        """Load and check ``run``, call ``before_swap(new)`` (e.g. record it; an exception there keeps
        the old model), then swap it in; returns (previous, new). The old one stays on error."""
        with self._lock:
            new = load_model(run, rule, loader)
            if before_swap is not None:
                before_swap(new)
            old, self._current = self._current, new
            self.remember(new)
            return old, new
