"""The HTML report of a run folder, rendered from the run's numbers (the content of ``metrics.json``)
and its evaluations (the content of ``evaluation/test_metrics.json``), linking figures already drawn.

The pipelines render it from their result objects; ``spillguard report RUN`` (``rebuild_report``)
reads the run's files, re-draws the plots from the score CSVs and renders the same page.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.errors import UserError
from sharedcore.report import HtmlReport
from spillguard.post_processing.false_alarms import describe as describe_promise
from spillguard.post_processing.thresholds import RULE_TEXT
from spillguard.reporting.plots import plot_history, plot_scores

EVALUATION = (
    "evaluation"  # the evaluation folder of a run that its report shows (spillguard evaluate's default)
)
VAL_TITLE = "validation normals vs known spills"


def write_scores(path: Path, paths: Sequence[Any], labels: np.ndarray, scores: np.ndarray) -> None:
    """CSV with columns path, label, score (6 significant digits)."""
    with path.open("w", newline="", encoding="utf-8", errors="surrogateescape") as fh:  # names as bytes
        w = csv.writer(fh)
        w.writerow(["path", "label", "score"])
        w.writerows((str(p), int(y), f"{s:.6g}") for p, y, s in zip(paths, labels, scores, strict=True))


def damaged_run_file(path: str | os.PathLike[str], what: str) -> UserError:
    """A run folder's file that is not what spillguard wrote."""
    return UserError(
        f"damaged run file: {path}: {what}; rerun 'spillguard train' (or 'evaluate') to write it again"
    )


# What reports and commands read from a run folder's JSON files, checked as a whole before any use
# (a damaged file is one "damaged run file" line, never a KeyError half-way through a report). A
# schema is a type, a callable (value -> bool), [item schema] or {key: schema} where a key starting
# with "?" may be absent and a key ending in "*" covers every other key with that prefix.
def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _opt_number(v: Any) -> bool:
    return v is None or _number(v)


def _ci_pair(v: Any) -> bool:
    return v is None or (isinstance(v, list) and len(v) == 2 and all(_opt_number(x) for x in v))


def _skip_pair(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)


def _rate_entries(*names: str) -> dict[str, Any]:
    return {k: v for n in names for k, v in ((n, _opt_number), (f"?{n}_ci", _ci_pair))}


_RATE = {
    "threshold": _number,
    "confusion": {"tp": int, "fp": int, "tn": int, "fn": int},
    **_rate_entries("tpr", "tnr", "fpr", "precision", "f1"),
}
_METRICS = {
    "n": int,
    "n_spill": int,
    "n_normal": int,
    **_rate_entries("roc_auc", "pr_auc"),
    "at_threshold": {"*": _RATE},
    "tnr_at_tpr_*": _opt_number,
    "?robustness": {"*": _opt_number},
    "?recon": {"score": str, **_rate_entries("roc_auc", "pr_auc")},
}
_GATE = {
    "passed": bool,
    "min_auc": _number,
    "n_known_check": int,
    "warnings": [str],
    "advice": str,
    **_rate_entries("known_auc", "synthetic_auc"),
}
_HOW = {"how": str}
_THRESHOLDS = {"*": _number}
RUN_JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "metrics.json": {
        "config": {
            **dict.fromkeys(("model", "loss", "score", "colour", "illumination", "augment"), str),
            **dict.fromkeys(("smooth", "height", "width", "seed", "patience"), int),
            "model_params": dict,
            "target_fpr": _number,
        },
        "?choices": {f"?{k}": _HOW for k in ("input_size", "model", "greyscale", "anomalies", "schedule")},
        "?gate": _GATE,
        "data": {"root": str, "layout": str, "?skipped": [_skip_pair]},
        "sizes": {"train": int},
        "train_seconds": _number,
        "history": [
            {
                "epoch": _number,
                "train_loss": _number,
                "val_loss": _number,
                "?val_auc": _opt_number,
                "?lr": _number,
            }
        ],
        "?decoder_history": [{"?val_loss": _number, "?val_mse": _number}],
        "thresholds": _THRESHOLDS,
        "threshold_rule": str,
        "validation": _METRICS,
    },
    "test_metrics.json": {
        "data": {"root": str, "?skipped": [_skip_pair]},
        "thresholds": _THRESHOLDS,
        "metrics": _METRICS,
    },
}


def schema_problem(value: Any, schema: Any, where: str = "") -> str | None:
    """Where ``value`` departs from ``schema`` (see above), e.g. "entry 'validation/n' is missing",
    or None when it fits."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"entry '{where}' is a {type(value).__name__}, not a mapping"
        for key, sub in schema.items():
            name = key.lstrip("?")
            if name.endswith("*"):
                for k in value:
                    if (
                        isinstance(k, str)
                        and k.startswith(name[:-1])
                        and k not in schema
                        and f"?{k}" not in schema
                    ):
                        bad = schema_problem(value[k], sub, f"{where}/{k}".lstrip("/"))
                        if bad:
                            return bad
                continue
            if name not in value:
                if key.startswith("?"):
                    continue
                return f"entry '{where}/{name}' is missing".replace("'/", "'")
            bad = schema_problem(value[name], sub, f"{where}/{name}".lstrip("/"))
            if bad:
                return bad
        return None
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"entry '{where}' is a {type(value).__name__}, not a list"
        for i, item in enumerate(value):
            bad = schema_problem(item, schema[0], f"{where}[{i}]")
            if bad:
                return bad
        return None
    if isinstance(schema, type):
        ok = isinstance(value, schema) and not (schema is int and isinstance(value, bool))
    else:
        ok = bool(schema(value))
    return None if ok else f"entry '{where}' is {str(value)[:40]!r}, not what spillguard writes"


def read_run_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A run's metrics.json / test_metrics.json, checked as a whole against ``RUN_JSON_SCHEMAS``
    (every entry reports and commands read, nested ones too, of the right type; threshold rules
    known); else a "damaged run file" UserError."""
    p = Path(path)
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{p}: no such file; point to a run folder made by 'spillguard train'") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise damaged_run_file(p, f"not readable JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise damaged_run_file(p, f"a {type(obj).__name__}, not a mapping")
    thresholds = obj.get("thresholds", {})
    if isinstance(thresholds, dict) and not all(_number(v) for v in thresholds.values()):
        raise damaged_run_file(p, "a threshold is not a number")
    bad = schema_problem(obj, RUN_JSON_SCHEMAS.get(p.name, {}))
    if bad:
        raise damaged_run_file(p, bad)
    unknown = [r for r in obj.get("thresholds", {}) if r not in RULE_TEXT]
    if unknown:
        raise damaged_run_file(p, f"threshold rule '{unknown[0]}' is unknown")
    return obj


def read_scores(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores from a ``scores_*.csv`` (columns include label, score)."""
    try:
        with Path(path).open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
            rows = list(csv.DictReader(fh))
        labels = np.array([int(r["label"]) for r in rows], dtype=np.int64)
        scores = np.array([float(r["score"]) for r in rows], dtype=np.float64)
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError, ValueError) as exc:
        raise damaged_run_file(path, f"not a table of label and score ({type(exc).__name__})") from None
    if not len(rows):
        raise damaged_run_file(path, "no rows of label and score")
    if not np.isin(labels, (0, 1)).all() or not np.isfinite(scores).all():
        raise damaged_run_file(path, "a label is not 0/1 or a score is not a finite number")
    return labels, scores


def _ci(m: dict[str, Any], key: str) -> str:
    v, ci = m.get(key), m.get(f"{key}_ci")
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{v:.3f}"


def metrics_rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per threshold rule: rates with 95% CIs and the confusion matrix."""
    rows = []
    for rule, t in m["at_threshold"].items():
        c = t["confusion"]
        rows.append(
            {
                "rule": rule,
                "threshold": t["threshold"],
                "TPR": _ci(t, "tpr"),
                "TNR": _ci(t, "tnr"),
                "FPR": _ci(t, "fpr"),
                "precision": _ci(t, "precision"),
                "F1": _ci(t, "f1"),
                "TP/FN/TN/FP": f"{c['tp']}/{c['fn']}/{c['tn']}/{c['fp']}",
            }
        )
    return rows


def _section(rep: HtmlReport, name: str, m: dict[str, Any], figs: list[Path], base: Path) -> None:
    rep.heading(name)
    rep.paragraph(
        f"{m['n']} images ({m['n_normal']} normal, {m['n_spill']} spill). ROC AUC {_ci(m, 'roc_auc')}, "
        f"PR AUC {_ci(m, 'pr_auc')} (95% bootstrap CIs; rates with Wilson 95% CIs)."
    )
    if "robustness" in m:
        rob = m["robustness"]
        rep.paragraph(
            "Robustness without test labels (ROC AUC of held-out normals against known spills and procedural "
            "spill looks, plain and under simulated camera/lighting shift; spillguard.metrics.robustness): "
            + ", ".join(f"{k} {v:.3f}" for k, v in rob.items())
        )
    if "recon" in m:
        rep.paragraph(
            f"Auxiliary: the reconstruction error ({m['recon']['score']}) of the decoder fitted with the "
            f"encoder frozen ranks these images at ROC AUC {_ci(m['recon'], 'roc_auc')}, PR AUC "
            f"{_ci(m['recon'], 'pr_auc')}; verdicts and the metrics above use the spill head."
        )
    if "pixel_roc_auc" in m:
        rep.paragraph(
            f"Where: the anomaly maps against the defect masks ({m['n_regions']} regions, "
            f"{m['defect_pixel_share']:.2%} of the pixels): pixel ROC AUC {m['pixel_roc_auc']:.3f}, PRO "
            f"(per-region overlap, area to FPR {m['pro_fpr_limit']}, normalised) {m['pixel_pro']:.3f}."
        )
    extra = {k: v for k, v in m.items() if k.startswith("tnr_at_tpr")}
    if extra:
        rep.paragraph(
            "Best possible TNR at a given TPR (threshold chosen with labels, for comparison only): "
            + ", ".join(f"{k.replace('tnr_at_tpr_', 'TPR ')}: {v:.3f}" for k, v in extra.items())
        )
    rep.table(metrics_rows(m))
    for f in figs:
        if f.is_file():
            rep.image(os.path.relpath(f, base), caption=f.stem.replace("_", " "))


def gate_html(gate: dict[str, Any]) -> str:
    """The validation gate as a coloured box: passed (green) or the warnings and what to do (red)."""
    if gate["passed"]:
        body = (
            f"<b>Validation gate passed</b>: held-out known anomalies vs validation normals ROC AUC "
            f"{_ci(gate, 'known_auc')} ({gate['n_known_check']} held out), held-out synthetic anomalies "
            f"{_ci(gate, 'synthetic_auc')}; both at least {gate['min_auc']}."
        )
        style = "border:2px solid #2a7;background:#effaf3"
    else:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in gate["warnings"])
        body = (
            f"<b>WARNING: validation gate failed</b> (needs at least {gate['min_auc']} ROC AUC on held-out "
            f"known and synthetic anomalies):<ul>{items}</ul>{html.escape(gate['advice'])}. Known: "
            f"{_ci(gate, 'known_auc')} ({gate['n_known_check']} held out); synthetic: {_ci(gate, 'synthetic_auc')}."
        )
        style = "border:2px solid #c33;background:#fdf0f0"
    if gate.get("rule_note"):  # the data-chosen verdict rule fell back from p(spill) = 0.5
        body += f"<br><b>WARNING</b>: {html.escape(gate['rule_note'])}."
    return f'<div class="gate" style="{style};padding:.6em 1em;margin:1em 0">{body}</div>'


def render_run_report(
    m: dict[str, Any],
    run: Path,
    evaluations: Sequence[tuple[Path, dict[str, Any]]] = (),
    out: Path | None = None,
) -> Path:
    """Write the report of run folder ``run`` from its numbers ``m`` (metrics.json's content) and
    ``evaluations`` ((folder, test_metrics.json's content) pairs), to ``out`` (default RUN/report.html)."""
    out = out or run / "report.html"
    base = out.parent
    plots = run / "plots"
    cfg = m["config"]
    rep = HtmlReport("spillguard: spill detector run")
    if m.get("gate"):  # first thing on the page (spillguard.metrics.gate)
        rep.raw(gate_html(m["gate"]))
    for key in ("input_size", "model", "greyscale", "anomalies", "schedule", "threshold_rule"):
        if key in m.get("choices", {}):
            rep.paragraph("Chosen from the data: " + m["choices"][key]["how"] + ".", css_class="note")
    rep.paragraph(
        f"Model {cfg['model']} {cfg['model_params'] or ''}, loss {cfg['loss']}, score {cfg['score']} "
        f"(smooth {cfg['smooth']}), input {cfg['height']}x{cfg['width']} {cfg['colour']}, illumination "
        f"{cfg['illumination']}, augmentation {cfg['augment']}, seed {cfg['seed']}. Trained on "
        f"{m['sizes']['train']} normal images from {m['data']['root']} ({m['data']['layout']} layout) in "
        f"{m['train_seconds']:.1f} s, {len(m['history'])} epochs (early stopping patience {cfg['patience']})."
    )
    rep.paragraph(
        "Threshold rules (chosen without test labels): "
        + "; ".join(RULE_TEXT[r] for r in m["thresholds"])
        + f". Verdicts use '{m['threshold_rule']}'; target false-alarm rate {cfg['target_fpr']}."
    )
    if m.get("promise"):
        rep.paragraph("False-alarm promise: " + describe_promise(m["promise"]) + ".")
    if m["data"].get("skipped"):
        rep.paragraph(
            f"{len(m['data']['skipped'])} input files skipped: "
            + "; ".join(f"{p} ({why})" for p, why in m["data"]["skipped"][:20]),
            css_class="note",
        )
    if m.get("decoder_history"):
        d = m["decoder_history"]
        key = "val_loss" if "val_loss" in d[0] else "val_mse"  # run folders made before the one loop
        rep.paragraph(
            f"After the head, the decoder was fitted with the encoder frozen ({len(d)} epochs, validation "
            f"MSE {d[0][key]:.3f} -> {min(r[key] for r in d):.3f}, standardised units), so the "
            "reconstructions and error maps below are real; the head's scores are unchanged by it."
        )
    rep.heading("Training")
    for f in ("loss.png", "val_metrics.png"):
        if (plots / f).is_file():
            rep.image(os.path.relpath(plots / f, base), caption=f[:-4].replace("_", " "))
    _section(
        rep,
        "Validation (held-out check halves; thresholds from the calibration halves)",
        m["validation"],
        [plots / "val_roc.png", plots / "val_hist.png", plots / "recon_grid.png"],
        base,
    )
    for folder, ev in evaluations:
        _section(
            rep,
            f"Test: {ev['data']['root']}",
            ev["metrics"],
            [folder / "test_roc.png", folder / "test_hist.png", folder / "test_grid.png"],
            base,
        )
        top = sorted((folder / "maps").glob("*.png")) if (folder / "maps").is_dir() else []
        if top:
            rep.paragraph("Anomaly maps of the highest-scored test images (highest first):")
            for png in top:
                rep.image(os.path.relpath(png, base), caption=png.stem[3:])
        pc = ev["metrics"].get("promise_check")
        if pc:
            lo, hi = pc["promised_fpr_ci"]
            rep.paragraph(
                f"Promise check: the verdict rule flags {pc['measured_fpr']:.1%} of these {pc['n_normal']} test "
                f"normals; it promised {pc['promised_fpr']:.1%} [{lo:.1%}, {hi:.1%}]: "
                + (
                    "inside the promised interval."
                    if pc["inside"]
                    else "OUTSIDE the promised interval "
                    "(these normals differ from the training ones, or the promise failed)."
                )
            )
        fpr_rule = ev["metrics"]["at_threshold"].get("fpr")
        if fpr_rule:
            rep.paragraph(
                f"Shift check: the fpr rule aimed at a {cfg['target_fpr']:.0%} false-alarm rate on validation "
                f"normals and flags {fpr_rule['fpr']:.1%} of these test normals. A rate far above the target "
                "means the test normals differ from the training normals (lighting, framing)."
            )
    return rep.write(out)


def rebuild_report(run: Path, out: Path | None = None) -> Path:
    """``spillguard report RUN``: re-draw the run's plots from its files and write its report."""
    m = read_run_json(run / "metrics.json")
    plot_history(m["history"], run / "plots")
    if (run / "scores_validation.csv").is_file():
        y, s = read_scores(run / "scores_validation.csv")
        plot_scores(y, s, m["thresholds"], run / "plots", "val", VAL_TITLE)
    evaluations = []
    folder = run / EVALUATION
    if (folder / "test_metrics.json").is_file():
        ev = read_run_json(folder / "test_metrics.json")
        y, s = read_scores(folder / "scores_test.csv")
        plot_scores(y, s, ev["thresholds"], folder, "test", f"test ({ev['data']['root']})")
        evaluations.append((folder, ev))
    return render_run_report(m, run, evaluations, out)
