"""The demo: a small synthetic data set, a short training, an evaluation and a report, in seconds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sharedcore.atomic import atomic_dir
from spillguard.config import TrainConfig
from spillguard.reporting.run_report import write_report
from spillguard.pipelines.train import evaluate_run, train_run
from spillguard.data.synthetic import SynthSpec, write_synth

# the shipped default (spill head), shortened; the decoder fit is cheap (encoder frozen), so it gets more epochs
DEMO_CONFIG = TrainConfig(epochs=6, decoder_epochs=25, patience=4)


def run_demo(
    out: str | os.PathLike[str], seed: int = 0, force: bool = False, spec: SynthSpec | None = None
) -> Path:
    """Write ``out/data`` (synthetic), ``out/run`` (trained + evaluated) and ``out/report.html``."""
    cfg = TrainConfig(**{**DEMO_CONFIG.to_dict(), "seed": seed})
    with atomic_dir(out, force=force) as tmp:
        data = write_synth(tmp / "data", seed=seed, spec=spec)
        run = train_run(data, tmp / "run", cfg)
        evaluate_run(run, data)
        write_report(run, tmp / "report.html")
        shutil.copy2(run / "metrics.json", tmp / "metrics.json")
    return Path(out) / "report.html"
