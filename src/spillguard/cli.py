"""The `spillguard` command line: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from sharedcore.atomic import check_output
from sharedcore.console import info, make_app, run_cli
from sharedcore.errors import UserError
from sharedcore.extras import require
from sharedcore.validate import seed_option
from spillguard import __version__
from spillguard.compute import limit_threads
from spillguard.config import TrainConfig
from spillguard.data import report_skips
from spillguard.data.synthetic import SynthSpec, write_synth
from spillguard.deploy.backends import is_onnx_file, resolve_backend
from spillguard.pipelines.predict import predict_paths, write_predictions

# Only the core dependencies (numpy, Pillow, typer, tqdm, PyYAML) are imported at start-up. Modules
# that import an install extra's packages (torch, scipy, scikit-learn, matplotlib, ...) are imported
# inside the commands that need them, after `require` has checked that extra (one line and exit 2
# when missing, see sharedcore.extras), so that `--help` and scoring an exported model run on the
# core plus the `runtime` extra.

#: This tool's install extras, in the order a missing package is looked up (sharedcore.extras).
EXTRAS = ("train", "runtime", "export", "serve", "cluster", "plant", "wandb")


def _torch(command: str, *extras: str) -> None:
    """A command that runs torch: one line naming what is missing and the pip command of ``extras``
    (default ``train``); torch's threads, once."""
    require(f"spillguard {command}", *(extras or ("train",)))
    limit_threads()


def _model_extra(run: Path, backend: str) -> str:
    """The extra that scoring ``run`` on ``backend`` needs: runtime (an exported model), export (a run
    folder exported in memory for onnxruntime) or train (a run folder on torch)."""
    if is_onnx_file(run):
        return "runtime"
    return "export" if resolve_backend(run, backend) == "onnx" else "train"


app = make_app(
    "spillguard",
    "Spill detector for pit images: convolutional autoencoder, thresholds, metrics and reports.",
    __version__,
)


def _config(config: Path | None, overrides: dict[str, object]) -> TrainConfig:
    base = TrainConfig.from_yaml(config).to_dict() if config else TrainConfig().to_dict()
    base.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(base, source=str(config) if config else "command line")


@app.command()
def synth(
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder to create (course layout: train/, proliv/, test/)."
    ),
    seed: int = typer.Option(
        0, callback=seed_option, help="Random seed; the same seed gives the same files."
    ),
    domain: str = typer.Option(
        "pit",
        help="pit (about 49x28 colour pits with spills) or surface (256x256 greyscale textures with defects).",
    ),
    n_train: int | None = typer.Option(None, help="Normal training images [pit 800, surface 500]."),
    n_proliv: int | None = typer.Option(None, help="Known anomalies in proliv/ [pit 60, surface 30]."),
    n_test: int | None = typer.Option(
        None, help="Test images [pit 300 with 10% spills, surface 250 with 20% defects]."
    ),
    force: bool = typer.Option(False, help="Replace an existing non-empty folder."),
) -> None:
    """Make a procedural data set in the course layout: pits with spills, or textured surfaces with
    scratches, cracks, holes and stains (``--domain surface``)."""
    SynthSpec(  # the options as given, before deriving
        800 if n_train is None else n_train,
        60 if n_proliv is None else n_proliv,
        300 if n_test is None else n_test,
        0,
    ).validate()
    if domain == "surface":
        require("spillguard synth --domain surface", "train", packages=("scipy",))
        from spillguard.data.synthetic_surface import surface_spec, write_surface

        print(write_surface(out, seed=seed, spec=surface_spec(n_train, n_proliv, n_test), force=force))
        return
    if domain != "pit":
        raise UserError(f"--domain: value '{domain}' is not one of pit, surface")
    n_t = 300 if n_test is None else n_test
    n_spill = max(1, n_t // 10)
    spec = SynthSpec(
        800 if n_train is None else n_train,
        60 if n_proliv is None else n_proliv,
        max(1, n_t - n_spill),
        n_spill,
    )
    print(write_synth(out, seed=seed, spec=spec, force=force))


@app.command()
def train(
    data: Path = typer.Argument(
        ..., help="Course layout folder, normal/ + anomalous/ folders, or a CSV manifest."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to create (e.g. runs/NAME)."),
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML file of TrainConfig fields."),
    epochs: int | None = typer.Option(None, help="Maximum epochs (early stopping may end sooner)."),
    seed: int | None = typer.Option(
        None, callback=seed_option, help="Random seed (splits, initialisation, batches)."
    ),
    max_train: int | None = typer.Option(None, help="Use at most this many normal images."),
    score: str | None = typer.Option(
        None,
        help="Anomaly score. Default: head (the spill head of the shipped conv_ae_head). With a "
        "reconstruction config (e.g. -c src/spillguard/configs/ae_core.yaml): local (max of the "
        "box-smoothed error map), mse or combined.",
    ),
    threshold_rule: str | None = typer.Option(
        None,
        help="Verdict threshold rule. Default: chosen on held-out data: prior (the head's own p(spill) = "
        "0.5; head score only) when held-out known anomalies support it, else fpr_bound (expected 5% false "
        "alarms on validation normals); or fpr (1% false alarms on validation normals) or balanced "
        "(TPR = TNR; needs known spills).",
    ),
    target_fpr: float | None = typer.Option(
        None, help="False-alarm rate of the fpr rule on validation normals (default 0.01)."
    ),
    device: str | None = typer.Option(None, help="auto (CUDA when present), cpu or cuda."),
    strict: bool = typer.Option(False, help="Stop at the first unusable input file instead of skipping it."),
    force: bool = typer.Option(False, help="Replace an existing non-empty run folder."),
    wandb: bool = typer.Option(False, "--wandb", help="Also log to Weights & Biases (honours WANDB_MODE)."),
    require_auc: float | None = typer.Option(
        None,
        "--require-auc",
        help="Exit with code 2 (the run is still written) when the validation gate AUC (held-out known "
        "and synthetic anomalies vs validation normals) is below this, or cannot be measured.",
    ),
) -> None:
    """Train a detector on normal images and write a run folder with checkpoint, metrics and report.

    Input size, epochs, batch size and synthetic anomaly looks are chosen from the data unless the
    config fixes them; the validation gate warns when held-out anomalies separate weakly."""
    _torch("train")
    from spillguard.pipelines.train import train_run

    cfg = _config(
        config,
        {
            "epochs": epochs,
            "seed": seed,
            "max_train": max_train,
            "score": score,
            "threshold_rule": threshold_rule,
            "target_fpr": target_fpr,
            "device": device,
        },
    )
    res = train_run(data, out, cfg, strict=strict, force=force, wandb=wandb, require_auc=require_auc)
    print(res.run / "report.html")


@app.command()
def evaluate(
    run: Path = typer.Argument(..., help="Run folder made by 'spillguard train'."),
    test: Path = typer.Argument(
        ..., help="Labelled images: course test/ (imgs + annotation), normal/ + anomalous/, or CSV."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the results (default RUN/evaluation)."
    ),
    strict: bool = typer.Option(
        False, help="Stop at the first unusable or missing file instead of skipping it."
    ),
    force: bool = typer.Option(False, help="Replace an existing results folder."),
    masks: Path | None = typer.Option(
        None,
        "--masks",
        help="Folder of defect masks named as the images (.png, 255 = defect; none = defect-free): adds "
        "pixel_roc_auc and pixel_pro (per-region overlap to FPR 0.3) of the anomaly maps.",
    ),
) -> None:
    """Measure the detector on labelled images at every threshold rule, with 95% confidence intervals."""
    _torch("evaluate")
    from spillguard.pipelines.evaluate import evaluate_run

    res = evaluate_run(run, test, out, strict=strict, force=force, masks=masks)
    folder, m = res.folder, res.metrics
    print(
        f"ROC AUC {m['roc_auc']:.4f} [{m['roc_auc_ci'][0]:.4f}, {m['roc_auc_ci'][1]:.4f}]  "
        f"PR AUC {m['pr_auc']:.4f}  ({m['n_normal']} normal, {m['n_spill']} spill)"
    )
    for rule, t in m["at_threshold"].items():
        print(
            f"{rule:>9}: TPR {t['tpr']:.3f} [{t['tpr_ci'][0]:.3f}, {t['tpr_ci'][1]:.3f}]  "
            f"TNR {t['tnr']:.3f} [{t['tnr_ci'][0]:.3f}, {t['tnr_ci'][1]:.3f}]  threshold {t['threshold']:.4g}"
        )
    if "pixel_roc_auc" in m:
        print(
            f"pixel ROC AUC {m['pixel_roc_auc']:.4f}  PRO (to FPR 0.3) {m['pixel_pro']:.4f}  ({m['n_regions']} defect regions)"
        )
    if "promise_check" in m:
        pc = m["promise_check"]
        lo, hi = pc["promised_fpr_ci"]
        print(
            f"false alarms: {pc['measured_fpr']:.1%} of {pc['n_normal']} normals; promised {pc['promised_fpr']:.1%} "
            f"[{lo:.1%}, {hi:.1%}]: {'inside' if pc['inside'] else 'outside'} the interval, "
            f"{'kept' if pc['kept'] else 'NOT kept'} (at most {hi:.1%}), "
            f"{'consistent' if pc['consistent'] else 'NOT consistent'} with it"
        )
    if "recon" in m:
        r = m["recon"]
        print(
            f"auxiliary reconstruction error ({r['score']}, not used for verdicts): ROC AUC "
            f"{r['roc_auc']:.4f} [{r['roc_auc_ci'][0]:.4f}, {r['roc_auc_ci'][1]:.4f}]"
        )
    print(folder)


@app.command()
def predict(
    run: Path = typer.Argument(
        ..., help="Run folder made by 'spillguard train', or a model.onnx from 'export'."
    ),
    paths: list[str] = typer.Argument(..., help="Image files, folders or glob patterns."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Also write path,score,verdict to this CSV."),
    rule: str | None = typer.Option(None, help="Threshold rule (default: the run's)."),
    backend: str = typer.Option(
        "auto", help="torch, onnx (onnxruntime; a run folder is exported in memory) or auto (onnx for .onnx)."
    ),
    cluster: str | None = typer.Option(
        None, help="Score on Dask: local, local:N (workers) or a scheduler address tcp://HOST:PORT; needs -o."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="With --cluster: Parquet dataset folder (one part per partition)."
    ),
    partition_size: int = typer.Option(
        5000, help="With --cluster: images per partition (one task, one part)."
    ),
    resume: bool = typer.Option(
        False, help="With --cluster: keep the parts of an interrupted run, score the rest."
    ),
    strict: bool = typer.Option(False, help="Stop at the first unusable file instead of skipping it."),
    force: bool = typer.Option(False, help="Overwrite an existing CSV, verdict dataset or maps folder."),
    maps: Path | None = typer.Option(
        None,
        "--maps",
        help="Also write one heatmap PNG per image (the anomaly map over the image) into this folder.",
    ),
) -> None:
    """Score images and print score and verdict (spill / normal) per image, in-process or on a Dask cluster."""
    extra = _model_extra(run, backend)
    if extra == "runtime":
        require("spillguard predict", "runtime")
    else:  # a run folder scores on torch, or is exported in memory for onnx
        _torch("predict RUN", extra)
    if cluster is not None or out is not None:
        if cluster is None or out is None or csv_out is not None or strict:
            raise UserError(
                "--cluster and -o/--out go together (a Parquet dataset); --csv and --strict are in-process only"
            )
        require("spillguard predict --cluster", "cluster")
        from spillguard.deploy.cluster import report as report_archive
        from spillguard.deploy.cluster import score_archive

        report_archive(
            score_archive(run, paths, out, cluster, backend, rule, partition_size, resume=resume, force=force)
        )
        return
    if resume:
        raise UserError("--resume continues a --cluster run; add --cluster and -o")
    if maps is not None:
        from spillguard.pipelines.predict import write_prediction_maps

        if is_onnx_file(run):
            raise UserError(f"{run}: an exported model has no anomaly maps; give the run folder for --maps")
        check_output(maps, force, kind="dir", inputs=[run])
    if csv_out is not None:
        from spillguard.deploy.backends import run_files

        check_output(csv_out, force, kind="file", inputs=[run, *run_files(run)])
    rows, skipped = predict_paths(run, paths, rule=rule, strict=strict, backend=backend, output=csv_out)
    report_skips(skipped, listed_in=str(csv_out) if csv_out is not None else None)
    if csv_out is not None:
        write_predictions(csv_out, rows, force=force, skipped=skipped)
        info(f"wrote {len(rows) + len(skipped)} rows to {csv_out}")
    else:
        for p, s, v in rows:
            print(f"{p}\t{s:.5g}\t{'spill' if v else 'normal'}")
    if maps is not None:
        write_prediction_maps(run, [p for p, _, _ in rows], maps, force=force)
        info(f"wrote {len(rows)} heatmap(s) to {maps}")
    n_spill = sum(v for _, _, v in rows)
    info(f"{n_spill} of {len(rows)} image(s) flagged as spill")
    if skipped:  # also with --quiet: a file not scored is never silent
        where = f" (rows with their reason in {csv_out})" if csv_out is not None else ""
        print(f"spillguard: skipped {len(skipped)} file(s) that could not be scored{where}", file=sys.stderr)


@app.command()
def export(
    run: Path = typer.Argument(..., help="Run folder made by 'spillguard train'."),
    out: Path = typer.Option(..., "--out", "-o", help="ONNX file to write, e.g. model.onnx."),
    force: bool = typer.Option(False, help="Overwrite an existing file."),
) -> None:
    """Export the whole scoring graph (uint8 images at the input size -> score, p(spill)) as ONNX."""
    _torch("export", "export")
    from spillguard.deploy.backends import run_files
    from spillguard.deploy.export import export_run

    check_output(out, force, kind="file", inputs=[run, *run_files(run)])
    path, err = export_run(run, out, force=force)
    info(f"onnxruntime matches torch on check images (max relative difference {err:.1e})")
    print(path)


@app.command()
def report(run: Path = typer.Argument(..., help="Run folder made by 'spillguard train'.")) -> None:
    """Rebuild the run's plots and HTML report from its files."""
    require("spillguard report", "train", packages=("matplotlib", "sklearn"))  # no torch
    if not (run / "metrics.json").is_file():
        raise UserError(f"{run}: no metrics.json; point to a run folder made by 'spillguard train'")
    from spillguard.reporting.run_report import rebuild_report

    print(rebuild_report(run))


@app.command()
def demo(
    out: Path = typer.Option(..., "--out", "-o", help="Folder to create: data/, run/, report.html."),
    seed: int = typer.Option(0, callback=seed_option, help="Random seed."),
    domain: str = typer.Option(
        "pit", help="pit or surface (greyscale textures; the untuned default, ~2 min)."
    ),
    force: bool = typer.Option(False, help="Replace an existing non-empty folder."),
) -> None:
    """Synthesise a small data set, train briefly, evaluate and write the report; prints its path."""
    _torch("demo")
    from spillguard.pipelines.demo import run_demo

    print(run_demo(out, seed=seed, force=force, domain=domain).report)


@app.command()
def experiment(
    configs: list[Path] = typer.Argument(
        ..., help="YAML configs, one variant each (named by file stem); see src/spillguard/configs/."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Experiment folder to create."),
    data: Path = typer.Option(..., "--data", "-d", help="Training data (course layout, folders or CSV)."),
    test: Path | None = typer.Option(
        None, "--test", "-t", help="Labelled evaluation images (default DATA/test)."
    ),
    epochs: int | None = typer.Option(None, help="Override every config's maximum epochs."),
    max_train: int | None = typer.Option(None, help="Override: use at most this many normal images."),
    seed: int | None = typer.Option(None, callback=seed_option, help="Override every config's seed."),
    strict: bool = typer.Option(False, help="Stop at the first unusable input file instead of skipping it."),
    force: bool = typer.Option(False, help="Replace an existing non-empty experiment folder."),
    wandb: bool = typer.Option(
        False, "--wandb", help="Also log every run to Weights & Biases (honours WANDB_MODE)."
    ),
) -> None:
    """Train and evaluate several variants; write a comparison table, ROC curves, error analysis, report."""
    _torch("experiment")
    from spillguard.pipelines.experiment import run_experiment

    res = run_experiment(
        configs,
        data,
        test if test is not None else data / "test",
        out,
        {"epochs": epochs, "max_train": max_train, "seed": seed},
        wandb=wandb,
        strict=strict,
        force=force,
    )
    print(res.folder / "report.html")


@app.command()
def serve(
    run: Path = typer.Argument(
        ..., help="Run folder made by 'spillguard train', or a model.onnx from 'export' (the model to serve)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on; beyond loopback a token is required."),
    port: int = typer.Option(8000, help="TCP port (0: a free port, printed at start)."),
    db: str = typer.Option(
        "verdicts.sqlite",
        envvar="SPILLGUARD_DB",
        help="SQLite file of verdicts and feedback, or postgresql://user@host/dbname for a plant "
        "(several instances on one database; or SPILLGUARD_DB).",
    ),
    store: Path | None = typer.Option(
        None, help="Folder of kept images (SQLite; default '<db stem>-images' beside the db)."
    ),
    line: str | None = typer.Option(
        None, help="The line this instance serves: stored on each verdict, its live model kept in the db."
    ),
    mqtt: str | None = typer.Option(
        None, help="mqtt://host:port/prefix: publish each verdict to PREFIX/LINE/CAMERA/verdict (QoS 1)."
    ),
    model_poll: float = typer.Option(2.0, help="Seconds between checks of the line's live model (--line)."),
    token: str | None = typer.Option(
        None, envvar="SPILLGUARD_TOKEN", help="Bearer token of feedback and reload (or SPILLGUARD_TOKEN)."
    ),
    rule: str | None = typer.Option(None, help="Threshold rule of the verdicts (default: the run's)."),
    sample_normals: float = typer.Option(0.05, help="Share of normal images kept for retraining (0..1)."),
    max_mb: float = typer.Option(5.0, help="Largest accepted image, MB (larger: HTTP 413)."),
    max_pixels: int = typer.Option(4_000_000, help="Largest accepted image, pixels (larger: HTTP 422)."),
    max_batch: int = typer.Option(1024, help="Most images in one /v1/score/batch request."),
    score_batch: int = typer.Option(
        256, help="Most images per model call: concurrent requests are scored together (1: one by one)."
    ),
    backend: str = typer.Option(
        "auto",
        help="auto (onnx for .onnx, torch for a run folder), onnx (a run folder exported in memory; "
        "torch still explains) or torch. Reload accepts either kind under auto.",
    ),
) -> None:
    """Serve the model over HTTP: /v1/score, /v1/score/batch, /review, /metrics, /docs (until SIGTERM)."""
    from spillguard.deploy.service.config import ServiceConfig, limits_from_options

    cfg = ServiceConfig(  # every option checked here, before the model is loaded or a port opened
        run=run,
        db=db,
        store=store,
        token=token,
        rule=rule,
        sample_normals=sample_normals,
        limits=limits_from_options(max_mb, max_pixels, max_batch),
        score_batch=score_batch,
        host=host,
        port=port,
        line=line,
        mqtt=mqtt,
        model_poll=model_poll,
    )
    extra = _model_extra(run, backend)
    if extra == "runtime":
        require("spillguard serve", "serve", "runtime")
    else:
        _torch("serve RUN", "serve", extra)
    from spillguard.deploy.service.main import serve as run_server
    from spillguard.deploy.service.model import backend_loader

    cfg.loader = backend_loader(backend)
    run_server(cfg)


feedback_app = typer.Typer(help="Operators' labels from the review page.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("export")
def feedback_export(
    db: str = typer.Argument(
        ..., help="The --db of 'spillguard serve': a SQLite file or a postgresql:// URL."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to create (normal/ + anomalous/)."),
    since: str | None = typer.Option(None, help="Only verdicts from this date/time on (ISO, UTC)."),
    store: Path | None = typer.Option(None, help="Folder of kept images (default: the one the db names)."),
    base: Path | None = typer.Option(None, help="Also add the images of this training data set."),
    force: bool = typer.Option(False, help="Replace an existing non-empty folder."),
) -> None:
    """Write confirmed spills, false alarms and sampled normals as a folder 'spillguard train' reads."""
    from spillguard.deploy.service.feedback import export_feedback

    result = export_feedback(db, out, since=since, store=store, base=base, force=force)
    info(result.summary())
    print(result.folder)


def main() -> None:
    """Console-script entry point (torch's thread count is set by the commands that use torch)."""
    run_cli(app, "spillguard", extras=EXTRAS)
