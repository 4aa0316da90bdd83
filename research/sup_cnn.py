"""Small supervised CNN: train normals vs synthetic spills (outlier exposure) [+ proliv, cross-validated].

Chooses nothing on test: validation = 20% of train normals + proliv (held-out folds when proliv is
used for training). Test scores are only reported. Example:
  python research/sup_cnn.py --epochs 6 --proliv none
"""

from __future__ import annotations

import argparse
import time

import common
import numpy as np
import torch
from occlude import occlude
from synthspill import make_spills
from torch import nn
from torch.nn import functional as F

torch.set_num_threads(2)


class Net(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        c = [3, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [
                nn.Conv2d(c[i], c[i + 1], 3, padding=1),
                nn.BatchNorm2d(c[i + 1]),
                nn.ReLU(inplace=True),
            ]
            layers += [
                nn.Conv2d(c[i + 1], c[i + 1], 3, padding=1),
                nn.BatchNorm2d(c[i + 1]),
                nn.ReLU(inplace=True),
            ]
            if i < 2:
                layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(2 * c[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        f = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
        return self.head(f).squeeze(1)


def to_tensor(x: np.ndarray, norm: str, stats: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
    """float [0,1] (B,H,W,3) -> normalised (B,3,H,W)."""
    if norm == "image":
        m = x.mean(axis=(1, 2), keepdims=True)
        s = x.std(axis=(1, 2, 3), keepdims=True) + 0.02
        x = (x - m) / s
    else:
        x = (x - stats[0]) / stats[1]
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))


def zoom(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reframe: one random scale (0.8-1.25 per axis) and offset per batch, nearest sampling."""
    b, h, w, _ = x.shape
    sy, sx = rng.uniform(0.8, 1.25, 2)
    oy, ox = rng.uniform(-0.1, 0.1, 2)
    ys = np.clip(((np.arange(h) + 0.5) / h - 0.5) / sy + 0.5 + oy, 0, 0.999) * h
    xs = np.clip(((np.arange(w) + 0.5) / w - 0.5) / sx + 0.5 + ox, 0, 0.999) * w
    return x[:, ys.astype(int)][:, :, xs.astype(int)]


def augment(x: np.ndarray, rng: np.random.Generator, light: bool, reframe: bool = False) -> np.ndarray:
    """Flip, small shift (or reframe), and (if light) brightness/contrast/gamma/colour jitter."""
    b = len(x)
    flip = rng.random(b) < 0.5
    x = x.copy()
    x[flip] = x[flip, :, ::-1]
    if reframe:
        x = np.concatenate([zoom(x[i : i + 32], rng) for i in range(0, b, 32)])
    else:
        dy, dx = rng.integers(-3, 4), rng.integers(-4, 5)
        x = np.roll(x, (dy, dx), axis=(1, 2))
    if light:
        g = rng.uniform(0.7, 1.4, (b, 1, 1, 1))
        x = np.clip(x, 1e-4, 1) ** g
        c = rng.uniform(0.7, 1.4, (b, 1, 1, 1))
        m = x.mean(axis=(1, 2, 3), keepdims=True)
        x = (x - m) * c + m * rng.uniform(0.8, 1.2, (b, 1, 1, 1))
        x = x * rng.uniform(0.92, 1.08, (b, 1, 1, 3))
        grey = x.mean(axis=3, keepdims=True)
        x = grey + (x - grey) * rng.uniform(0.7, 1.6, (b, 1, 1, 1))
    return np.clip(x, 0, 1).astype(np.float32)


def scores(model: Net, x: np.ndarray, norm: str, stats) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 1024):
            out.append(model(to_tensor(x[i : i + 1024].astype(np.float32) / 255, norm, stats)).numpy())
    return np.concatenate(out)


def train_one(normals: np.ndarray, spills: np.ndarray, args, seed: int) -> Net:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = Net(args.width)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    bs = 128
    steps = args.epochs * (len(normals) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    model.train()
    for step in range(steps):
        xb = normals[rng.integers(0, len(normals), bs)].astype(np.float32) / 255
        half = bs // 2
        pos = xb[:half]
        npro = int(half * args.proliv_frac) if len(spills) else 0
        synth = make_spills(pos[npro:], rng) if args.synth else pos[npro:]
        parts = [xb[half:], synth]
        if npro:
            parts.append(spills[rng.integers(0, len(spills), npro)].astype(np.float32) / 255)
        x = np.concatenate(parts)
        y = np.r_[np.zeros(bs - half), np.ones(len(synth) + npro)].astype(np.float32)
        if not args.synth:
            keep = np.r_[np.ones(bs - half, bool), np.zeros(len(synth), bool), np.ones(npro, bool)]
            x, y = x[keep], y[keep]
        if args.occlude > 0:
            x = occlude(x, rng, args.occlude)
        x = augment(x, rng, args.light, args.zoom)
        loss = F.binary_cross_entropy_with_logits(
            model(to_tensor(x, args.norm, args.stats)), torch.from_numpy(y)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--proliv", choices=["none", "cv"], default="none")
    ap.add_argument("--proliv-frac", type=float, default=0.25)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--no-synth", dest="synth", action="store_false")
    ap.add_argument("--no-light", dest="light", action="store_false")
    ap.add_argument("--norm", choices=["global", "image"], default="global")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--occlude", type=float, default=0.0)
    ap.add_argument("--zoom", action="store_true")
    ap.add_argument("--size", default="32x64")
    ap.add_argument("--name", default="")
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    d = common.load(h, w)
    tr_idx, va_idx = common.split_train(len(d["train"]))
    normals, val = d["train"][tr_idx], d["train"][va_idx]
    f = normals.astype(np.float32) / 255
    args.stats = (f.mean(axis=(0, 1, 2)), f.std(axis=(0, 1, 2)))
    t0 = time.time()
    pro = d["proliv"]
    if args.proliv == "none":
        m = train_one(normals, np.empty((0,)), args, args.seed)
        models = [m]
        pro_scores = scores(m, pro, args.norm, args.stats)
    else:
        # contiguous folds: proliv is a video-like sequence, so neighbours are near-duplicates
        folds = np.array_split(np.arange(len(pro)), args.folds)
        models, pro_scores = [], np.empty(len(pro))
        for k, hold in enumerate(folds):
            fit = np.setdiff1d(np.arange(len(pro)), hold)
            m = train_one(normals, pro[fit], args, args.seed + k)
            models.append(m)
            pro_scores[hold] = scores(m, pro[hold], args.norm, args.stats)
    train_s = time.time() - t0
    val_s = np.mean([scores(m, val, args.norm, args.stats) for m in models], 0)
    t1 = time.time()
    test_s = np.mean([scores(m, d["test"], args.norm, args.stats) for m in models], 0)
    speed = len(d["test"]) / (time.time() - t1)
    thr = {
        "p0.5": 0.0,
        "val_q99": float(np.quantile(val_s, 0.99)),
        "val_q999": float(np.quantile(val_s, 0.999)),
        "proliv_q02": float(np.quantile(pro_scores, 0.02)),
        "stream_q99": common.stream_threshold(test_s, val_s, 0.99),
    }
    name = (
        args.name
        or f"supcnn proliv={args.proliv} synth={args.synth} light={args.light} norm={args.norm} w={args.width} ep={args.epochs} occ={args.occlude} zoom={args.zoom} size={args.size} seed={args.seed}"
    )
    from sklearn.metrics import roc_auc_score

    vauc = roc_auc_score(np.r_[np.zeros(len(val_s)), np.ones(len(pro_scores))], np.r_[val_s, pro_scores])
    common.summary(
        name,
        test_s,
        d["y"],
        thr,
        {
            "val_auc_proliv": round(float(vauc), 4),
            "proliv_tpr_at_valq99": round(float((pro_scores >= thr["val_q99"]).mean()), 4),
            "train_s": round(train_s, 1),
            "img_per_s": round(speed),
        },
    )
    np.save(common.D / f"scores_{name.replace(' ', '_')}.npy", test_s)


if __name__ == "__main__":
    main()
