"""Camera and lighting drift: the line's recent images against the run's validation normals.

Camera and lighting drift is the known cause of false alarms on this line, so the review page compares
the last N scored images with the normals the thresholds were chosen on: score distribution (share of
recent images in each decile of the reference scores, two-sample KS test), brightness and saturation
shift (in reference standard deviations) and the share flagged per hour against the expected rate.
Numpy only: the training pipeline writes the reference (``drift_reference.json``) without web deps.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.atomic import write_text

REFERENCE_FILE = "drift_reference.json"
REFERENCE_VERSION = 1
MIN_RECENT = 30  # fewer recent images than this: no drift verdict, only the figures
KS_ALPHA = 0.01
KS_MIN_STAT = 0.2  # and at least this KS statistic (large N makes tiny shifts "significant")
SHIFT_SD = 1.0  # brightness / saturation shift that warns, in reference standard deviations
RATE_FACTOR = 3.0  # flagged share per hour that warns: above 3x the expected rate (and 3 binomial SEs)
MIN_EXPECTED = 0.01  # expected flag rate at least 1% (a few hundred validation normals cannot show less)


def image_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean brightness (luma) and mean HSV saturation per image, both in [0, 1]; (N, H, W, 3) uint8."""
    x = images.astype(np.float32) / 255.0
    luma = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mx, mn = x.max(axis=-1), x.min(axis=-1)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0)
    return luma.mean(axis=(1, 2)), sat.mean(axis=(1, 2))


@dataclass
class DriftReference:
    """Validation normals of the run: scores (sorted), brightness and saturation; expected flag rate."""

    scores: np.ndarray
    brightness: np.ndarray | None  # None for runs trained before the reference was written
    saturation: np.ndarray | None
    expected_rate: float  # share of validation normals above the verdict threshold (at least 1%)

    @property
    def deciles(self) -> np.ndarray:
        """The 9 inner deciles of the reference scores (bin edges of the score panel)."""
        return np.quantile(self.scores, np.linspace(0.1, 0.9, 9)) if len(self.scores) else np.zeros(9)


def write_drift_reference(
    path: str | os.PathLike[str], normals: np.ndarray, scores: np.ndarray, threshold: float
) -> Path:
    """Write the drift reference of a run: per-image stats of its validation normals (N, H, W, 3) uint8."""
    b, s = image_stats(normals) if len(normals) else (np.zeros(0), np.zeros(0))
    data = {
        "format_version": REFERENCE_VERSION,
        "what": "validation normals of this run: scores, brightness, saturation (spillguard serve drift panel)",
        "threshold": float(threshold),
        "scores": [round(float(v), 6) for v in scores],
        "brightness": [round(float(v), 5) for v in b],
        "saturation": [round(float(v), 5) for v in s],
    }
    return write_text(path, json.dumps(data), force=True)


def load_reference(run: Path, threshold: float, text: str | None = None) -> DriftReference:
    """The drift reference: ``text`` (the JSON an exported model carries) when given, else the run's
    file; older runs fall back to the scores in ``scores_validation.csv``."""
    ref = run / REFERENCE_FILE
    bright = sat = None
    scores = np.zeros(0)
    if text is not None or ref.is_file():
        try:
            data = json.loads(text if text is not None else ref.read_text(encoding="utf-8"))
            if data.get("format_version") == REFERENCE_VERSION:
                scores = np.asarray(data["scores"], dtype=np.float64)
                bright = np.asarray(data["brightness"], dtype=np.float64)
                sat = np.asarray(data["saturation"], dtype=np.float64)
        except (OSError, ValueError, KeyError):
            scores = np.zeros(0)
    if not len(scores) and (run / "scores_validation.csv").is_file():
        with (run / "scores_validation.csv").open(newline="", encoding="utf-8") as fh:
            scores = np.asarray(
                [float(r["score"]) for r in csv.DictReader(fh) if r.get("label") == "0"], dtype=np.float64
            )
    rate = float(np.mean(scores > threshold)) if len(scores) else 0.0
    return DriftReference(np.sort(scores), bright, sat, max(rate, MIN_EXPECTED))


@dataclass
class HourShare:
    """Verdicts in one hour (UTC) and the share flagged."""

    hour: str
    n: int
    flagged: int

    @property
    def share(self) -> float:
        """Flagged / n."""
        return self.flagged / self.n if self.n else 0.0


@dataclass
class DriftReport:
    """What the drift panel shows; ``warnings`` are one-line reasons (empty: no drift seen)."""

    n_recent: int
    n_reference: int
    decile_shares: list[float]  # share of recent scores in each of the 10 reference-decile bins
    ks_stat: float | None
    ks_p: float | None
    brightness_shift: float | None  # (recent mean - reference mean) / reference sd
    saturation_shift: float | None
    brightness: tuple[float, float] | None  # (recent mean, reference mean)
    saturation: tuple[float, float] | None
    expected_rate: float
    recent_rate: float
    hours: list[HourShare] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = dict(self.__dict__)
        d["hours"] = [{"hour": h.hour, "n": h.n, "flagged": h.flagged, "share": h.share} for h in self.hours]
        return d


def _shift(recent: np.ndarray, ref: np.ndarray | None) -> tuple[float | None, tuple[float, float] | None]:
    if ref is None or not len(ref) or not len(recent):
        return None, None
    sd = float(ref.std()) or 1e-6
    return (float(recent.mean()) - float(ref.mean())) / sd, (float(recent.mean()), float(ref.mean()))


def _rate_alarm(flagged: int, n: int, expected: float) -> bool:
    se = math.sqrt(max(expected * (1 - expected), 1e-6) / max(n, 1))
    return n >= MIN_RECENT and flagged / n > max(RATE_FACTOR * expected, expected + 3 * se)


def drift_report(
    ref: DriftReference,
    scores: np.ndarray,
    brightness: np.ndarray,
    saturation: np.ndarray,
    flagged: np.ndarray,
    hours: list[HourShare],
) -> DriftReport:
    """Compare the recent images (scores, stats, flagged as bools; newest first or any order) with ``ref``."""
    from scipy.stats import ks_2samp

    n = len(scores)
    bins = np.searchsorted(ref.deciles, scores, side="right") if n else np.zeros(0, int)
    shares = (np.bincount(bins, minlength=10)[:10] / max(n, 1)).tolist()
    ks_stat = ks_p = None
    if n and len(ref.scores):
        res = ks_2samp(scores, ref.scores)
        ks_stat, ks_p = float(res.statistic), float(res.pvalue)
    b_shift, b = _shift(brightness, ref.brightness)
    s_shift, s = _shift(saturation, ref.saturation)
    rate = float(np.mean(flagged)) if n else 0.0
    report = DriftReport(
        n, len(ref.scores), shares, ks_stat, ks_p, b_shift, s_shift, b, s, ref.expected_rate, rate, hours
    )
    if n < MIN_RECENT:
        return report
    w = report.warnings
    if ks_stat is not None and ks_p is not None and ks_p < KS_ALPHA and ks_stat >= KS_MIN_STAT:
        w.append(
            f"score distribution has moved away from the validation normals (KS {ks_stat:.2f}, p {ks_p:.1g})"
        )
    for name, shift in (("brightness", b_shift), ("saturation", s_shift)):
        if shift is not None and abs(shift) >= SHIFT_SD:
            w.append(
                f"{name} is {abs(shift):.1f} SD {'above' if shift > 0 else 'below'} the validation normals: "
                "check the camera and the lighting"
            )
    if _rate_alarm(int(np.sum(flagged)), n, ref.expected_rate):
        w.append(
            f"{rate:.1%} of the last {n} images flagged; normals like the validation ones give about "
            f"{ref.expected_rate:.1%}: a run of spills, or drift"
        )
    for h in hours if len(hours) > 1 else []:
        if _rate_alarm(h.flagged, h.n, ref.expected_rate):
            w.append(
                f"hour {h.hour}: {h.share:.1%} of {h.n} images flagged (expected {ref.expected_rate:.1%})"
            )
    return report
