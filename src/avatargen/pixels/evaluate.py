"""Fit every pixel model on one collection, sample from each, measure the quality figures and
write PNG samples, grids, montages, plots, a figure table (CSV + JSON) and an HTML report."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from avatargen.pixels import metrics
from avatargen.pixels.collection import Collection, from_images
from avatargen.pixels.methods import METHODS, make_model
from avatargen.pixels.model_base import PerPixelLikelihood, check_alpha
from avatargen.pixels.montage import save_grid, save_montage, save_png
from sharedcore.atomic import atomic_dir, check_output
from sharedcore.console import info, progress
from sharedcore.figures import save_figure
from sharedcore.report import HtmlReport
from sharedcore.validate import check_int

COLUMNS = [
    "method",
    "distinct_colours",
    "unseen_at_position",
    "loo_bits_per_pixel",
    "same_as_left",
    "png_bits_per_pixel",
    "nearest_distance",
    "nearest_identical_share",
    "pairwise_distance",
    "n_nearest",
    "fit_s",
    "sample_per_s",
]

_PLOTTED = [
    ("distinct_colours", "distinct colours per image", True),
    ("same_as_left", "share of pixels equal to left neighbour", False),
    ("png_bits_per_pixel", "optimised PNG, bits/pixel", True),
    ("nearest_distance", "mean RGBA distance to nearest training image", False),
    ("nearest_identical_share", "max share of pixels identical to nearest", False),
    ("pairwise_distance", "mean pairwise distance among samples", False),
]


@dataclass
class Evaluation:
    """What ``run_evaluation`` measured and wrote.

    ``rows``: one figure row per method (keys of ``COLUMNS``); ``reference``: the training images' own
    figures as a table row; ``table``: the reference row then the method rows, as shown in reports;
    ``markdown``: that table as Markdown (``figures.md``); ``reliability_rows`` / ``reliability_rates``
    / ``reliability_markdown``: the coherent model's targets over seeds (empty unless asked for).
    """

    folder: Path
    report: Path
    rows: list[dict[str, Any]]
    reference: dict[str, Any]
    markdown: str
    reliability_rows: list[dict[str, Any]] = field(default_factory=list)
    reliability_rates: dict[str, float] = field(default_factory=dict)
    reliability_markdown: str = ""

    @property
    def table(self) -> list[dict[str, Any]]:
        """The reference row, then one row per method (columns ``COLUMNS``)."""
        return [self.reference, *self.rows]


def as_collection(images: Collection | np.ndarray | Sequence[Any]) -> Collection:
    """Accept a Collection, a (N, H, W, 4) array or a list of Pillow images / arrays."""
    if isinstance(images, Collection):
        return images
    return from_images(list(images))


def evaluate_methods(
    collection: Collection,
    seed: int,
    n_samples: int = 5,
    methods: Sequence[str] = tuple(METHODS),
    alpha: float = 0.0,
    loo_alpha: float = 0.1,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Fit and sample each method; return (one figure row per method, samples per method)."""
    train = collection.images
    rows: list[dict[str, Any]] = []
    samples: dict[str, np.ndarray] = {}
    for method in progress(methods, desc="methods"):
        # every method draws from default_rng(seed): row ``seed`` of the reliability table
        # (target_reliability) is exactly this run's parts figures
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        model = make_model(method, alpha).fit(train)
        t1 = time.perf_counter()
        s = model.sample(n_samples, rng)
        t2 = time.perf_counter()
        row: dict[str, Any] = {"method": method, **metrics.summarise(s, train)}
        row["loo_bits_per_pixel"] = (
            metrics.loo_bits_per_pixel(partial(type(model), loo_alpha), train)
            if isinstance(model, PerPixelLikelihood)
            else "n/a"
        )
        row["fit_s"] = round(t1 - t0, 3)
        row["sample_per_s"] = round(n_samples / max(t2 - t1, 1e-9), 1)
        rows.append(row)
        samples[method] = s
        info(f"{method}: fitted in {t1 - t0:.2f} s, {n_samples} samples in {t2 - t1:.2f} s")
    return rows, samples


def reference_row(collection: Collection) -> dict[str, Any]:
    """The figures of the training images themselves (each against the others)."""
    ref = metrics.training_reference(collection.images)
    return {
        "method": "training images (each vs the rest)",
        "distinct_colours": f"{ref['distinct_colours_min']:.0f}-{ref['distinct_colours_max']:.0f}",
        "unseen_at_position": 0.0,
        "loo_bits_per_pixel": "",
        "same_as_left": ref["same_as_left"],
        "png_bits_per_pixel": ref["png_bits_per_pixel"],
        "nearest_distance": ref["nearest_distance"],
        "nearest_identical_share": ref["nearest_identical_share"],
        "pairwise_distance": ref["pairwise_distance"],
        "n_nearest": "",
        "fit_s": "",
        "sample_per_s": "",
    }


def _plot_figures(rows: list[dict[str, Any]], ref: dict[str, float], path: Path) -> Path:
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    names = [r["method"] for r in rows]
    for ax, (key, title, log) in zip(axes.ravel(), _PLOTTED, strict=True):
        vals = [float(r[key]) for r in rows]
        ax.bar(names, vals, color="#4c78a8")
        t = metrics.TARGETS.get(key)
        if t is not None:
            lo = t.low if t.low is not None else (min([*vals, 0.0]) if not log else 0.01)
            hi = t.high if t.high is not None else max([*vals, 1.0]) * 1.05
            ax.axhspan(lo, hi, color="#54a24b", alpha=0.18, label=f"target {t}")
        if key == "distinct_colours":
            ax.axhspan(ref["distinct_colours_min"], ref["distinct_colours_max"], color="#f58518", alpha=0.25)
            ax.axhline(ref["distinct_colours"], color="#f58518", lw=1.5, label="training range / mean")
        else:
            ax.axhline(ref[key], color="#f58518", lw=1.5, label="training images")
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle("Quality figures per method (means over the samples)")
    fig.tight_layout()
    return save_figure(fig, path)


def _table_markdown(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.1f}" if abs(v) >= 100 else f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def target_reliability(
    train: np.ndarray, seeds: Sequence[int], n_samples: int = 5, alpha: float = 0.0
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The coherent model's targets over several seeds: fit ``parts`` once, draw ``n_samples`` with
    ``default_rng(seed)`` for each seed -> (one figure row per seed with a ``met`` flag per target,
    the share of seeds meeting each target and ``all``, and ``training_subsets_pairwise``: the share of
    the training images' own ``n_samples``-subsets whose mean pairwise distance meets its target)."""
    model = make_model("parts", alpha).fit(train)
    rows: list[dict[str, Any]] = []
    for seed in progress(seeds, desc="seeds"):
        fig = metrics.summarise(model.sample(n_samples, np.random.default_rng(seed)), train)
        met = metrics.targets_met(fig)
        rows.append({"seed": seed, **{k: fig[k] for k in metrics.TARGETS}, "all_met": all(met.values())})
        rows[-1].update({f"{k}_met": v for k, v in met.items()})
    rates = {k: float(np.mean([r[f"{k}_met"] for r in rows])) for k in metrics.TARGETS}
    rates["all"] = float(np.mean([r["all_met"] for r in rows]))
    subsets = metrics.subset_pairwise(metrics.distance_matrix(train), n_samples)
    if subsets.size:
        rates["training_subsets_pairwise"] = float(
            np.mean([metrics.TARGETS["pairwise_distance"].met(v) for v in subsets])
        )
    return rows, rates


def run_evaluation(
    images: Collection | np.ndarray | Sequence[Any],
    out_dir: str | os.PathLike[str],
    seed: int = 0,
    n_samples: int = 5,
    methods: Sequence[str] = tuple(METHODS),
    alpha: float = 0.0,
    loo_alpha: float = 0.1,
    force: bool = False,
    reliability_seeds: int = 0,
) -> Evaluation:
    """Evaluate every method on ``images`` and write the run folder ``out_dir``; return what was measured.

    ``images``: a Collection, a (N, H, W, 4) uint8 array or a list of Pillow images. The folder holds
    ``<method>/sample_XX.png``, ``<method>_grid.png``, ``montage.png``, ``figures.png``,
    ``figures.csv``/``figures.json``/``figures.md`` and ``report.html``; with ``reliability_seeds``
    > 0 also ``reliability.md`` (the coherent model's targets for seeds 0..K-1, ``n_samples`` each).
    """
    check_output(out_dir, force, kind="dir")  # before minutes of fitting and sampling
    check_alpha(alpha)
    check_alpha(loo_alpha, "--loo-alpha")
    col = as_collection(images)
    # leave-one-out likelihood and nearest-other-image distances need at least two images
    check_int(len(col), "images to evaluate", 2, fix="give a folder of at least 2 avatars")
    rows, samples = evaluate_methods(col, seed, n_samples, methods, alpha, loo_alpha)
    ref = metrics.training_reference(col.images)
    ref_row = reference_row(col)
    target = Path(out_dir)
    with atomic_dir(target, force) as tmp:
        for method, s in samples.items():
            for k, img in enumerate(s):
                save_png(img, tmp / method / f"sample_{k:02d}.png")
            save_grid(s, tmp / f"{method}_grid.png")
        train_show = col.images[: max(n_samples, min(len(col), 11))]
        montage_rows = [("training", train_show), *samples.items()]
        captions = [list(col.names[: len(train_show)])] + [
            [f"d={metrics.nearest_training(x, col.images)[1]:.0f}" for x in s] for s in samples.values()
        ]
        save_montage(montage_rows, tmp / "montage.png", captions)
        _plot_figures(rows, ref, tmp / "figures.png")
        all_rows = [ref_row, *rows]
        (tmp / "figures.json").write_text(json.dumps({"reference": ref, "methods": rows}, indent=2) + "\n")
        csv = [",".join(COLUMNS)] + [",".join(str(r.get(c, "")) for c in COLUMNS) for r in all_rows]
        (tmp / "figures.csv").write_text("\n".join(csv) + "\n")
        markdown = _table_markdown(all_rows, COLUMNS)
        (tmp / "figures.md").write_text(markdown)
        report = HtmlReport("Pixels -> avatar: quality figures per method")
        h, w = col.images.shape[1:3]
        report.paragraph(
            f"{len(col)} training images at {w}x{h} (RGBA), seed {seed}, {n_samples} samples per method, "
            f"smoothing alpha={alpha} for sampling, alpha={loo_alpha} for the leave-one-image-out likelihood."
        )
        if col.skipped:
            report.paragraph("Skipped files: " + "; ".join(f"{p.name} ({why})" for p, why in col.skipped))
        if col.resized:
            report.paragraph(f"Resized to {w}x{h}: " + ", ".join(col.resized))
        report.heading("Figures")
        report.table(all_rows, COLUMNS)
        report.paragraph(
            "Targets for the coherent model: "
            + "; ".join(f"{k} {t}" for k, t in metrics.TARGETS.items())
            + ". Distances: mean per-pixel Euclidean RGBA distance (0-510). nearest_identical_share is the "
            "largest over the samples; the others are means over the samples.",
            "note",
        )
        for r in rows:
            met = metrics.targets_met(r)
            report.paragraph(f"{r['method']}: targets met {sum(met.values())}/{len(met)} ({met})", "note")
        report.image("figures.png", "Figures per method against the training images and the targets")
        rel_rows: list[dict[str, Any]] = []
        rates: dict[str, float] = {}
        rel_md = ""
        if reliability_seeds > 0:
            rel_rows, rates = target_reliability(col.images, range(reliability_seeds), n_samples, alpha)
            rel_cols = ["seed", *metrics.TARGETS, "all_met"]
            rate_row = {"seed": "share met", **rates, "all_met": rates["all"]}
            rel_md = _table_markdown([*rel_rows, rate_row], rel_cols)
            if "training_subsets_pairwise" in rates:
                rel_md += (
                    f"\nTraining images' own {n_samples}-subsets meeting the pairwise target: "
                    f"{rates['training_subsets_pairwise']:.3f}\n"
                )
            (tmp / "reliability.md").write_text(rel_md)
            report.heading("Reliability of the coherent model's targets over seeds")
            report.paragraph(
                f"parts, seeds 0..{reliability_seeds - 1}, {n_samples} samples each (default_rng(seed)); "
                f"share of seeds meeting each target: " + ", ".join(f"{k} {v:.0%}" for k, v in rates.items()),
                "note",
            )
        report.heading("Samples")
        report.image(
            "montage.png", "Training images (top) and samples of each method; d = distance to nearest"
        )
        for method in samples:
            report.image(f"{method}_grid.png", f"{method}: {n_samples} samples", width=900)
        report.write(tmp / "report.html")
    return Evaluation(target, target / "report.html", rows, ref_row, markdown, rel_rows, rates, rel_md)


#: Most pixels of one batch of sampled avatars (its grid holds as many again): 2**27 = 512 MB RGBA.
SAMPLE_PIXELS_MAX = 2**27


def sample_to_folder(
    model: Any, n: int, out_dir: str | os.PathLike[str], seed: int, force: bool = False
) -> list[Path]:
    """Draw ``n`` avatars from a fitted model; write ``avatar_XX.png`` and ``grid.png`` into ``out_dir``."""
    check_output(out_dir, force, kind="dir")
    h, w = model.image_shape
    most = max(1, SAMPLE_PIXELS_MAX // (h * w))
    check_int(
        n, "-n", 1, most, fix=f"at {w}x{h} at most {most} avatars fit the {SAMPLE_PIXELS_MAX:,}-pixel budget"
    )
    imgs = model.sample(n, np.random.default_rng(seed))
    target = Path(out_dir)
    with atomic_dir(target, force) as tmp:
        for k, img in enumerate(imgs):
            save_png(img, tmp / f"avatar_{k:02d}.png")
        save_grid(imgs, tmp / "grid.png")
    return [target / f"avatar_{k:02d}.png" for k in range(n)] + [target / "grid.png"]
