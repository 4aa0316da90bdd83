"""Issue 20: the untuned default (and the variants it beat) on the three visible sets, one row each.

    python research/newline.py [--only kolektor,pits,surface] [--runs runs/newline] [--variant ae_head]

For each set: train ``spillguard train DATA -o RUNS/NAME --seed 0`` (kept and reused when RUNS/NAME
exists), evaluate on the test half (with ``--masks`` for kolektor), and append a row to
research/newline.jsonl: test ROC AUC with its bootstrap CI, TPR/TNR at the verdict rule with Wilson
CIs, pixel ROC AUC and PRO (kolektor), the false-alarm promise and its check on the test normals,
training seconds. ``--table`` prints the markdown table of RESULTS.md from the jsonl. Skips (exit
0) when ../shared is absent. Nothing here is chosen on test labels: the variants are fixed configs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
OUT = Path(__file__).with_name("newline.jsonl")

#: set -> (training data, test data, masks or None)
SETS = {
    "kolektor": (SHARED / "kolektor", SHARED / "kolektor" / "test", SHARED / "kolektor" / "masks"),
    "pits": (SHARED / "spills", SHARED / "spills" / "test", None),
    "surface": (None, None, None),  # made by `spillguard synth --domain surface --seed 0`
}
#: variant -> config fields (YAML lines); "default" is the untuned default
VARIANTS: dict[str, str | None] = {
    "default": "",
    "ae_head": "model: conv_ae_head\n",  # the model of the default before issue 20, with today's code
    # the default before issue 20 (main at c7a42d3: conv_ae_head, 26 validation normals of which 13
    # calibrate): not trainable from this tree; make RUNS/NAME_before with that commit's
    # `spillguard train DATA -o RUNS/NAME_before --seed 0` and this script evaluates it
    "before": None,
}


def _spillguard(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "spillguard", "-q", *args], check=True, cwd=REPO)


def run_one(name: str, variant: str, runs: Path) -> dict:
    data, test, masks = SETS[name]
    if name == "surface":
        data = runs / "surface_data"
        if not data.is_dir():
            _spillguard("synth", "--domain", "surface", "--seed", "0", "-o", str(data))
        test = data / "test"
    run = runs / f"{name}_{variant}"
    if not (run / "checkpoint.pt").is_file():
        fields = VARIANTS[variant]
        if fields is None:
            raise SystemExit(f"{run}: no run; train it at commit c7a42d3 (see VARIANTS)")
        cfg = runs / f"{variant}.yaml"
        cfg.write_text(fields or "{}\n")
        _spillguard("train", str(data), "-o", str(run), "--seed", "0", "-c", str(cfg), "--force")
    ev_args = ["evaluate", str(run), str(test), "--force"]
    if masks is not None:
        ev_args += ["--masks", str(masks)]
    if not (run / "evaluation" / "test_metrics.json").is_file():  # kept with the run, like it
        _spillguard(*ev_args)
    m = json.loads((run / "metrics.json").read_text())
    ev = json.loads((run / "evaluation" / "test_metrics.json").read_text())["metrics"]
    rule = m["threshold_rule"]
    at = ev["at_threshold"][rule]
    row = {
        "set": name,
        "variant": variant,
        "model": m["config"]["model"],
        "input": f"{m['config']['height']}x{m['config']['width']}",
        "train_seconds": round(m["train_seconds"], 1),
        "epochs": len(m["history"]),
        "roc_auc": ev["roc_auc"],
        "roc_auc_ci": ev["roc_auc_ci"],
        "rule": rule,
        "tpr": at["tpr"],
        "tpr_ci": at["tpr_ci"],
        "tnr": at["tnr"],
        "tnr_ci": at["tnr_ci"],
        "promise": m.get("promise"),
        "n_calib_normal": m["sizes"].get("val_calib"),
        "promise_check": ev.get("promise_check"),
        "pixel_roc_auc": ev.get("pixel_roc_auc"),
        "pixel_pro": ev.get("pixel_pro"),
        "val_auc": m["validation"]["roc_auc"],
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    with OUT.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    return row


def _ci(v: float, ci: list[float] | None) -> str:
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{v:.3f}"


def table() -> str:
    """The markdown table of the latest row per (set, variant)."""
    rows: dict[tuple[str, str], dict] = {}
    for line in OUT.read_text().splitlines():
        r = json.loads(line)
        rows[(r["set"], r["variant"])] = r
    out = [
        "| set | variant (model, input) | train s | val ROC AUC | test ROC AUC | rule | TPR | TNR | promised FPR | test FPR | pixel ROC AUC | PRO |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (s, v), r in sorted(rows.items()):
        p, pc = r["promise"], r["promise_check"]
        prom = f"{p['fpr']:.1%} [{p['fpr_ci'][0]:.1%}, {p['fpr_ci'][1]:.1%}]" if p else "n/a"
        meas = (
            f"{pc['measured_fpr']:.1%} [{pc['measured_fpr_ci'][0]:.1%}, {pc['measured_fpr_ci'][1]:.1%}]"
            f" {'inside' if pc['inside'] else 'outside'}"
            if pc
            else "n/a"
        )
        pix = f"{r['pixel_roc_auc']:.3f}" if r["pixel_roc_auc"] is not None else "-"
        pro = f"{r['pixel_pro']:.3f}" if r["pixel_pro"] is not None else "-"
        out.append(
            f"| {s} | {v} ({r['model']}, {r['input']}) | {r['train_seconds']:.0f} | {r['val_auc']:.3f} | {_ci(r['roc_auc'], r['roc_auc_ci'])} "
            f"| {r['rule']} | {_ci(r['tpr'], r['tpr_ci'])} | {_ci(r['tnr'], r['tnr_ci'])} | {prom} | {meas} | {pix} | {pro} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="kolektor,surface,pits")
    ap.add_argument("--variant", default="default", choices=sorted(VARIANTS))
    ap.add_argument("--runs", type=Path, default=REPO / "runs" / "newline")
    ap.add_argument("--table", action="store_true", help="print the table from research/newline.jsonl")
    a = ap.parse_args()
    if a.table:
        print(table())
        return
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} is absent")
        return
    a.runs.mkdir(parents=True, exist_ok=True)
    for name in a.only.split(","):
        print(json.dumps(run_one(name, a.variant, a.runs)))


if __name__ == "__main__":
    main()
