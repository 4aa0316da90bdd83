"""The avatargen main job on built-in data: styles -> experiments -> avatars -> pixel-model avatars.

Everything runs without ../shared: the styles come from the documented example table shipped in
``avatargen/data``, and the avatar collection for the pixel models is drawn by the renderer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from avatargen.pixels.collection import Collection, load_collection
from avatargen.pixels.evaluate import COLUMNS, Evaluation, run_evaluation
from avatargen.render.draw import draw_collection
from avatargen.render.gallery import Gallery, draw_gallery
from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES
from avatargen.styles.experiment import StyleExperiment, run_experiment
from sharedcore.atomic import atomic_dir, check_output
from sharedcore.console import info
from sharedcore.report import HtmlReport


@dataclass
class Demo:
    """What ``run_demo`` wrote into ``folder``: the top-level ``report`` and each stage's result
    (their paths point into ``folder``)."""

    folder: Path
    report: Path
    styles: StyleExperiment
    avatars: Gallery
    pixels: Evaluation
    pixels_source: str


def run_demo(
    out_dir: str | os.PathLike[str],
    seed: int = 0,
    styles: str | os.PathLike[str] | None = None,
    rules: str | os.PathLike[str] | None = None,
    avatars: str | os.PathLike[str] | None = None,
    n_avatars: int = 16,
    n_collection: int = 16,
    n_generated: int = 5,
    force: bool = False,
) -> Demo:
    """Run the whole avatargen job into ``out_dir`` (built atomically); return every stage's result.

    ``styles``: a styles table or counts file (default: the built-in example table and its rules).
    ``avatars``: a folder of avatar images for the pixel models (default: ``n_collection`` avatars
    drawn by the renderer from the fitted style model, at 528x560).
    """
    data = Path(styles) if styles is not None else EXAMPLE_STYLES
    rule_file = rules if rules is not None else (EXAMPLE_RULES if styles is None else None)
    target = check_output(out_dir, force, kind="dir", inputs=[styles, rules, avatars])
    with atomic_dir(target, force=force) as tmp:
        info(f"[1/3] styles: fitting and experiments on {data}")
        experiment = run_experiment(data, tmp / "styles", seed=seed, rules=rule_file)
        model = experiment.model

        info(f"[2/3] avatars: drawing {n_avatars} sampled styles")
        gallery = draw_gallery(model, tmp / "avatars", n=n_avatars, seed=seed, unique=True)

        if avatars is not None:
            info(f"[3/3] pixels: loading the avatar collection {avatars}")
            collection = load_collection(avatars)
            source = f"{avatars} ({len(collection.images)} images)"
            images: Collection | list[Image.Image] = collection
        else:
            info(f"[3/3] pixels: drawing a collection of {n_collection} avatars with the renderer")
            images = draw_collection(n_collection, seed=seed, model=model)
            source = f"{n_collection} avatars drawn by the renderer from the style model (seed {seed})"
        evaluation = run_evaluation(images, tmp / "pixels", seed=seed, n_samples=n_generated)
        result = Demo(
            target,
            target / "report.html",
            replace(experiment, folder=target / "styles", report=target / "styles" / "report.html"),
            replace(gallery, folder=target / "avatars"),
            replace(evaluation, folder=target / "pixels", report=target / "pixels" / "report.html"),
            source,
        )
        demo_report(result, seed, data).write(tmp / "report.html")
    return result


def demo_report(result: Demo, seed: int, data: Path) -> HtmlReport:
    """The top-level demo page: links to each stage's report, its main figures and the pixel figures table."""
    rep = HtmlReport("avatargen demo")
    rep.paragraph(
        f"Seed {seed}. Styles data: {data}. Pixel-model training collection: {result.pixels_source}."
    )
    rep.heading("1. Style model and experiments")
    rep.raw(
        '<p><a href="styles/report.html">Full styles report</a> (marginals, conditionals, '
        "consistency, Bayes queries, value and alpha effects, mutual information, diversity).</p>"
    )
    for png, cap in (
        ("value_effects.png", "How attribute values shift style probabilities"),
        ("diversity.png", "Diversity and uniqueness versus sample size"),
    ):
        if png in result.styles.figures:
            rep.image(f"styles/{png}", cap, width=520)
    rep.heading("2. Sampled styles drawn as avatars")
    rep.raw(
        '<p><a href="avatars/report.html">Avatar gallery</a>; styles with their probabilities in '
        "<code>avatars/styles.csv</code>.</p>"
    )
    rep.image(
        "avatars/grid.png", f"{len(result.avatars.styles)} unique sampled styles, probability under each"
    )
    rep.heading("3. New avatars from pixel colour distributions")
    rep.raw('<p><a href="pixels/report.html">Pixel-model report</a>: every method, every figure.</p>')
    rep.image("pixels/montage.png", "Training collection (top) and samples of each method")
    rep.table(result.pixels.table, COLUMNS)
    return rep
