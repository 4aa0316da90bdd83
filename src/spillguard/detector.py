"""The spill detector: preprocessing + network + score + thresholds, with a scikit-learn-like
surface: ``fit`` (learn and calibrate) returns self, learned state ends with ``_``, per-image
``score_samples``, ``predict``, ``threshold``, ``explain``, ``save``/``load``.

Evaluation (validation metrics, robustness, reports) belongs to ``spillguard.pipelines``; ``fit``
records what it held out (``holdout_``) so that they can measure on it. Torch's thread count is set
by the entry points (``spillguard.compute.limit_threads``), never here.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sharedcore.errors import UserError
from spillguard import __version__
from spillguard.checkpoint import damaged, entry, load_checkpoint, save_checkpoint
from spillguard.compute import pick_device
from spillguard.config import TrainConfig
from spillguard.data.preprocess import Preprocessor, to_unit
from spillguard.models import build_model
from spillguard.models.capabilities import AnomalyMapper, SpillClassifier
from spillguard.models.fusion import fuse_for_inference
from spillguard.post_processing.false_alarms import promise_of
from spillguard.post_processing.scores import SCORES, error_map, head_score, smooth_map
from spillguard.post_processing.thresholds import check_rule, choose_rule, choose_thresholds
from spillguard.training.choices import resolve_config, val_share
from spillguard.training.decoder import can_fit_decoder, fit_decoder
from spillguard.training.loop import LoopSettings, Objective, fit
from spillguard.training.reconstruction import Reconstruction, reconstruct
from spillguard.training.seg_head import SegHead
from spillguard.training.spill_head import SpillHead


def _split(n: int, frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random split of range(n) into (first ~frac, rest); both non-empty when n >= 2."""
    perm = rng.permutation(n)
    k = min(max(1, round(frac * n)), n - 1) if n >= 2 else n
    return np.sort(perm[:k]), np.sort(perm[k:])


def _preprocessor(state: dict[str, Any], cfg: TrainConfig, path: str | os.PathLike[str]) -> Preprocessor:
    """The checkpoint's normalisation, checked: the config's colour space, 3 finite means and
    3 positive finite standard deviations."""
    if state.get("colour") != cfg.colour or state.get("illumination") != cfg.illumination:
        raise damaged(path, "the normalisation does not match the config's colour space/illumination")
    for key in ("mean", "std"):
        v = state.get(key)
        ok = isinstance(v, list) and len(v) == 3
        ok = ok and all(
            isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) for x in v or ()
        )
        if not ok or (key == "std" and min(v or [0]) <= 0):
            raise damaged(
                path,
                f"normalisation '{key}' is {v!r}, not 3 finite numbers" + (" > 0" if key == "std" else ""),
            )
    return Preprocessor.from_state(state)


@dataclass
class Holdout:
    """What ``fit`` held out: indices into the ``normals`` / ``spills`` it was given, and scores.

    ``val`` normals stopped training early; ``val_calib`` / ``val_check`` index into ``val`` (chose
    thresholds / left for validation metrics); ``spill_calib`` / ``spill_check`` index into
    ``spills`` (for a head, ``spill_calib`` are the known spills it trained on). ``val_scores`` are
    the scores of ``normals[val]``, ``spill_scores`` those of all ``spills``, (N,) float32.
    """

    train: np.ndarray
    val: np.ndarray
    val_calib: np.ndarray
    val_check: np.ndarray
    spill_calib: np.ndarray
    spill_check: np.ndarray
    val_scores: np.ndarray
    spill_scores: np.ndarray

    def sizes(self) -> dict[str, int]:
        """How many images each part holds."""
        return {
            "train": len(self.train),
            "val_calib": len(self.val_calib),
            "val_check": len(self.val_check),
            "spill_calib": len(self.spill_calib),
            "spill_check": len(self.spill_check),
        }


class SpillDetector:
    """Flags spills by a spill head or by reconstruction error; ``config`` fixes model, loss, score, size."""

    #: the verdict rule's false-alarm promise (``post_processing.false_alarms``); None before fit
    #: and in checkpoints made before it was recorded
    promise_: dict[str, Any] | None = None

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()

    def fit(
        self,
        normals: np.ndarray,
        spills: np.ndarray | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
    ) -> SpillDetector:
        """Learn from normal images (N, H, W, 3) uint8 and calibrate thresholds; returns self.

        Normals are split into train / validation; validation normals and known spills are each split
        into a calibration part (chooses thresholds) and a check part (left for validation metrics).
        Known spills never train a reconstruction model; a spill head trains on its calibration part.
        """
        cfg = self.config.validate()
        n_spills = 0 if spills is None else len(spills)
        if cfg.threshold_rule == "balanced" and n_spills == 0:
            raise UserError(
                "threshold rule 'balanced' needs known spills (proliv/ or anomalous/), and none were given; "
                "add some or choose --threshold-rule fpr"
            )
        rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        device = pick_device(cfg.device)
        keep = np.arange(len(normals))
        if cfg.max_train and len(normals) > cfg.max_train:
            keep = np.sort(rng.choice(len(normals), cfg.max_train, replace=False))
            normals = normals[keep]
        if len(normals) < 4:
            raise UserError(
                f"only {len(normals)} normal training images; at least 4 are needed (thousands are better)"
            )
        # what the config leaves open is chosen from the data (spillguard.training.choices)
        cfg, self.choices_ = resolve_config(cfg, normals)
        self.config = cfg
        val_idx, train_idx = _split(len(normals), val_share(len(normals), cfg.val_fraction), rng)
        cal_n, chk_n = _split(len(val_idx), cfg.calib_fraction, rng)
        x_train, x_val = to_unit(normals[train_idx]), to_unit(normals[val_idx])
        x_spill = to_unit(spills) if spills is not None and n_spills else None
        self.prep_ = Preprocessor(cfg.colour, cfg.illumination).fit(x_train)
        self.model_: nn.Module = build_model(cfg.model, 3, cfg.model_params).to(device)
        t0 = time.perf_counter()
        if cfg.supervision != "none":  # outlier exposure (spillguard.training.spill_head)
            if not isinstance(self.model_, SpillClassifier):
                raise UserError(f"model '{cfg.model}' has no spill head; supervision needs e.g. conv_ae_head")
            # the head trains on the calibration spills; the check spills stay unseen
            cal_s, chk_s = _split(n_spills, cfg.calib_fraction, rng)
            head_objective = SegHead if isinstance(self.model_, AnomalyMapper) else SpillHead
            objective: Objective = head_objective(
                self.model_, self.prep_, x_train, x_val, cfg, gen, device,
                x_spill[cal_s] if x_spill is not None else None,
                x_spill[chk_s] if x_spill is not None else None,
            )  # fmt: skip
        else:
            objective = Reconstruction(self.model_, self.prep_, x_train, x_val, cfg, gen, device, x_spill)
        self.history_ = fit(objective, LoopSettings.from_config(cfg), on_epoch)
        self.decoder_history_: list[dict[str, Any]] = []
        self.decoder_fitted_ = cfg.fits_decoder and can_fit_decoder(self.model_)
        if self.decoder_fitted_:  # after the head: its scores and thresholds stay as they are
            self.decoder_history_ = fit_decoder(
                self.model_, self.prep_, x_train, x_val, cfg, device, on_epoch
            )
        self.train_seconds_ = time.perf_counter() - t0
        self.model_ = self.model_.cpu().eval()
        self.prepare_inference()
        s_val = self._score_unit(x_val)
        s_spill = self._score_unit(x_spill) if x_spill is not None else np.zeros(0, np.float32)
        if cfg.supervision == "none":
            cal_s, chk_s = (
                _split(len(s_spill), cfg.calib_fraction, rng)
                if len(s_spill) >= 2
                else (np.arange(len(s_spill)), np.zeros(0, int))
            )
        head = cfg.score == "head"
        rule = cfg.threshold_rule
        if rule is None:  # chosen on held-out data: validation normals, known anomalies never trained on
            choice = choose_rule(s_val, s_val[cal_n], s_spill[chk_s], head)
            rule = choice["value"]
            self.choices_["threshold_rule"] = choice
            self.config = cfg = dataclasses.replace(cfg, threshold_rule=rule)
        self.thresholds_ = choose_thresholds(
            s_val[cal_n], s_spill[cal_s] if len(cal_s) else None, cfg.target_fpr, head=head,
            bound=rule == "fpr_bound",
        )  # fmt: skip
        self.threshold_rule_ = check_rule(rule, self.thresholds_, " in this run")
        # what the verdict rule promises on new normals: prior saw no validation normal, fpr and
        # balanced saw the calibration half, fpr_bound is conformal on it (post_processing.false_alarms)
        self.promise_ = promise_of(
            rule, self.thresholds_[rule], s_val[cal_n], s_val if rule == "prior" else s_val[chk_n]
        )
        self.holdout_ = Holdout(keep[train_idx], keep[val_idx], cal_n, chk_n, cal_s, chk_s, s_val, s_spill)
        return self

    def prepare_inference(self) -> SpillDetector:
        """Make the inference model ``inference_model_`` from ``model_`` (BatchNorm folded, channels-last:
        1.5x faster on CPU); ``fit`` and ``load`` call it once. Call it again only after replacing
        ``model_`` by hand. Returns self."""
        self.inference_model_ = fuse_for_inference(self.model_)
        return self

    @torch.inference_mode()
    def _score_unit(self, x: torch.Tensor, batch: int = 512) -> np.ndarray:
        if self.config.score == "head":
            model = self.inference_model_
            if not isinstance(model, SpillClassifier):
                raise UserError(
                    f"model '{self.config.model}' has no spill head; score 'head' needs e.g. conv_ae_head"
                )
            out = np.empty(len(x), dtype=np.float32)
            for i in range(0, len(x), batch):
                xb = self.prep_(x[i : i + batch]).contiguous(memory_format=torch.channels_last)
                out[i : i + batch] = head_score(model.spill_logit(xb)).numpy()
            return out
        return self._recon_score_unit(x, self.config.score, batch)

    @torch.inference_mode()
    def _recon_score_unit(self, x: torch.Tensor, score: str = "mse", batch: int = 512) -> np.ndarray:
        cfg, score_fn, model = self.config, SCORES[score], self.inference_model_
        out = np.empty(len(x), dtype=np.float32)
        for i in range(0, len(x), batch):
            xb = self.prep_(x[i : i + batch]).contiguous(memory_format=torch.channels_last)
            out[i : i + batch] = score_fn(error_map(xb, model(xb)), cfg.smooth).numpy()
        return out

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        """Anomaly score per image, (N, H, W, 3) uint8 at the configured size -> (N,) float32."""
        return self._score_unit(to_unit(images))

    @property
    def maps_are_probabilities(self) -> bool:
        """True when ``anomaly_maps`` gives p(anomalous) in [0, 1] (a segmentation head), False for
        error maps (standardised units, unbounded)."""
        return isinstance(self.model_, AnomalyMapper)

    @torch.inference_mode()
    def anomaly_maps(self, images: np.ndarray, batch: int = 256) -> np.ndarray:
        """Where each image is anomalous: (N, H, W, 3) uint8 at the input size -> (N, H, W) float32.

        A segmentation head gives p(anomalous) per map cell, bilinearly upsampled to the input size;
        other models give their reconstruction error map, box-smoothed by ``smooth`` (standardised units).
        """
        x, model = to_unit(images), self.inference_model_
        h, w = self.input_size
        out = np.empty((len(x), h, w), np.float32)
        for i in range(0, len(x), batch):
            xb = self.prep_(x[i : i + batch]).contiguous(memory_format=torch.channels_last)
            if isinstance(model, AnomalyMapper):
                m = torch.nn.functional.interpolate(
                    model.anomaly_map(xb), size=(h, w), mode="bilinear", align_corners=False
                )
                out[i : i + batch] = torch.sigmoid(m)[:, 0].numpy()
            else:
                out[i : i + batch] = smooth_map(error_map(xb, model(xb)), self.config.smooth).numpy()
        return out

    def recon_score(self, images: np.ndarray, score: str = "mse") -> np.ndarray:
        """Reconstruction-error score ``score`` (a name in SCORES) per image, (N, H, W, 3) uint8 -> (N,).

        For head models an auxiliary figure only (verdicts use the head); meaningful once the
        decoder is trained (``decoder_fitted_`` or ``recon_weight > 0``).
        """
        return self._recon_score_unit(to_unit(images), score)

    def predict(self, images: np.ndarray, rule: str | None = None) -> np.ndarray:
        """True where an image is flagged as a spill under threshold ``rule`` (default: the chosen one)."""
        return self.score_samples(images) > self.threshold(rule)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) that ``score_samples`` expects (``spillguard.data.decode_image`` resizes to it)."""
        return self.config.input_size

    def threshold(self, rule: str | None = None) -> float:
        """The threshold of ``rule``; UserError if that rule could not be calibrated."""
        return self.thresholds_[check_rule(rule or self.threshold_rule_, self.thresholds_, " in this run")]

    def explain(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs in display form, reconstructions mapped back to RGB [0, 1] where possible, error maps.

        Returns (N, H, W, 3) input, (N, H, W, 3) reconstruction (standardised units undone), (N, H, W) error.
        """
        x = to_unit(images)
        xs, rs = reconstruct(self.model_, self.prep_, x, torch.device("cpu"))
        err = error_map(xs, rs).numpy()
        if self.prep_.colour == "rgb" and self.prep_.illumination == "none":
            rec = rs * self.prep_.std_[:, None, None] + self.prep_.mean_[:, None, None]
        else:  # show the reconstruction in standardised units, rescaled per image
            lo = rs.amin(dim=(1, 2, 3), keepdim=True)
            rec = (rs - lo) / (rs.amax(dim=(1, 2, 3), keepdim=True) - lo).clamp_min(1e-6)
        return images.astype(np.float32) / 255, rec.clamp(0, 1).permute(0, 2, 3, 1).numpy(), err

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the checkpoint (weights, config, normalisation, thresholds, format version)."""
        return save_checkpoint(
            path,
            {
                "spillguard_version": __version__,
                "config": self.config.to_dict(),
                "model_state": self.model_.state_dict(),
                "preprocess": self.prep_.state(),
                "thresholds": dict(self.thresholds_),
                "threshold_rule": self.threshold_rule_,
                "decoder_fitted": bool(self.decoder_fitted_),
                "promise": self.promise_,
            },
            force=force,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpillDetector:
        """Read a checkpoint file (or a run folder holding checkpoint.pt)."""
        data = load_checkpoint(path)
        try:
            config = TrainConfig.from_dict(entry(data, "config", dict, path), source="config")
        except UserError as exc:
            raise damaged(path, str(exc)) from None
        if config.height is None or config.width is None:
            raise damaged(path, "the config has no input size (height/width)")
        det = cls(config)
        det.model_ = build_model(det.config.model, 3, det.config.model_params)
        state = entry(data, "model_state", dict, path)
        if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
            raise damaged(path, "entry 'model_state' is not a mapping of names to tensors")
        own = det.model_.state_dict()
        for k, v in state.items():  # load_state_dict would cast int/bool/complex weights silently
            if k in own and own[k].is_floating_point() and not v.is_floating_point():
                raise damaged(path, f"weight '{k}' is {v.dtype}, not floating point")
        try:
            det.model_.load_state_dict(state)
        except RuntimeError as exc:  # missing/unexpected keys, size mismatch
            first = " ".join(str(exc).split())[:200]
            raise damaged(path, f"the weights do not fit model '{det.config.model}' ({first})") from None
        if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
            raise damaged(path, "the weights hold NaN or infinite values")
        det.model_.eval()
        det.prep_ = _preprocessor(entry(data, "preprocess", dict, path), det.config, path)
        thresholds = entry(data, "thresholds", dict, path)
        det.thresholds_ = {}
        for k, v in thresholds.items():
            if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int | float):
                raise damaged(path, f"threshold {k!r} is {v!r}, not a number")
            if not np.isfinite(v):
                raise damaged(path, f"threshold '{k}' is {v}, not a finite number")
            det.thresholds_[k] = float(v)
        if ("prior" in det.thresholds_) != (det.config.score == "head"):
            raise damaged(
                path,
                f"the thresholds ({', '.join(det.thresholds_)}) are not those of score '{det.config.score}' "
                "(a 'prior' threshold belongs to the head score only)",
            )
        det.threshold_rule_ = entry(data, "threshold_rule", str, path)
        if det.threshold_rule_ not in det.thresholds_:
            raise damaged(path, f"the chosen threshold rule '{det.threshold_rule_}' has no threshold")
        det.decoder_fitted_ = data.get("decoder_fitted", False)
        if not isinstance(det.decoder_fitted_, bool):
            raise damaged(path, f"entry 'decoder_fitted' is {det.decoder_fitted_!r}, not true or false")
        promise = data.get("promise")  # checkpoints made before it have none
        if isinstance(promise, dict) and isinstance(promise.get("fpr_ci"), list | tuple):
            det.promise_ = promise
        det.prepare_inference()
        # finite weights can still overflow (e.g. 1e38, or a standard deviation of 1e-300): a mid-grey
        # probe image must score a finite number
        probe = det.score_samples(np.full((1, *det.input_size, 3), 128, np.uint8))
        if not np.isfinite(probe).all():
            raise damaged(
                path, "the model scores a plain grey image as NaN or infinity (overflowing weights)"
            )
        return det
