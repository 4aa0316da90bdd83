"""The spill detector: preprocessing + reconstruction network + score + thresholds, with a
scikit-learn-like surface (``fit`` returns self, learned state ends with ``_``, ``score``,
``predict``, ``save``/``load``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spillguard import __version__
from spillguard.checkpoint import load_checkpoint, save_checkpoint
from spillguard.config import TrainConfig
from spillguard.decoder_fit import can_fit_decoder, fit_decoder
from spillguard.metrics import evaluate_scores, ranking_metrics
from spillguard.models import build_model
from spillguard.models.fusion import fuse_for_inference
from spillguard.newline.choices import resolve_config
from spillguard.newline.gate import synthetic_check, validation_gate
from spillguard.preprocess import Preprocessor, to_unit
from spillguard.robustness import robustness_aucs
from spillguard.scoring import SCORES, choose_thresholds, error_map
from spillguard.supervised import PRIOR_THRESHOLD, fit_supervised, head_scores
from spillguard.train import fit_model, reconstruct


def limit_threads(default: int = 1) -> None:
    """Cap torch's CPU threads at ``default`` (at most the core count) unless SPILLGUARD_THREADS is set.

    One thread by default: on a shared 2-core machine two torch threads oversubscribe the cores and
    trained 5x and scored 1.6x slower in our measurements (benchmarks/bench_spill.py); scoring runs JPEG
    decoding in a second thread beside it instead.
    """
    env = os.environ.get("SPILLGUARD_THREADS", "")
    n = int(env) if env.isdigit() and int(env) > 0 else min(default, os.cpu_count() or 1)
    torch.set_num_threads(n)


def pick_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _split(n: int, frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random split of range(n) into (first ~frac, rest); both non-empty when n >= 2."""
    perm = rng.permutation(n)
    k = min(max(1, round(frac * n)), n - 1) if n >= 2 else n
    return np.sort(perm[:k]), np.sort(perm[k:])


def recon_metrics(labels: np.ndarray, scores: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """ROC/PR AUC (bootstrap 95% CIs) of a reconstruction-error score (``mse``), beside a head's score."""
    return {"score": "mse", **ranking_metrics(labels, scores, np.random.default_rng(seed))}


class SpillDetector:
    """Flags spills by reconstruction error. ``config`` fixes model, loss, score and input size."""

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()

    def fit(
        self,
        normals: np.ndarray,
        spills: np.ndarray | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None,
    ) -> SpillDetector:
        """Train on normal images (N, H, W, 3) uint8; known spills only validate and set thresholds.

        Normals are split into train / validation; validation normals and spills are each split into
        a calibration part (chooses thresholds) and a check part (reports validation metrics).
        """
        cfg = self.config.validate()
        limit_threads()
        rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        device = pick_device(cfg.device)
        if cfg.max_train and len(normals) > cfg.max_train:
            normals = normals[np.sort(rng.choice(len(normals), cfg.max_train, replace=False))]
        if len(normals) < 4:
            from sharedcore.errors import UserError

            raise UserError(
                f"only {len(normals)} normal training images; at least 4 are needed (thousands are better)"
            )
        # what the config leaves open is chosen from the data (spillguard.newline.choices)
        cfg, self.choices_ = resolve_config(cfg, normals)
        self.config = cfg
        val_idx, train_idx = _split(len(normals), cfg.val_fraction, rng)
        cal_n, chk_n = _split(len(val_idx), cfg.calib_fraction, rng)
        x_train, x_val = to_unit(normals[train_idx]), to_unit(normals[val_idx])
        x_spill = to_unit(spills) if spills is not None and len(spills) else None
        self.prep_ = Preprocessor(cfg.colour, cfg.illumination).fit(x_train)
        self.model_ = build_model(cfg.model, 3, cfg.model_params).to(device)
        t0 = time.perf_counter()
        if cfg.supervision != "none":  # outlier exposure (spillguard.supervised)
            if not hasattr(self.model_, "spill_logit"):
                from sharedcore.errors import UserError

                raise UserError(f"model '{cfg.model}' has no spill head; supervision needs e.g. conv_ae_head")
            fit_s, chk_s0 = _split(len(x_spill) if x_spill is not None else 0, cfg.calib_fraction, rng)
            self.history_ = fit_supervised(
                self.model_, self.prep_, x_train, x_val, cfg, gen, device,
                x_spill[fit_s] if x_spill is not None else None,
                x_spill[chk_s0] if x_spill is not None else None, on_epoch,
            )  # fmt: skip
        else:
            self.history_ = fit_model(
                self.model_, self.prep_, x_train, x_val, cfg, gen, device, x_spill, on_epoch
            )
        self.decoder_history_: list[dict[str, Any]] = []
        self.decoder_fitted_ = cfg.fits_decoder and can_fit_decoder(self.model_)
        if self.decoder_fitted_:  # after the head: its scores and thresholds stay as they are
            self.decoder_history_ = fit_decoder(
                self.model_, self.prep_, x_train, x_val, cfg, device, on_epoch
            )
        self.train_seconds_ = time.perf_counter() - t0
        self.model_ = self.model_.cpu().eval()
        s_val = self._score_unit(x_val)
        s_spill = self._score_unit(x_spill) if x_spill is not None else np.zeros(0)
        cal_s, chk_s = (
            _split(len(s_spill), cfg.calib_fraction, rng)
            if len(s_spill) >= 2
            else (np.arange(len(s_spill)), np.zeros(0, int))
        )
        if cfg.supervision != "none" and len(s_spill):  # keep the spills the head never saw for checks
            cal_s, chk_s = fit_s, chk_s0
        self.thresholds_ = choose_thresholds(
            s_val[cal_n], s_spill[cal_s] if len(cal_s) else None, cfg.target_fpr
        )
        if cfg.score == "head":
            self.thresholds_["prior"] = PRIOR_THRESHOLD
        self.threshold_rule_ = cfg.threshold_rule if cfg.threshold_rule in self.thresholds_ else "fpr"
        labels = np.r_[np.zeros(len(chk_n)), np.ones(len(chk_s))]
        self.validation_ = evaluate_scores(
            labels, np.r_[s_val[chk_n], s_spill[chk_s]], self.thresholds_, cfg.seed
        )
        self.validation_scores_ = {"normal": s_val, "spill": s_spill}
        # robustness without test labels: spill looks and simulated shift (see spillguard.robustness)
        self.validation_["robustness"] = robustness_aucs(
            self, normals[val_idx], spills, cfg.seed, bool(cfg.greyscale)
        )
        # the validation gate: held-out known and held-out synthetic anomalies (spillguard.newline.gate)
        self.validation_["synthetic"] = synthetic_check(
            self, normals[val_idx][chk_n], cfg.seed, bool(cfg.greyscale), cfg.anomalies
        )
        self.gate_ = validation_gate(self.validation_, len(chk_s), self.validation_["synthetic"])
        if (
            self.decoder_fitted_ and x_spill is not None and len(chk_s)
        ):  # auxiliary: the reconstruction error of the fitted decoder
            r_val, r_spill = self._recon_score_unit(x_val[chk_n]), self._recon_score_unit(x_spill[chk_s])
            self.validation_["recon"] = recon_metrics(labels, np.r_[r_val, r_spill], cfg.seed)
        self.validation_images_ = {
            "normal": normals[val_idx],
            "spill": spills if spills is not None else normals[:0],
        }
        self.sizes_ = {
            "train": len(train_idx),
            "val_calib": len(cal_n),
            "val_check": len(chk_n),
            "spill_calib": len(cal_s),
            "spill_check": len(chk_s),
        }
        return self

    @torch.inference_mode()
    def _score_unit(self, x: torch.Tensor, batch: int = 512) -> np.ndarray:
        if self.config.score == "head":
            return head_scores(self.model_, self.prep_, x, batch)
        return self._recon_score_unit(x, self.config.score, batch)

    @torch.inference_mode()
    def _recon_score_unit(self, x: torch.Tensor, score: str = "mse", batch: int = 512) -> np.ndarray:
        cfg, score_fn = self.config, SCORES[score]
        model = fuse_for_inference(self.model_)  # BatchNorm folded, channels-last: 1.5x faster on CPU
        out = np.empty(len(x), dtype=np.float32)
        for i in range(0, len(x), batch):
            xb = self.prep_(x[i : i + batch]).contiguous(memory_format=torch.channels_last)
            out[i : i + batch] = score_fn(error_map(xb, model(xb)), cfg.smooth).numpy()
        return out

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        """Anomaly score per image, (N, H, W, 3) uint8 at the configured size -> (N,) float32."""
        limit_threads()
        return self._score_unit(to_unit(images))

    def recon_score(self, images: np.ndarray, score: str = "mse") -> np.ndarray:
        """Reconstruction-error score ``score`` (a name in SCORES) per image, (N, H, W, 3) uint8 -> (N,).

        For head models an auxiliary figure only (verdicts use the head); meaningful once the
        decoder is trained (``decoder_fitted_`` or ``recon_weight > 0``).
        """
        limit_threads()
        return self._recon_score_unit(to_unit(images), score)

    def predict(self, images: np.ndarray, rule: str | None = None) -> np.ndarray:
        """True where an image is flagged as a spill under threshold ``rule`` (default: the chosen one)."""
        return self.score_samples(images) > self.threshold(rule)

    def threshold(self, rule: str | None = None) -> float:
        """The threshold of ``rule``; UserError if that rule could not be calibrated."""
        r = rule or self.threshold_rule_
        if r not in self.thresholds_:
            from sharedcore.errors import UserError

            raise UserError(
                f"threshold rule '{r}' is not available in this run; choose one of {', '.join(self.thresholds_)}"
            )
        return self.thresholds_[r]

    def explain(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs in display form, reconstructions mapped back to RGB [0, 1] where possible, error maps.

        Returns (N, H, W, 3) input, (N, H, W, 3) reconstruction (standardised units undone), (N, H, W) error.
        """
        limit_threads()
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
                "decoder_fitted": bool(getattr(self, "decoder_fitted_", False)),
            },
            force=force,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SpillDetector:
        """Read a checkpoint file (or a run folder holding checkpoint.pt)."""
        data = load_checkpoint(path)
        det = cls(TrainConfig.from_dict(data["config"], source=str(path)))
        det.model_ = build_model(det.config.model, 3, det.config.model_params)
        det.model_.load_state_dict(data["model_state"])
        det.model_.eval()
        det.prep_ = Preprocessor.from_state(data["preprocess"])
        det.thresholds_ = {k: float(v) for k, v in data["thresholds"].items()}
        det.threshold_rule_ = data["threshold_rule"]
        det.decoder_fitted_ = bool(data.get("decoder_fitted", False))
        return det
