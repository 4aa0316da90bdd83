"""PROXIES for a new line whose real defects look unlike the training looks: does the verdict rule
``prior`` (head p = 0.5) collapse, and does the data-chosen rule catch it? (research only)

Each proxy is a procedural surface set (``spillguard.data.synthetic_surface``: the same normal
surfaces and exposure) whose known (proliv/) AND test defects are all of one hard kind, unlike the
looks the head trains on (draem, cutpaste, crack, hole):

- ``faint``: only faint stains (blob contrast 0.04-0.08, a weak ring), 1-2% of the area;
- ``smooth``: large smooth low-contrast patches (a broad Gaussian bump of 6-12% of the area,
  contrast 0.06-0.10, no edge);
- ``small``: the surface domain's four defect kinds cut to their strongest 0.7-1% of the
  area, at half the contrast;
- ``stain``: ``faint`` at about twice the contrast (0.08-0.14);
- ``blob``: ``smooth`` at about twice the contrast (0.10-0.16), 4-8% of the area;
- ``exposure``: the surface domain's defects, but the test half under 2.5x the training exposure
  range (gain, gamma, gradient) instead of 1.4x: the test normals differ from the validation ones.

They are proxies built to stress the rule, NOT the hidden real set. The untuned default
(``TrainConfig()``, no field fixed) is trained on each; the script records, from the run's own
holdout (never a test label), the held-out known-anomaly TPR and validation-normal TNR at each rule,
and then the test ROC AUC and TPR/TNR per rule (95% CIs), and what the data-chosen rule picked.

Run: ``python research/verdict_rule_proxies.py [--kinds faint smooth small exposure] [--n-train 400]
[--n-proliv 24] [--n-test 250] [--seed 0] [--work /tmp/verdict_rule_proxies]``; a JSON line per proxy is
appended to ``research/verdict_rule_proxies.jsonl`` and the per-image scores kept in WORK/NAME.npz.
``--analyse`` trains nothing: it applies today's ``choose_rule`` to every WORK/*.npz (a run's holdout
scores and its test scores) and prints a markdown table: held-out known TPR / validation-normal TNR
at prior and fpr_bound, the chosen rule and why, and test ROC AUC and TPR / TNR (95% CIs) per rule.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
OUT = Path(__file__).with_name("verdict_rule_proxies.jsonl")
KINDS = ("faint", "smooth", "small", "exposure", "stain", "blob")


def hard_defect(img: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """``img`` (256, 256) float with one defect of proxy ``kind`` (see the module doc)."""
    from scipy.ndimage import gaussian_filter

    from spillguard.data.synthetic_surface import DEFECTS, SIZE, _noise, add_defect

    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    if kind in ("faint", "stain"):
        lo, hi = (0.04, 0.08) if kind == "faint" else (0.08, 0.14)
        r = np.sqrt(rng.uniform(0.01, 0.02) * SIZE * SIZE / np.pi)
        cy, cx = rng.uniform(r + 10, SIZE - r - 10, 2)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / (r * (1 + 0.35 * _noise(rng, 6, 6)))
        blob = gaussian_filter(np.clip((1.0 - d) * 4, 0, 1), 2.0)
        ring = np.exp(-(((d - 0.95) / 0.08) ** 2))
        sign = -1.0 if rng.random() < 0.7 else 1.0
        return img + sign * (rng.uniform(lo, hi) * blob + rng.uniform(0.0, 0.02) * ring)
    if kind in ("smooth", "blob"):
        lo, hi, a0, a1 = (0.06, 0.10, 0.06, 0.12) if kind == "smooth" else (0.10, 0.16, 0.04, 0.08)
        r = np.sqrt(rng.uniform(a0, a1) * SIZE * SIZE / np.pi)
        cy, cx = rng.uniform(r, SIZE - r, 2)
        bump = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.7 * r) ** 2))
        sign = -1.0 if rng.random() < 0.5 else 1.0
        return img + sign * rng.uniform(lo, hi) * bump
    if kind == "small":
        k = DEFECTS[int(rng.integers(0, len(DEFECTS)))]
        # add_defect draws 1-3% of the area: keep its strongest 0.7-1% of pixels at half contrast
        full = add_defect(img, rng, k) - img
        mag = np.abs(full)
        keep = mag >= np.quantile(mag, 1 - rng.uniform(0.007, 0.01))
        return img + 0.5 * full * gaussian_filter(keep.astype(np.float32), 1.0)
    if kind == "exposure":
        return add_defect(img, rng, DEFECTS[int(rng.integers(0, len(DEFECTS)))])
    raise ValueError(kind)


def drawer(kind: str):  # a draw(rng, defect, variation) for write_layout
    from spillguard.data.synthetic_surface import draw_surface, expose

    def draw(rng: np.random.Generator, defect: bool, variation: float) -> np.ndarray:
        if kind == "exposure" and variation > 1:  # the test half (write_layout passes 1.4 there)
            variation = 2.5
        img = draw_surface(rng, variation)
        if defect:
            img = hard_defect(img, rng, kind)
        return expose(img, rng, variation)

    return draw


def rates(scores: np.ndarray, y: np.ndarray, thr: float) -> dict[str, object]:
    """TPR and TNR (flagged: score > thr) with Wilson 95% CIs."""
    from spillguard.metrics.detection import wilson_ci

    pos, neg = scores[y == 1], scores[y == 0]
    tp, tn = int((pos > thr).sum()), int((neg <= thr).sum())
    r: dict[str, object] = {"threshold": round(float(thr), 5)}
    if len(pos):
        r.update(tpr=round(tp / len(pos), 4), tpr_ci=[round(v, 3) for v in wilson_ci(tp, len(pos))])
    if len(neg):
        r.update(tnr=round(tn / len(neg), 4), tnr_ci=[round(v, 3) for v in wilson_ci(tn, len(neg))])
    return r


def analyse(work: Path) -> None:
    """Markdown rows of the rule choice and its test outcome for every saved run in ``work``."""
    from spillguard.metrics.detection import ranking_metrics
    from spillguard.post_processing.thresholds import PRIOR_THRESHOLD, choose_rule, threshold_fpr_bound

    def fmt(r: dict[str, object], key: str) -> str:
        lo, hi = r[f"{key}_ci"]  # type: ignore[misc]
        return f"{r[key]:.2f} [{lo:.2f}, {hi:.2f}]"

    print(
        "| run | held-out known: prior / fpr_bound | val normals TNR: prior / fpr_bound (check half) "
        "| chosen (why) | test ROC AUC | test prior TPR / TNR | test fpr_bound TPR / TNR |"
    )
    print("|---|---|---|---|---|---|---|")
    for f in sorted(work.glob("*.npz")):
        d = np.load(f)
        val, cal, chk = d["val"], d["val"][d["val_calib"]], d["val"][d["val_check"]]
        known = d["known"][d["known_check"]]
        c = choose_rule(val, cal, known, head=True)
        t_b = threshold_fpr_bound(cal)
        y, s = d["test_y"], d["test"]
        auc = ranking_metrics(y, s, np.random.default_rng(0))
        vp, vb = (
            rates(np.r_[val, known], np.r_[np.zeros(len(val)), np.ones(len(known))], PRIOR_THRESHOLD),
            rates(np.r_[chk, known], np.r_[np.zeros(len(chk)), np.ones(len(known))], t_b),
        )
        tp, tb = rates(s, y, PRIOR_THRESHOLD), rates(s, y, t_b)
        k = len(known)
        print(
            f"| {f.stem} | {round(vp['tpr'] * k)}/{k} / {round(vb['tpr'] * k)}/{k} | {vp['tnr']:.2f} ({len(val)}) / "
            f"{vb['tnr']:.2f} ({len(chk)}) | **{c['value']}** ({c['reason']}) | {auc['roc_auc']:.3f} "
            f"[{auc['roc_auc_ci'][0]:.3f}, {auc['roc_auc_ci'][1]:.3f}] | {fmt(tp, 'tpr')} / {fmt(tp, 'tnr')} | "
            f"{fmt(tb, 'tpr')} / {fmt(tb, 'tnr')} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    ap.add_argument("--n-train", type=int, default=400)
    ap.add_argument("--n-proliv", type=int, default=24)
    ap.add_argument("--n-test", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/verdict_rule_proxies"))
    ap.add_argument("--analyse", action="store_true", help="only apply the rule choice to WORK/*.npz")
    a = ap.parse_args()
    if a.analyse:
        analyse(a.work)
        return
    os.environ.setdefault("SPILLGUARD_THREADS", "1")
    from spillguard.compute import limit_threads
    from spillguard.config import TrainConfig
    from spillguard.data import labelled_sources, load_sources
    from spillguard.data.synthetic import write_layout
    from spillguard.data.synthetic_surface import surface_spec
    from spillguard.metrics.detection import ranking_metrics
    from spillguard.pipelines.train import train_run
    from spillguard.post_processing.thresholds import PRIOR_THRESHOLD, threshold_fpr

    limit_threads()
    a.work.mkdir(parents=True, exist_ok=True)
    for kind in a.kinds:
        name = f"{kind}_s{a.seed}_n{a.n_train}_k{a.n_proliv}"
        data = a.work / f"data_{name}"
        if not data.exists():
            spec = surface_spec(a.n_train, a.n_proliv, a.n_test)
            write_layout(data, drawer(kind), ("surf", "defect"), a.seed, spec)
        t0 = time.perf_counter()
        res = train_run(data, a.work / f"run_{name}", TrainConfig(seed=a.seed), force=True)
        wall = time.perf_counter() - t0
        det, h = res.detector, res.detector.holdout_
        ds = load_sources(labelled_sources(data / "test"), det.input_size)
        s_test = det.score_samples(ds.images)
        y = ds.labels.astype(int)
        np.savez(
            a.work / f"{name}.npz",
            val=h.val_scores,
            val_calib=h.val_calib,
            val_check=h.val_check,
            known=h.spill_scores,
            known_calib=h.spill_calib,
            known_check=h.spill_check,
            test=s_test,
            test_y=y,
        )
        cal, chk = h.val_scores[h.val_calib], h.val_scores[h.val_check]
        known_chk = h.spill_scores[h.spill_check]
        thr = {
            "prior": PRIOR_THRESHOLD,
            "fpr1": threshold_fpr(cal, 0.01),
            "fpr5": threshold_fpr(cal, 0.05),
        }
        if det.threshold_rule_ not in ("prior",):
            thr["chosen"] = det.thresholds_[det.threshold_rule_]
        val_y = np.r_[np.zeros(len(chk), int), np.ones(len(known_chk), int)]
        row = {
            "proxy": kind,
            "name": name,
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load": os.getloadavg()[0],
            "choices": {k: v.get("value", v.get("how")) for k, v in res.metrics["choices"].items()},
            "threshold_rule": det.threshold_rule_,
            "gate": {k: res.metrics["gate"][k] for k in ("passed", "known_auc", "synthetic_auc", "warnings")},
            "train_seconds": round(det.train_seconds_, 1),
            "wall_seconds": round(wall, 1),
            "n_val_calib": len(cal),
            "n_val_check": len(chk),
            "n_known_check": len(known_chk),
            # held-out known (check half, never trained on) vs ALL validation normals for prior (no data
            # used), vs the check normals for the quantile rules (the calibration normals chose them)
            "val": {
                r: {
                    **rates(np.r_[chk, known_chk], val_y, t),
                    "tnr_all_val": round(float((h.val_scores <= t).mean()), 4),
                }
                for r, t in thr.items()
            },
            "test": {
                **{
                    k: v
                    for k, v in ranking_metrics(y, s_test, np.random.default_rng(a.seed)).items()
                    if k in ("roc_auc", "roc_auc_ci")
                },
                **{r: rates(s_test, y, t) for r, t in thr.items()},
            },
        }
        print(json.dumps(row))
        with OUT.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
