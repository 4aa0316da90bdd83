"""The demo: a small synthetic data set, a short training, an evaluation and a report, in seconds."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sharedcore.atomic import atomic_dir
from sharedcore.errors import UserError
from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources
from spillguard.data.synthetic import SynthSpec, write_synth
from spillguard.data.synthetic_surface import SurfaceSpec, write_surface
from spillguard.pipelines.evaluate import EvaluationResult, evaluate_detector
from spillguard.pipelines.train import TrainResult, train_run
from spillguard.reporting.run_report import EVALUATION, render_run_report

# the shipped default (spill head), shortened; the decoder fit is cheap (encoder frozen), so it gets more epochs
DEMO_CONFIG = TrainConfig(epochs=6, decoder_epochs=25, patience=4)
# the surface domain: the untuned default with a shorter time budget (input size, looks chosen from the data)
SURFACE_DEMO_CONFIG = TrainConfig(time_budget=60.0, decoder_epochs=25, patience=4)
SURFACE_DEMO_SPEC = SurfaceSpec(n_train=300, n_proliv=30, n_test_normal=80, n_test_spill=20)
DOMAINS = ("pit", "surface")


@dataclass
class DemoResult:
    """What ``run_demo`` wrote into ``folder``: the top-level ``report``, the synthetic ``data``, the
    trained run and its evaluation (their paths point into ``folder``)."""

    folder: Path
    report: Path
    data: Path
    train: TrainResult
    evaluation: EvaluationResult


def run_demo(
    out: str | os.PathLike[str],
    seed: int = 0,
    force: bool = False,
    spec: SynthSpec | None = None,
    domain: str = "pit",
) -> DemoResult:
    """Write ``out/data`` (synthetic), ``out/run`` (trained + evaluated) and ``out/report.html``.

    ``domain``: "pit" (procedural pits, ``spec``) or "surface" (greyscale textured surfaces).

    Everything is built in a temporary folder renamed at the end; files, reports and the result name
    the final paths (``out/data``, ``out/run``), never the temporary one.
    """
    if domain not in DOMAINS:
        raise UserError(f"--domain: value '{domain}' is not one of {', '.join(DOMAINS)}")
    base = SURFACE_DEMO_CONFIG if domain == "surface" else DEMO_CONFIG
    cfg = TrainConfig(**{**base.to_dict(), "seed": seed})
    final = Path(out)
    with atomic_dir(out, force=force) as tmp:
        if domain == "surface":
            data = write_surface(tmp / "data", seed=seed, spec=SURFACE_DEMO_SPEC)
        else:
            data = write_synth(tmp / "data", seed=seed, spec=spec)
        trained = train_run(data, tmp / "run", cfg, shown_as=str(final / "data"))
        size = trained.detector.config.input_size
        ds = load_sources(labelled_sources(data), size, what=str(final / "data"))

        def shown(p: Path) -> Path:  # where a file of the temporary folder will be
            return final / Path(p).relative_to(tmp)

        ds = dataclasses.replace(
            ds, paths=[shown(p) for p in ds.paths], skipped=[(shown(p), why) for p, why in ds.skipped]
        )
        ev = evaluate_detector(
            trained.detector, ds, trained.run / EVALUATION, str(final / "data" / "test"), str(final / "run")
        )
        render_run_report(trained.metrics, trained.run, [(ev.folder, ev.record)])
        render_run_report(trained.metrics, trained.run, [(ev.folder, ev.record)], tmp / "report.html")
        (tmp / "metrics.json").write_text(json.dumps(trained.metrics, indent=1), encoding="utf-8")
    run = final / "run"
    return DemoResult(
        final,
        final / "report.html",
        final / "data",
        dataclasses.replace(trained, run=run),
        dataclasses.replace(ev, folder=run / EVALUATION),
    )
