"""The demo: a small synthetic data set, a short training, an evaluation and a report, in seconds."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sharedcore.atomic import atomic_dir
from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources
from spillguard.data.synthetic import SynthSpec, write_synth
from spillguard.pipelines.evaluate import evaluate_detector
from spillguard.pipelines.train import train_run
from spillguard.reporting.run_report import EVALUATION, render_run_report

# the shipped default (spill head), shortened; the decoder fit is cheap (encoder frozen), so it gets more epochs
DEMO_CONFIG = TrainConfig(epochs=6, decoder_epochs=25, patience=4)


def run_demo(
    out: str | os.PathLike[str], seed: int = 0, force: bool = False, spec: SynthSpec | None = None
) -> Path:
    """Write ``out/data`` (synthetic), ``out/run`` (trained + evaluated) and ``out/report.html``.

    Everything is built in a temporary folder renamed at the end; files and reports name the final
    paths (``out/data``, ``out/run``), never the temporary one.
    """
    cfg = TrainConfig(**{**DEMO_CONFIG.to_dict(), "seed": seed})
    final = Path(out)
    with atomic_dir(out, force=force) as tmp:
        data = write_synth(tmp / "data", seed=seed, spec=spec)
        trained = train_run(data, tmp / "run", cfg, shown_as=str(final / "data"))
        ds = load_sources(labelled_sources(data), (cfg.height, cfg.width), what=str(final / "data"))
        ev = evaluate_detector(
            trained.detector, ds, trained.run / EVALUATION, str(final / "data" / "test"), str(final / "run")
        )
        render_run_report(trained.metrics, trained.run, [(ev.folder, ev.record)])
        render_run_report(trained.metrics, trained.run, [(ev.folder, ev.record)], tmp / "report.html")
        (tmp / "metrics.json").write_text(json.dumps(trained.metrics, indent=1), encoding="utf-8")
    return final / "report.html"
