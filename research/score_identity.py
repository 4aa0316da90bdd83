"""Do two checkouts give the same per-image scores for an experiment variant? (issue 9 follow-up)

Trains one config with ``SpillDetector.fit`` on the real pits exactly as ``spillguard experiment``
does (32x48, the run's own seed, one torch thread) and writes the test-half scores, the validation
scores, the thresholds and the training history to an .npz. It runs unchanged in the flat tree of
the first experiments (``spillguard.data``/``SpillDetector.score``, e.g. commit 9a55c04) and in the
regrouped tree (``score_samples``), so the same command can be run in ``git worktree`` checkouts of
two commits and compared byte for byte:

    (cd OLD && SPILLGUARD_THREADS=1 PYTHONPATH=src python /path/to/research/score_identity.py \
        run src/spillguard/configs/head_synth.yaml /tmp/old.npz [epochs=1 max_train=2000])
    (cd NEW && ... run ... /tmp/new.npz ...)
    PYTHONPATH=src python research/score_identity.py compare /tmp/old.npz /tmp/new.npz

``key=value`` overrides config fields (fields the checkout does not know are dropped and printed).
``compare`` needs the regrouped tree (it prints the experiment table's figures of both files).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time

import numpy as np

DATA = "../shared/data/spills"


def run(config: str, out: str, overrides: list[str]) -> None:
    import torch
    import yaml

    import spillguard.data as data
    from spillguard.config import TrainConfig
    from spillguard.detector import SpillDetector

    torch.set_num_threads(1)
    raw = yaml.safe_load(open(config, encoding="utf-8"))
    for kv in overrides:
        k, v = kv.split("=", 1)
        raw[k] = yaml.safe_load(v)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    dropped = {k: v for k, v in raw.items() if k not in names}
    cfg = TrainConfig(**{k: v for k, v in raw.items() if k in names})
    t0 = time.time()
    ds = data.load_sources(data.training_sources(DATA), (32, 48))
    normals, spills = ds.images[ds.labels == 0], ds.images[ds.labels == 1]
    ts = data.load_sources(data.labelled_sources(DATA + "/test"), (32, 48))
    det = SpillDetector(cfg).fit(normals, spills)
    score = getattr(det, "score_samples", None) or det.score  # regrouped / flat tree
    s = np.asarray(score(ts.images), np.float32)
    vs = getattr(det, "validation_scores_", None)
    if vs is None:
        vs = {"normal": det.holdout_.val_scores, "spill": det.holdout_.spill_scores}
    hist = [{k: h[k] for k in ("epoch", "train_loss", "val_loss", "lr") if k in h} for h in det.history_]
    images = hashlib.sha1(normals.tobytes() + spills.tobytes() + ts.images.tobytes()).hexdigest()
    np.savez(
        out,
        scores=s,
        labels=ts.labels,
        val_normal=np.asarray(vs["normal"], np.float32),
        val_spill=np.asarray(vs["spill"], np.float32),
        images_sha1=np.array(images),
        thresholds=json.dumps(dict(det.thresholds_)),
        history=json.dumps(hist),
        rule=det.threshold_rule_,
    )
    print(f"{out}: dropped {dropped}, {time.time() - t0:.0f} s")


def figures(path: str) -> str:
    from spillguard.metrics.detection import evaluate_scores
    from spillguard.post_processing.thresholds import threshold_stream

    d = np.load(path)
    th, rule = json.loads(str(d["thresholds"])), str(d["rule"])
    th["stream"] = threshold_stream(d["val_normal"].astype(np.float64), d["scores"].astype(np.float64), 0.01)
    m = evaluate_scores(d["labels"], d["scores"].astype(np.float64), th, seed=0)
    a, s = m["at_threshold"][rule], m["at_threshold"]["stream"]
    return (
        f"test ROC AUC {m['roc_auc']:.4f}; {rule} TPR {a['tpr']:.3f} TNR {a['tnr']:.3f}; "
        f"stream TPR {s['tpr']:.3f} TNR {s['tnr']:.3f}"
    )


def compare(a_path: str, b_path: str) -> None:
    a, b = np.load(a_path), np.load(b_path)
    print("same input images:", str(a["images_sha1"]) == str(b["images_sha1"]))
    for k in ("scores", "val_normal", "val_spill"):
        same = a[k].tobytes() == b[k].tobytes()
        diff = np.abs(a[k].astype(np.float64) - b[k]).max() if a[k].shape == b[k].shape else "shapes differ"
        print(f"{k}: byte-identical {same}, max |diff| {diff}")
    print("same thresholds:", str(a["thresholds"]) == str(b["thresholds"]))
    print("same history:", str(a["history"]) == str(b["history"]))
    for p in (a_path, b_path):
        print(p, figures(p))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
