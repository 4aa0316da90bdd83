"""A careless/hostile-user sweep of the ``spillguard`` CLI (issue 10): hundreds of generated bad inputs,
each run as a real ``spillguard`` subprocess in its own folder, each outcome classified.

Classes: OK (exit 0 and the result checks out), ERR (exit 2 with exactly one line on stderr and
nothing half-written), DEFECT (a traceback, exit 1 from the last-resort "bug" handler, a hang over the
case's time limit, resident memory over the cap, a hidden ``.*.tmp`` left behind, a multi-line
error, a valid input refused, or exit 0 with a wrong result: a CSV whose rows do not match the files,
a non-finite score, a mode-converted image scored unlike its plain RGB twin, an input destroyed).

Run:  SPILLGUARD_THREADS=1 .venv/bin/python research/spillguard_sweep.py [--only SUBSTR] [--jobs 2]
It prints one line per case and the counts per class, and exits 1 when any case is a DEFECT.
Tiny data (40 training images of 28x49), a one-epoch 16x24 model; about 15 minutes on 2 busy cores.
Why under research/ and not a test: it is a hunting tool (a long, wide net whose cases are the
evidence of the issue-10 closing note); every defect it found has a focused regression test under
tests/spillguard/ that runs in seconds (tests/spillguard/test_sweep_findings.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

PY = sys.executable
MEM_CAP = 3 * 1024**3  # bytes of resident memory: over it is a "memory blow-up"
TINY_YAML = (
    "epochs: 1\nbatch_size: 16\nheight: 16\nwidth: 24\nfit_decoder: false\n"
    "anomalies: {pit: 1}\ngreyscale: false\n"
)


@dataclass
class Fx:
    """Shared fixtures: tiny data set, a trained run, its ONNX export, reference images."""

    base: Path
    data: Path
    run: Path
    onnx: Path


@dataclass
class Case:
    cls: str  # the issue-10 class
    name: str
    argv: list[str]  # after 'spillguard'; "{W}" is the case folder, "{DATA}", "{RUN}", "{ONNX}" fixtures
    setup: Callable[[Path, Fx], None] | None = None
    check: Callable[[Path, Fx, str], str | None] | None = None  # exit 0: None or the defect
    expect: str = "any"  # "ok", "err" or "any"
    timeout: float = 60.0
    signal_after: tuple[int, Callable[[Path], bool]] | None = None  # (signal, ready(W))
    after_signal: Callable[[Path, Fx], str | None] | None = None
    may_finish: bool = False  # a short command may end (exit 0, whole output) before the signal lands


@dataclass
class Outcome:
    case: Case
    verdict: str  # OK / ERR / DEFECT
    why: str
    rc: int | None
    stderr: str
    seconds: float
    peak_rss: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ running


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _hidden_tmps(root: Path) -> list[Path]:
    out = []
    for folder, dirs, files in os.walk(root):
        for n in dirs + files:
            if n.startswith(".") and n.endswith(".tmp"):
                out.append(Path(folder) / n)
    return out


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _expand(argv: list[str], w: Path, fx: Fx) -> list[str]:
    rep = {"{W}": str(w), "{DATA}": str(fx.data), "{RUN}": str(fx.run), "{ONNX}": str(fx.onnx)}
    out = []
    for a in argv:
        for k, v in rep.items():
            a = a.replace(k, v)
        out.append(a)
    return out


def run_case(case: Case, w: Path, fx: Fx) -> Outcome:
    w.mkdir(parents=True, exist_ok=True)
    try:
        if case.setup:
            case.setup(w, fx)
    except Exception as exc:  # a broken sweep case, not a spillguard defect
        return Outcome(case, "SETUP", f"setup failed: {type(exc).__name__}: {exc}", None, "", 0.0)
    env = {**os.environ, "SPILLGUARD_THREADS": "1", "SHAREDCORE_CRASH_DIR": str(fx.base / "crash"),
           "WANDB_MODE": "disabled", "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}  # fmt: skip
    cmd = [PY, "-m", "spillguard", *_expand(case.argv, w, fx)]
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=w, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_default_signals,  # a sweep started in the background (`&`) has SIGINT ignored: not the case
    )  # fmt: skip
    peak, why_killed, signalled = 0, "", False
    out_b, err_b = b"", b""
    try:
        while True:
            try:
                out_b, err_b = proc.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            peak = max(peak, _rss(proc.pid))
            if peak > MEM_CAP:
                why_killed = f"memory blow-up (resident {peak / 1e9:.1f} GB)"
            elif time.monotonic() - t0 > case.timeout:
                why_killed = f"hang (over {case.timeout:.0f} s)"
            if why_killed:
                os.killpg(proc.pid, signal.SIGKILL)
                out_b, err_b = proc.communicate()
                break
            if case.signal_after and not signalled and case.signal_after[1](w):
                proc.send_signal(case.signal_after[0])
                signalled = True
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    dt = time.monotonic() - t0
    stdout = out_b.decode("utf-8", "replace")
    stderr = err_b.decode("utf-8", "replace")
    rc = proc.returncode
    o = Outcome(case, "DEFECT", "", rc, stderr, dt, peak)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    tmps = _hidden_tmps(w)
    if why_killed:
        o.why = why_killed
    elif "Traceback (most recent call last)" in stderr:
        o.why = "traceback: " + (lines[-1] if lines else "")
    elif "internal error" in stderr:
        o.why = "last-resort handler: " + lines[-1]
    elif tmps:
        o.why = f"left {tmps[0].relative_to(w)} behind"
    elif case.signal_after:
        if not signalled:
            o.why = f"ended (rc {rc}) before it could be interrupted: {lines[-1:]}"
        elif rc == 0 and case.may_finish:
            o.verdict, o.why = "OK", "finished before the signal landed (whole output)"
        elif rc not in (130, 143):
            o.why = f"interrupted run ended with rc {rc}: {lines[-1:]}"
        else:
            bad = case.after_signal(w, fx) if case.after_signal else None
            o.verdict, o.why = ("DEFECT", bad) if bad else ("OK", f"interrupted cleanly (rc {rc})")
    elif rc == 0:
        bad = case.check(w, fx, stdout) if case.check else None
        if bad:
            o.why = f"silently wrong: {bad}"
        elif case.expect == "err":
            o.why = "accepted an input it should refuse"
        else:
            o.verdict, o.why = "OK", (stdout.strip().splitlines() or [""])[-1][:100]
    elif rc == 2:
        if len(lines) != 1:
            o.why = f"{len(lines)} lines on stderr: {' | '.join(lines[:3])[:200]}"
        elif case.expect == "ok":
            o.why = f"refused a valid input: {lines[0]}"
        else:
            o.verdict, o.why = "ERR", lines[0]
    else:
        o.why = f"exit {rc}: {' | '.join(lines[-2:])[:200]}"
    return o


# ------------------------------------------------------------------------------------------ fixtures


def make_fixtures(base: Path) -> Fx:
    env = {**os.environ, "SPILLGUARD_THREADS": "1", "WANDB_MODE": "disabled", "MPLBACKEND": "Agg"}

    def sg(*args: str) -> None:
        subprocess.run([PY, "-m", "spillguard", "-q", *args], check=True, env=env)

    data, run, onnx = base / "data", base / "run", base / "model.onnx"
    sg("synth", "-o", str(data), "--n-train", "40", "--n-proliv", "6", "--n-test", "20")
    (base / "tiny.yaml").write_text(TINY_YAML)
    sg("train", str(data), "-o", str(run), "-c", str(base / "tiny.yaml"))
    sg("evaluate", str(run), str(data))
    sg("export", str(run), "-o", str(onnx))
    return Fx(base, data, run, onnx)


def _img(fx: Fx, i: int = 0) -> Path:
    return sorted((fx.data / "test" / "imgs").glob("*.jpg"))[i]


def _rgb(fx: Fx, i: int = 0) -> Image.Image:
    return Image.open(_img(fx, i)).convert("RGB")


def _png16(path: Path, arr: np.ndarray) -> None:
    """Write a 16-bit PNG (H, W) grey or (H, W, 3) RGB from uint16 by hand (Pillow cannot write RGB48)."""
    h, w = arr.shape[:2]
    colour = 0 if arr.ndim == 2 else 2
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _png_header_only(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


# ------------------------------------------------------------------------------------------- checks


def _csv_rows(p: Path) -> list[dict[str, str]]:
    with p.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return list(csv.DictReader(fh))


def check_predict_csv(n_files: int | None = None, pairs: list[tuple[str, str]] | None = None, tol: float = 0.08):
    """CSV p.csv: one row per input file (scored or skipped), existing paths, finite scores; each
    (name, reference name) pair scores alike (a mode-converted image vs its plain RGB twin)."""

    def check(w: Path, fx: Fx, stdout: str) -> str | None:
        p = w / "p.csv"
        if not p.is_file():
            return "no CSV written"
        rows = _csv_rows(p)
        files = [q for q in (w / "imgs").iterdir() if not q.is_dir() or q.is_symlink()] if (w / "imgs").is_dir() else []
        want = len(files) if n_files is None else n_files
        if len(rows) != want:
            return f"{len(rows)} CSV rows for {want} files"
        if len({r["path"] for r in rows}) != len(rows):
            return "a file is listed twice"
        for r in rows:
            if not os.path.lexists(r["path"]):
                return f"CSV path {r['path']!r} names no file"
            if r["error"] == "" and not math.isfinite(float(r["score"])):
                return f"score {r['score']} of {r['path']!r}"
            if (r["error"] == "") == (r["score"] == ""):
                return f"row {r} has both or neither of score and error"
        by = {Path(r["path"]).name: r for r in rows}
        for a, b in pairs or []:
            ra, rb = by.get(a), by.get(b)
            if ra is None or rb is None or ra["score"] == "" or rb["score"] == "":
                return f"{a} or {b} not scored: {ra and ra['error']} / {rb and rb['error']}"
            sa, sb = float(ra["score"]), float(rb["score"])
            thr = 1.0
            if abs(sa - sb) > tol * max(abs(sb), thr * 0.1, 1e-6) and abs(sa - sb) > 0.05:
                return f"{a} scores {sa:.4g} but its RGB twin {b} scores {sb:.4g}"
        return None

    return check


def check_train(n_normal: int | None = None, n_spill: int | None = None):
    def check(w: Path, fx: Fx, stdout: str) -> str | None:
        m = json.loads((w / "run" / "metrics.json").read_text())
        d = m["data"]
        if n_normal is not None and d["n_normal"] != n_normal:
            return f"n_normal {d['n_normal']}, expected {n_normal}"
        if n_spill is not None and d["n_spill"] != n_spill:
            return f"n_spill {d['n_spill']}, expected {n_spill}"
        return None

    return check


def check_exists(rel: str):
    def check(w: Path, fx: Fx, stdout: str) -> str | None:
        return None if (w / rel).exists() else f"{rel} not written"

    return check


def _fixtures_intact(w: Path, fx: Fx, stdout: str = "") -> str | None:
    """The shared data and run folders still hold their files (an output must never destroy an input)."""
    if len(list((fx.data / "train").glob("*.jpg"))) != 40:
        return "the training data were destroyed"
    if not (fx.run / "checkpoint.pt").is_file() or not (fx.run / "metrics.json").is_file():
        return "the run folder was destroyed"
    return None


# --------------------------------------------------------------------------------------- the cases

INT_FIELDS = ["smooth", "height", "width", "input_pixels", "augment_shift", "epochs", "batch_size",
              "patience", "max_train", "seed", "decoder_epochs"]  # fmt: skip
FLOAT_FIELDS = ["augment_strength", "time_budget", "lr", "weight_decay", "val_fraction",
                "calib_fraction", "target_fpr", "occlusion", "recon_weight"]  # fmt: skip
TEXT_FIELDS = ["model", "loss", "score", "colour", "illumination", "augment", "lr_schedule",
               "threshold_rule", "device", "supervision"]  # fmt: skip


def _cfg(text: str, base: str = TINY_YAML) -> Callable[[Path, Fx], None]:
    """A config YAML: the tiny config with ``text`` lines overriding/adding (later keys win in dicts)."""

    def setup(w: Path, fx: Fx) -> None:
        import yaml

        over = yaml.safe_load(text) if text.strip() else {}
        merged = {**yaml.safe_load(base), **(over or {})}
        (w / "c.yaml").write_text(yaml.safe_dump(merged))

    return setup


def _raw_cfg(content: bytes | str) -> Callable[[Path, Fx], None]:
    def setup(w: Path, fx: Fx) -> None:
        (w / "c.yaml").write_bytes(content.encode() if isinstance(content, str) else content)

    return setup


TRAIN = ["-q", "train", "{DATA}", "-o", "{W}/run", "-c", "{W}/c.yaml"]


def config_cases() -> list[Case]:
    cases: list[Case] = []
    bad_num = [".nan", "-1", "1.0e+300", "true", "'many'", "100000000000000000000"]
    for f in INT_FIELDS:
        for v in bad_num:
            if f == "seed" and v in ("-1",):
                pass
            big_ok = f == "max_train" and v in ("1.0e+300", "100000000000000000000")  # a cap above the data
            cases.append(Case("numbers", f"config {f}: {v}", TRAIN, _cfg(f"{f}: {v}"), expect="any" if big_ok else "err"))
    for f in FLOAT_FIELDS:
        for v in [".nan", "-.inf", "-1", "true", "'x'"]:
            cases.append(Case("numbers", f"config {f}: {v}", TRAIN, _cfg(f"{f}: {v}"), expect="err"))
    for f in TEXT_FIELDS:
        for v in ["3", "nope"]:
            cases.append(Case("numbers", f"config {f}: {v}", TRAIN, _cfg(f"{f}: {v}"), expect="err"))
    for f, v in [("fit_decoder", "'yes'"), ("fit_decoder", "1"), ("fit_decoder", "null"), ("greyscale", "'no'")]:
        cases.append(Case("numbers", f"config {f}: {v}", TRAIN, _cfg(f"{f}: {v}"), expect="err"))
    # in range but extreme: must train (OK) or say in one line why not
    extreme = [
        "smooth: 256", "augment_shift: 256", "batch_size: 65536", "patience: 1", "val_fraction: 0.99",
        "calib_fraction: 0.001", "target_fpr: 1.0e-9", "occlusion: 1.0", "recon_weight: 1000000",
        "lr: 9.99", "time_budget: 1.0e-6", "input_pixels: 64\nheight: null\nwidth: null",
        "height: 8\nwidth: 8", "height: 8\nwidth: 512", "max_train: 4", "max_train: 3",
        "seed: 4294967295", "weight_decay: 1.0", "augment_strength: 1.0", "augment_strength: 0",
        "colour: hsv\nillumination: per_image", "model: conv_ae\nscore: local\nsupervision: none\nthreshold_rule: fpr",
        "model: vae\nscore: mse\nsupervision: none\nthreshold_rule: fpr",
        "model: memory_ae\nscore: combined\nsupervision: none\nthreshold_rule: balanced",
        "fit_decoder: true\ndecoder_epochs: 1", "recon_weight: 0.5", "anomalies: {draem: 1, crack: 1, hole: 1, cutpaste: 1}",
        "anomalies: null\ngreyscale: null", "epochs: null\nbatch_size: null\ntime_budget: 0.5",
        "supervision: synthetic", "threshold_rule: balanced", "threshold_rule: fpr\ntarget_fpr: 0.5",
        "batch_size: 1", "epochs: 3\npatience: 1",
    ]  # fmt: skip
    for text in extreme:
        cases.append(Case("numbers", f"config in range: {text.replace(chr(10), '; ')}", TRAIN, _cfg(text), timeout=120))
    # model_params and anomalies mappings: odd values inside
    for v in ["[1]", "'x'", "{bad: 1}", "{widths: [100000, 100000]}", "{latent: -1}", "{widths: []}",
              "{widths: [8, 8, 8, 8, 8, 8]}", "{widths: 'ab'}", "{batch_norm: 'no'}", "{latent: 1.5}",
              "{widths: [16, 32, 64], latent: 100000000}", "{stem: -3}", "{widths: [.nan]}", "{latent: true}",
              "{widths: [8, 8, 8, 8]}"]:  # fmt: skip
        cases.append(Case("numbers", f"config model_params: {v}", TRAIN, _cfg(f"model_params: {v}"), timeout=90))
    for v in ["{pit: -1}", "{pit: .nan}", "{nope: 1}", "{pit: 0}", "{}", "{pit: 'x'}", "[pit]", "{pit: 1.0e+308, draem: 1.0e+308}"]:
        cases.append(Case("numbers", f"config anomalies: {v}", TRAIN, _cfg(f"anomalies: {v}"), timeout=90))
    return cases


def _laughs(key: str, levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\n{key}: *a{levels - 1}\n"


def _laughs_dict(key: str, levels: int = 9) -> str:
    out = "x0: &x0 {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1, i: 1}\n"
    for i in range(1, levels):
        body = ", ".join(f"k{j}: *x{i - 1}" for j in range(9))
        out += f"x{i}: &x{i} {{{body}}}\n"
    return out


def structure_cases() -> list[Case]:
    c: list[Case] = []
    lol_dict = "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}\n"
    for i in range(1, 9):
        lol_dict += f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(9)) + "}\n"
    lol_only = lol_dict.replace("m0: &m0", "# m0\nm0: &m0")
    raw = [
        ("billion laughs in an unknown key", _laughs("lol")),
        ("billion laughs as model_params", TINY_YAML + lol_only.replace("m8: &m8", "model_params: &m8").split("\nmodel_params")[0]
         + "\nmodel_params: {" + ", ".join(f"k{j}: *m7" for j in range(9)) + "}\n"),
        ("billion laughs as anomalies", TINY_YAML.replace("anomalies: {pit: 1}\n", "") + lol_only.split("m8:")[0]
         + "anomalies: {" + ", ".join(f"k{j}: *m7" for j in range(9)) + "}\n"),
        ("billion laughs as model_params only (valid keys)", TINY_YAML.replace("anomalies: {pit: 1}\n", "")
         + "w: &w [8, 8, 8]\nmodel_params: {widths: *w}\nanomalies: {pit: 1}\n"),
        ("nested 100000 lists", "epochs: " + "[" * 100000 + "]" * 100000 + "\n"),
        ("nested 100000 flow maps", "model_params: " + "{a: " * 100000 + "1" + "}" * 100000 + "\n"),
        ("nested 400 block maps under model_params", TINY_YAML + "model_params:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(400)) + "  " * 401 + "b: 1\n"),
        ("nested 900 flow lists under model_params", TINY_YAML + "model_params: {widths: " + "[" * 900 + "8" + "]" * 900 + "}\n"),
        ("empty file", ""),
        ("only ---", "---\n"),
        ("two documents", TINY_YAML + "---\nepochs: 2\n"),
        ("a scalar", "3\n"),
        ("a list", "[1, 2]\n"),
        ("a string", "hello\n"),
        ("unknown key", TINY_YAML + "epoch: 3\n"),
        ("duplicate key", TINY_YAML + "epochs: 5000\n"),
        ("python tag", "!!python/object/apply:os.system ['echo hacked']\n"),
        ("python tag in value", TINY_YAML + "model: !!python/name:os.system\n"),
        ("binary value", TINY_YAML.replace("epochs: 1", "epochs: !!binary aGVsbG8=")),
        ("date as seed", TINY_YAML + "seed: 2020-01-01\n"),
        ("tab indentation", "model_params:\n\twidths: [8]\n"),
        ("unhashable key", "? [a, b]\n: 1\n"),
        ("null key", TINY_YAML + "~: 1\n"),
        ("merge key", "base: &b {epochs: 1}\n<<: *b\n"),
        ("merge key into valid config", TINY_YAML.replace("epochs: 1\n", "") + "<<: {epochs: 1}\n"),
        ("BOM", "\ufeff" + TINY_YAML),
        ("CRLF", TINY_YAML.replace("\n", "\r\n")),
        ("huge int", TINY_YAML + "seed: " + "9" * 5000 + "\n"),
        ("huge float string", TINY_YAML + "lr: 1" + "0" * 400 + ".0\n"),
        ("hex seed", TINY_YAML + "seed: 0x10\n"),
        ("octal-ish epochs", TINY_YAML.replace("epochs: 1", "epochs: 010")),
        ("sexagesimal", TINY_YAML.replace("epochs: 1", "epochs: 1:30")),
        ("yes as bool", TINY_YAML.replace("fit_decoder: false", "fit_decoder: yes")),
        ("long string value", TINY_YAML + "model: " + "x" * 100000 + "\n"),
        ("control characters", TINY_YAML + "model: \"conv\\u0000ae\"\n"),
        ("huge file of comments", TINY_YAML + ("# " + "c" * 1000 + "\n") * 20000),
    ]
    for name, text in raw:
        c.append(Case("structures", f"config YAML: {name}", TRAIN, _raw_cfg(text), timeout=60))
    c.append(Case("structures", "config YAML: not UTF-8", TRAIN, _raw_cfg(b"epochs: \xff\xfe\n")))
    c.append(Case("structures", "config YAML: a folder", ["-q", "train", "{DATA}", "-o", "{W}/run", "-c", "{W}"]))
    c.append(Case("structures", "config YAML: missing", ["-q", "train", "{DATA}", "-o", "{W}/run", "-c", "{W}/none.yaml"]))
    c.append(Case("structures", "config YAML: unreadable (mode 000)", TRAIN,
                  lambda w, fx: (_raw_cfg(TINY_YAML)(w, fx), os.chmod(w / "c.yaml", 0))))  # fmt: skip
    # experiment configs
    def exp_setup(texts: list[str]) -> Callable[[Path, Fx], None]:
        def setup(w: Path, fx: Fx) -> None:
            for i, t in enumerate(texts):
                (w / f"v{i}.yaml").write_text(t)
        return setup

    EXP = ["-q", "experiment", "{W}/v0.yaml", "{W}/v1.yaml", "-o", "{W}/exp", "-d", "{DATA}"]
    c.append(Case("structures", "experiment: one bad config among two", EXP, exp_setup([TINY_YAML, "epochs: -1\n"])))
    c.append(Case("structures", "experiment: same config twice (same stem)",
                  ["-q", "experiment", "{W}/v0.yaml", "{W}/v0.yaml", "-o", "{W}/exp", "-d", "{DATA}"], exp_setup([TINY_YAML]), timeout=120))  # fmt: skip
    c.append(Case("structures", "experiment: two stems, same name in two folders",
                  ["-q", "experiment", "{W}/a/v.yaml", "{W}/b/v.yaml", "-o", "{W}/exp", "-d", "{DATA}"],
                  lambda w, fx: [((w / d).mkdir(), (w / d / "v.yaml").write_text(TINY_YAML)) for d in "ab"], timeout=120))  # fmt: skip
    c.append(Case("structures", "experiment: billion laughs", EXP, exp_setup([TINY_YAML, _laughs("lol")])))
    c.append(Case("structures", "experiment: --epochs 0", [*EXP, "--epochs", "0"], exp_setup([TINY_YAML, TINY_YAML])))
    c.append(Case("structures", "experiment: missing --test folder", [*EXP, "-t", "{W}/none"], exp_setup([TINY_YAML, TINY_YAML])))
    c.append(Case("structures", "experiment: test has one class",
                  [*EXP, "-t", "{W}/t"],
                  lambda w, fx: (exp_setup([TINY_YAML, TINY_YAML])(w, fx), (w / "t" / "normal").mkdir(parents=True),
                                 [shutil.copy(p, w / "t" / "normal") for p in sorted((fx.data / "train").glob("*.jpg"))[:5]]),
                  timeout=120))  # fmt: skip
    return c


def _ckpt(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path, Fx], None]:
    def setup(w: Path, fx: Fx) -> None:
        import torch

        shutil.copytree(fx.run, w / "r")
        d = torch.load(fx.run / "checkpoint.pt", map_location="cpu", weights_only=True)
        change(d)
        torch.save(d, w / "r" / "checkpoint.pt")

    return setup


def _runfile(name: str, content: str | bytes | None) -> Callable[[Path, Fx], None]:
    def setup(w: Path, fx: Fx) -> None:
        shutil.copytree(fx.run, w / "r")
        p = w / "r" / name
        if content is None:
            p.unlink()
        else:
            p.write_bytes(content.encode() if isinstance(content, str) else content)

    return setup


def _metrics(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path, Fx], None]:
    def setup(w: Path, fx: Fx) -> None:
        shutil.copytree(fx.run, w / "r")
        m = json.loads((fx.run / "metrics.json").read_text())
        change(m)
        (w / "r" / "metrics.json").write_text(json.dumps(m))

    return setup


def _onnx(change: Callable[[Any], Any] | None = None, raw: Callable[[bytes], bytes] | None = None):
    def setup(w: Path, fx: Fx) -> None:
        data = fx.onnx.read_bytes()
        if change is not None:
            import onnx

            m = onnx.load_from_string(data)
            change(m)
            data = m.SerializeToString()
        if raw is not None:
            data = raw(data)
        (w / "m.onnx").write_bytes(data)

    return setup


def _set_meta(key: str, value: str | None):
    def change(m: Any) -> None:
        keep = [p for p in m.metadata_props if p.key != key]
        del m.metadata_props[:]
        m.metadata_props.extend(keep)
        if value is not None:
            e = m.metadata_props.add()
            e.key, e.value = key, value

    return change


def model_file_cases() -> list[Case]:
    import torch

    c: list[Case] = []
    PRED = ["-q", "predict", "{W}/r", "{DATA}/test/imgs"]
    EVAL = ["-q", "evaluate", "{W}/r", "{DATA}", "-o", "{W}/ev"]
    first = lambda d: next(k for k, v in d["model_state"].items() if v.ndim >= 2)  # noqa: E731
    changes: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("config height null", lambda d: d["config"].update(height=None, width=None)),
        ("config height 32 (other input size)", lambda d: d["config"].update(height=32, width=32)),
        ("config model_params unknown", lambda d: d["config"].__setitem__("model_params", {"nope": 1})),
        ("config model_params huge", lambda d: d["config"].__setitem__("model_params", {"widths": [100000, 100000, 100000]})),
        ("config model_params latent -1", lambda d: d["config"].__setitem__("model_params", {"latent": -1})),
        ("config model other", lambda d: d["config"].__setitem__("model", "conv_ae")),
        ("config score local with head weights", lambda d: d["config"].update(score="local", supervision="none", threshold_rule="fpr")),
        ("config unknown key", lambda d: d["config"].__setitem__("zzz", 1)),
        ("config a list", lambda d: d.__setitem__("config", [1])),
        ("weights float64", lambda d: d.__setitem__("model_state", {k: v.double() for k, v in d["model_state"].items()})),
        ("weights int", lambda d: d.__setitem__("model_state", {k: v.long() for k, v in d["model_state"].items()})),
        ("weights bool", lambda d: d.__setitem__("model_state", {k: v.bool() for k, v in d["model_state"].items()})),
        ("weights complex", lambda d: d["model_state"].__setitem__(first(d), d["model_state"][first(d)].to(torch.complex64))),
        ("weights half", lambda d: d.__setitem__("model_state", {k: (v.half() if v.is_floating_point() else v) for k, v in d["model_state"].items()})),
        ("weights inf", lambda d: d["model_state"][first(d)].fill_(float("inf"))),
        ("weights huge 1e38", lambda d: d["model_state"][first(d)].fill_(3e38)),
        ("weights transposed", lambda d: d["model_state"].__setitem__(first(d), d["model_state"][first(d)].transpose(0, 1).contiguous())),
        ("extra weight", lambda d: d["model_state"].__setitem__("extra.weight", torch.zeros(2))),
        ("weights empty dict", lambda d: d.__setitem__("model_state", {})),
        ("weights non-str key", lambda d: d["model_state"].__setitem__(3, torch.zeros(1))),
        ("thresholds nan", lambda d: d.__setitem__("thresholds", {k: float("nan") for k in d["thresholds"]})),
        ("thresholds strings", lambda d: d.__setitem__("thresholds", {k: "0.5" for k in d["thresholds"]})),
        ("thresholds bool", lambda d: d.__setitem__("thresholds", {k: True for k in d["thresholds"]})),
        ("thresholds tensor", lambda d: d.__setitem__("thresholds", {k: torch.tensor(0.5) for k in d["thresholds"]})),
        ("thresholds a list", lambda d: d.__setitem__("thresholds", [0.5])),
        ("threshold huge 1e308", lambda d: d.__setitem__("thresholds", {k: 1e308 for k in d["thresholds"]})),
        ("threshold_rule missing", lambda d: d.pop("threshold_rule")),
        ("threshold_rule int", lambda d: d.__setitem__("threshold_rule", 3)),
        ("normalisation zero std", lambda d: d["preprocess"].__setitem__("std", [0.0, 0.0, 0.0])),
        ("normalisation tiny std 1e-300", lambda d: d["preprocess"].__setitem__("std", [1e-300] * 3)),
        ("normalisation huge mean", lambda d: d["preprocess"].__setitem__("mean", [1e300] * 3)),
        ("normalisation nan mean", lambda d: d["preprocess"].__setitem__("mean", [float("nan")] * 3)),
        ("normalisation strings", lambda d: d["preprocess"].__setitem__("mean", ["a", "b", "c"])),
        ("normalisation tensor", lambda d: d["preprocess"].__setitem__("mean", torch.zeros(3))),
        ("preprocess missing", lambda d: d.pop("preprocess")),
        ("decoder_fitted string", lambda d: d.__setitem__("decoder_fitted", "no")),
        ("format_version True", lambda d: d.__setitem__("format_version", True)),
        ("format_version 2", lambda d: d.__setitem__("format_version", 2)),
        ("format_version '1'", lambda d: d.__setitem__("format_version", "1")),
    ]  # fmt: skip
    for name, ch in changes:
        c.append(Case("damaged model files", f"predict, checkpoint: {name}", PRED, _ckpt(ch)))
    for name, ch in changes[:6] + changes[20:22] + changes[28:30]:
        c.append(Case("damaged model files", f"evaluate, checkpoint: {name}", EVAL, _ckpt(ch)))
        c.append(Case("damaged model files", f"export, checkpoint: {name}", ["-q", "export", "{W}/r", "-o", "{W}/m.onnx"], _ckpt(ch)))
    # the checkpoint file itself
    for name, content in [("empty", b""), ("random bytes", os.urandom(3000)), ("a zip of nothing", b"PK\x05\x06" + b"\0" * 18),
                          ("text", "hello"), ("truncated", None)]:  # fmt: skip
        def setup(w: Path, fx: Fx, content: Any = content) -> None:
            shutil.copytree(fx.run, w / "r")
            raw = (fx.run / "checkpoint.pt").read_bytes()
            data = raw[: len(raw) // 2] if content is None else content
            (w / "r" / "checkpoint.pt").write_bytes(data.encode() if isinstance(data, str) else data)
        c.append(Case("damaged model files", f"predict, checkpoint.pt {name}", PRED, setup))
    def ck_dir(w: Path, fx: Fx) -> None:
        shutil.copytree(fx.run, w / "r")
        (w / "r" / "checkpoint.pt").unlink()
        (w / "r" / "checkpoint.pt").mkdir()
    def ck_loop(w: Path, fx: Fx) -> None:
        shutil.copytree(fx.run, w / "r")
        (w / "r" / "checkpoint.pt").unlink()
        os.symlink(w / "r" / "checkpoint.pt", w / "r" / "checkpoint.pt")
    c.append(Case("damaged model files", "predict, checkpoint.pt is a folder", PRED, ck_dir))
    c.append(Case("damaged model files", "predict, checkpoint.pt is a link loop", PRED, ck_loop))
    c.append(Case("damaged model files", "predict, run folder missing", ["-q", "predict", "{W}/none", "{DATA}/test/imgs"]))
    # run folder files: metrics.json and friends
    for name, content in [("missing", None), ("empty", ""), ("garbled", '{"config": '), ("a list", "[]"),
                          ("not UTF-8", b"\xff\xfe{}"), ("deep", "[" * 100000 + "]" * 100000), ("NaN", "NaN")]:  # fmt: skip
        for cmd in (["-q", "report", "{W}/r"], ["-q", "evaluate", "{W}/r", "{DATA}", "-o", "{W}/ev"],
                    ["-q", "export", "{W}/r", "-o", "{W}/m.onnx"], ["-q", "predict", "{W}/r", "{DATA}/test/imgs"]):  # fmt: skip
            c.append(Case("damaged model files", f"{cmd[1]}, metrics.json {name}", cmd, _runfile("metrics.json", content)))
    nested: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("validation empty", lambda m: m.__setitem__("validation", {})),
        ("validation roc_auc string", lambda m: m["validation"].__setitem__("roc_auc", "high")),
        ("validation at_threshold empty", lambda m: m["validation"].__setitem__("at_threshold", {})),
        ("validation at_threshold garbage", lambda m: m["validation"].__setitem__("at_threshold", {"fpr": 1})),
        ("history of numbers", lambda m: m.__setitem__("history", [1, 2])),
        ("history missing loss", lambda m: m.__setitem__("history", [{}])),
        ("config empty", lambda m: m.__setitem__("config", {})),
        ("config bad", lambda m: m["config"].__setitem__("epochs", "many")),
        ("data empty", lambda m: m.__setitem__("data", {})),
        ("data skipped garbage", lambda m: m["data"].__setitem__("skipped", 3)),
        ("thresholds empty", lambda m: m.__setitem__("thresholds", {})),
        ("thresholds nan", lambda m: m.__setitem__("thresholds", {k: float("nan") for k in m["thresholds"]})),
        ("gate missing", lambda m: m.pop("gate", None)),
        ("gate garbage", lambda m: m.__setitem__("gate", [1])),
        ("choices garbage", lambda m: m.__setitem__("choices", 3)),
        ("sizes garbage", lambda m: m.__setitem__("sizes", "x")),
        ("threshold_rule missing", lambda m: m.pop("threshold_rule", None)),
        ("decoder_history garbage", lambda m: m.__setitem__("decoder_history", {"a": 1})),
    ]  # fmt: skip
    for name, ch in nested:
        for cmd in (["-q", "report", "{W}/r"], ["-q", "evaluate", "{W}/r", "{DATA}", "-o", "{W}/ev"],
                    ["-q", "export", "{W}/r", "-o", "{W}/m.onnx"]):  # fmt: skip
            c.append(Case("damaged model files", f"{cmd[1]}, metrics.json {name}", cmd, _metrics(ch)))
    for name, content in [("missing", None), ("garbled", "path,label,score\nx,1,abc\n"), ("no header", ""),
                          ("nan scores", "path,label,score\nx,0,nan\ny,1,nan\n")]:  # fmt: skip
        c.append(Case("damaged model files", f"report, scores_validation.csv {name}", ["-q", "report", "{W}/r"],
                      _runfile("scores_validation.csv", content)))  # fmt: skip
    for name, content in [("missing", None), ("garbled", "{"), ("list", "[1]"), ("nested garbage", '{"data": {}, "thresholds": {}, "metrics": {}}')]:
        c.append(Case("damaged model files", f"report, evaluation/test_metrics.json {name}", ["-q", "report", "{W}/r"],
                      _runfile("evaluation/test_metrics.json", content)))  # fmt: skip
    c.append(Case("damaged model files", "report, drift_reference.json garbled (predict --backend onnx)",
                  ["-q", "predict", "{W}/r", "{DATA}/test/imgs", "--backend", "onnx"], _runfile("drift_reference.json", "{")))  # fmt: skip
    c.append(Case("damaged model files", "export, drift_reference.json missing",
                  ["-q", "export", "{W}/r", "-o", "{W}/m.onnx"], _runfile("drift_reference.json", None)))  # fmt: skip
    c.append(Case("damaged model files", "report, plots is a file", ["-q", "report", "{W}/r"],
                  lambda w, fx: (shutil.copytree(fx.run, w / "r"), shutil.rmtree(w / "r" / "plots"), (w / "r" / "plots").write_text("x"))))  # fmt: skip
    c.append(Case("damaged model files", "report, read-only run folder", ["-q", "report", "{W}/r"],
                  lambda w, fx: (shutil.copytree(fx.run, w / "r"), os.chmod(w / "r", 0o555))))  # fmt: skip
    # ONNX files
    OPRED = ["-q", "predict", "{W}/m.onnx", "{DATA}/test/imgs", "--csv", "{W}/p.csv"]
    onnx_cases = [
        ("truncated", _onnx(raw=lambda b: b[: len(b) // 2])),
        ("random bytes", _onnx(raw=lambda b: os.urandom(2000))),
        ("empty", _onnx(raw=lambda b: b"")),
        ("metadata removed", _onnx(lambda m: m.metadata_props.__delitem__(slice(None)))),
        ("thresholds missing", _onnx(_set_meta("thresholds", None))),
        ("thresholds garbled", _onnx(_set_meta("thresholds", "{"))),
        ("thresholds nan", _onnx(_set_meta("thresholds", '{"prior": NaN, "fpr": NaN}'))),
        ("thresholds strings", _onnx(_set_meta("thresholds", '{"prior": "x"}'))),
        ("thresholds a list", _onnx(_set_meta("thresholds", "[1]"))),
        ("threshold_rule unknown", _onnx(_set_meta("threshold_rule", "nope"))),
        ("input_size other (32x32)", _onnx(_set_meta("input_size", "[32, 32]"))),
        ("input_size garbled", _onnx(_set_meta("input_size", "abc"))),
        ("input_size negative", _onnx(_set_meta("input_size", "[-16, 24]"))),
        ("input_size huge", _onnx(_set_meta("input_size", "[100000, 100000]"))),
        ("input_size 3 numbers", _onnx(_set_meta("input_size", "[16, 24, 3]"))),
        ("input_size floats", _onnx(_set_meta("input_size", "[16.5, 24]"))),
        ("format version 2", _onnx(_set_meta("spillguard_format_version", "2"))),
        ("format version garbled", _onnx(_set_meta("spillguard_format_version", "x"))),
        ("colour unknown", _onnx(_set_meta("colour", "cmyk"))),
        ("score unknown", _onnx(_set_meta("score", "nope"))),
        ("graph input renamed", _onnx(lambda m: setattr(m.graph.input[0], "name", "other"))),
        ("graph without outputs", _onnx(lambda m: m.graph.output.__delitem__(slice(None)))),
    ]
    for name, setup in onnx_cases:
        c.append(Case("damaged model files", f"predict model.onnx: {name}", OPRED, setup))
    c.append(Case("damaged model files", "predict model.onnx: a folder named .onnx", OPRED, lambda w, fx: (w / "m.onnx").mkdir()))
    c.append(Case("damaged model files", "predict model.onnx: missing", OPRED))
    c.append(Case("damaged model files", "predict model.onnx: --backend torch", [*OPRED, "--backend", "torch"], _onnx()))
    c.append(Case("damaged model files", "predict model.onnx: --backend nope", [*OPRED, "--backend", "nope"], _onnx()))
    return c


MODES = ["P", "LA", "L", "I", "F", "I;16", "CMYK", "1", "RGBA", "RGBX", "YCbCr", "LAB"]


def _imgs_setup(make: Callable[[Path, Fx], None]) -> Callable[[Path, Fx], None]:
    def setup(w: Path, fx: Fx) -> None:
        (w / "imgs").mkdir()
        make(w / "imgs", fx)

    return setup


def _mode_pair(mode: str) -> Callable[[Path, Fx], None]:
    """x.png (or .tif) in ``mode`` and ref.png: what that image is in RGB (Pillow's own conversion)."""

    def make(d: Path, fx: Fx) -> None:
        rgb = _rgb(fx, 3)
        if mode == "I;16":
            grey = np.asarray(rgb.convert("L"), dtype=np.uint16) * 257
            _png16(d / "x.png", grey)
            Image.fromarray((grey >> 8).astype(np.uint8), "L").convert("RGB").save(d / "ref.png")
            return
        if mode == "I":
            grey = np.asarray(rgb.convert("L"), dtype=np.int32)
            Image.fromarray(grey, "I").save(d / "x.tif")
            rgb.convert("L").convert("RGB").save(d / "ref.png")
            return
        if mode == "F":
            grey = np.asarray(rgb.convert("L"), dtype=np.float32)
            Image.fromarray(grey, "F").save(d / "x.tif")
            rgb.convert("L").convert("RGB").save(d / "ref.png")
            return
        if mode == "PA":
            im = rgb.convert("P").convert("PA")
            im.save(d / "x.png")
            rgb.convert("P").convert("RGB").save(d / "ref.png")
            return
        im = rgb.convert(mode) if mode not in ("P",) else rgb.quantize(64)
        ext = {"CMYK": ".tif", "YCbCr": ".tif", "LAB": ".tif", "HSV": ".tif", "RGBX": ".tif"}.get(mode, ".png")
        im.save(d / f"x{ext}")
        if mode in ("LAB", "HSV", "YCbCr"):
            im.convert("RGB").save(d / "ref.png") if mode != "LAB" else rgb.save(d / "ref.png")
        elif mode in ("LA", "RGBA"):
            rgb.convert(mode[:-1] if mode == "LA" else "RGB").convert("RGB").save(d / "ref.png")
        else:
            Image.open(d / f"x{ext}").convert("RGB").save(d / "ref.png")

    return make


def image_cases() -> list[Case]:
    c: list[Case] = []
    PRED = ["-q", "predict", "{RUN}", "{W}/imgs", "--csv", "{W}/p.csv"]
    for mode in MODES:
        ext = ".tif" if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "F", "I") else ".png"
        c.append(Case("images", f"predict mode {mode}", PRED, _imgs_setup(_mode_pair(mode)),
                      check_predict_csv(2, [(f"x{ext}", "ref.png")])))  # fmt: skip

    def rgb16(d: Path, fx: Fx) -> None:
        a = np.asarray(_rgb(fx, 3), dtype=np.uint16) * 257
        _png16(d / "x.png", a)
        _rgb(fx, 3).save(d / "ref.png")

    c.append(Case("images", "predict 16-bit RGB PNG", PRED, _imgs_setup(rgb16), check_predict_csv(2, [("x.png", "ref.png")])))

    def exif(d: Path, fx: Fx) -> None:
        im = _rgb(fx, 3)
        rotated = im.transpose(Image.Transpose.ROTATE_90)  # stored rotated, EXIF says: turn it back
        ex = Image.Exif()
        ex[0x0112] = 6  # orientation: rotate 90 CW to view
        rotated.save(d / "x.jpg", quality=100, exif=ex)
        from PIL import ImageOps

        ImageOps.exif_transpose(Image.open(d / "x.jpg")).save(d / "ref.png")

    c.append(Case("images", "predict EXIF-rotated JPEG", PRED, _imgs_setup(exif), check_predict_csv(2, [("x.jpg", "ref.png")])))

    def progressive(d: Path, fx: Fx) -> None:
        _rgb(fx, 3).save(d / "x.jpg", quality=95, progressive=True)
        _rgb(fx, 3).save(d / "ref.jpg", quality=95)

    c.append(Case("images", "predict progressive JPEG", PRED, _imgs_setup(progressive), check_predict_csv(2, [("x.jpg", "ref.jpg")])))

    def animated(fmt: str) -> Callable[[Path, Fx], None]:
        def make(d: Path, fx: Fx) -> None:
            frames = [_rgb(fx, i).resize((48, 28)) for i in (3, 5, 7)]
            if fmt == "gif":
                frames = [f.quantize(256) for f in frames]
                frames[0].save(d / "x.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
                frames[0].convert("RGB").save(d / "ref.png")
            else:
                frames[0].save(d / "x.png", save_all=True, append_images=frames[1:], duration=100)
                frames[0].save(d / "ref.png")

        return make

    c.append(Case("images", "predict animated GIF", PRED, _imgs_setup(animated("gif")), check_predict_csv(2, [("x.gif", "ref.png")])))
    c.append(Case("images", "predict animated PNG", PRED, _imgs_setup(animated("png")), check_predict_csv(2, [("x.png", "ref.png")])))

    def onepx(d: Path, fx: Fx) -> None:
        Image.new("RGB", (1, 1), (120, 80, 40)).save(d / "x.png")
        Image.new("RGB", (24, 16), (120, 80, 40)).save(d / "ref.png")

    c.append(Case("images", "predict 1-px image", PRED, _imgs_setup(onepx), check_predict_csv(2, [("x.png", "ref.png")])))
    c.append(Case("images", "predict 1x5000 image", PRED, _imgs_setup(lambda d, fx: Image.new("RGB", (1, 5000), 9).save(d / "x.png")), check_predict_csv(1)))
    c.append(Case("images", "predict huge declared size (header only)", PRED,
                  _imgs_setup(lambda d, fx: (_png_header_only(d / "x.png", 100000, 100000), shutil.copy(_img(fx), d / "ok.jpg"))),
                  check_predict_csv(2)))  # fmt: skip
    c.append(Case("images", "predict 65535x65535 declared JPEG-size PNG", PRED,
                  _imgs_setup(lambda d, fx: (_png_header_only(d / "x.png", 65535, 65535), shutil.copy(_img(fx), d / "ok.jpg"))),
                  check_predict_csv(2)))  # fmt: skip
    c.append(Case("images", "predict 12000x12000 real PNG", PRED,
                  _imgs_setup(lambda d, fx: Image.new("L", (12000, 12000), 100).save(d / "big.png")),
                  check_predict_csv(1), timeout=120))  # fmt: skip
    c.append(Case("images", "predict 9000x9000 JPEG (draft)", PRED,
                  _imgs_setup(lambda d, fx: _rgb(fx).resize((9000, 9000)).save(d / "big.jpg", quality=50)),
                  check_predict_csv(1), timeout=120))  # fmt: skip

    def links(kind: str) -> Callable[[Path, Fx], None]:
        def make(d: Path, fx: Fx) -> None:
            shutil.copy(_img(fx), d / "ok.jpg")
            if kind == "loop":
                os.symlink(d / "loop.jpg", d / "loop.jpg")
            elif kind == "loop2":
                os.symlink(d / "b.jpg", d / "a.jpg")
                os.symlink(d / "a.jpg", d / "b.jpg")
            elif kind == "dangling":
                os.symlink(d / "gone.jpg", d / "dangling.jpg")
            elif kind == "to-file":
                os.symlink(d / "ok.jpg", d / "same.jpg")
            elif kind == "dir-loop":
                os.symlink(d, d / "sub")
            elif kind == "to-dev":
                os.symlink("/dev/zero", d / "zero.jpg")
            elif kind == "fifo":
                os.mkfifo(d / "fifo.jpg")
            elif kind == "unreadable":
                shutil.copy(_img(fx), d / "secret.jpg")
                os.chmod(d / "secret.jpg", 0)
            elif kind == "dir-named-jpg":
                (d / "folder.jpg").mkdir()

        return make

    for kind, n in [("loop", 2), ("loop2", 3), ("dangling", 2), ("to-file", 2), ("to-dev", 2), ("fifo", 2),
                    ("unreadable", 2), ("dir-named-jpg", None)]:  # fmt: skip
        c.append(Case("images", f"predict folder with {kind}", PRED, _imgs_setup(links(kind)),
                      check_predict_csv(n), timeout=60))  # fmt: skip
    # recursive globs over directory link loops
    def deep(d: Path, fx: Fx) -> None:
        (d / "a" / "b").mkdir(parents=True)
        shutil.copy(_img(fx, 0), d / "x.jpg")
        shutil.copy(_img(fx, 1), d / "a" / "y.jpg")
        shutil.copy(_img(fx, 2), d / "a" / "b" / "z.jpg")
        os.symlink(d, d / "a" / "b" / "up")
        os.symlink(d / "a", d / "a" / "self")

    for pat, n in [("{W}/imgs/**/*.jpg", 3), ("{W}/imgs/**", 3), ("{W}/imgs/*/*.jpg", 1), ("{W}/imgs/**/b/*.jpg", 1),
                   ("{W}/imgs/a/**/*.jpg", 2)]:  # fmt: skip
        c.append(Case("images", f"predict glob {pat.replace('{W}/', '')} over dir-link loops",
                      ["-q", "predict", "{RUN}", pat, "--csv", "{W}/p.csv"], _imgs_setup(deep),
                      check_predict_csv(n), timeout=60))  # fmt: skip
    def scored_once(w: Path, fx: Fx, stdout: str) -> str | None:
        rows = _csv_rows(w / "p.csv")
        scored = [r for r in rows if r["error"] == ""]
        again = [r for r in rows if "scored once" in r["error"]]
        return None if len(scored) == 1 and len(again) == len(rows) - 1 == 2 else f"rows {rows}"

    c.append(Case("images", "predict same file three times on the command line",
                  ["-q", "predict", "{RUN}", "{W}/imgs/x.jpg", "{W}/imgs/x.jpg", "{W}/imgs", "--csv", "{W}/p.csv"],
                  _imgs_setup(lambda d, fx: shutil.copy(_img(fx), d / "x.jpg")), scored_once))  # fmt: skip
    c.append(Case("images", "predict pattern matching nothing", ["-q", "predict", "{RUN}", "{W}/*.nope"]))
    c.append(Case("images", "predict empty folder", ["-q", "predict", "{RUN}", "{W}/imgs"], _imgs_setup(lambda d, fx: None)))
    # names
    names = ["com,ma.jpg", "new\nline.jpg", 'quo"te.jpg', "semi;colon.jpg", " lead space.jpg", "-dash.jpg", "tab\tname.jpg",
             "émoji🙂.jpg", "x" * 250 + ".jpg", "back\\slash.jpg", "'single'.jpg", "=cmd().jpg", "CR\rname.jpg"]  # fmt: skip
    for n in names:
        c.append(Case("images", f"predict name {n[:30]!r}", PRED,
                      _imgs_setup(lambda d, fx, n=n: shutil.copy(_img(fx), d / n)), check_predict_csv(1)))  # fmt: skip

    def bad_name(d: Path, fx: Fx) -> None:
        shutil.copy(_img(fx), os.path.join(os.fsencode(d), b"bad\xff\xfename.jpg"))
        shutil.copy(_img(fx), d / "ok.jpg")

    c.append(Case("images", "predict non-UTF-8 name --csv", PRED, _imgs_setup(bad_name), check_predict_csv(2)))
    c.append(Case("images", "predict non-UTF-8 name (stdout)", ["predict", "{RUN}", "{W}/imgs"], _imgs_setup(bad_name)))
    c.append(Case("images", "predict non-UTF-8 name (stdout, -q)", ["-q", "predict", "{RUN}", "{W}/imgs"], _imgs_setup(bad_name)))
    c.append(Case("images", "predict non-UTF-8 name, --backend onnx", [*PRED, "--backend", "onnx"], _imgs_setup(bad_name), check_predict_csv(2)))
    c.append(Case("images", "predict onnx non-UTF-8 name", ["-q", "predict", "{ONNX}", "{W}/imgs", "--csv", "{W}/p.csv"],
                  _imgs_setup(bad_name), check_predict_csv(2)))  # fmt: skip

    def train_weird(d: Path, fx: Fx) -> None:
        shutil.copytree(fx.data / "train", d / "train")
        shutil.copytree(fx.data / "proliv", d / "proliv")
        t = d / "train"
        os.symlink(t / "loop.jpg", t / "loop.jpg")
        os.symlink(t / "gone.jpg", t / "dangling.jpg")
        shutil.copy(_img(fx), os.path.join(os.fsencode(t), b"bad\xffname.jpg"))
        _rgb(fx).convert("CMYK").save(t / "cmyk.tif")
        _png16(t / "g16.png", np.asarray(_rgb(fx).convert("L"), dtype=np.uint16) * 257)
        _png_header_only(t / "bomb.png", 100000, 100000)
        (t / "empty.jpg").write_bytes(b"")
        (t / "text.jpg").write_text("hello")

    c.append(Case("images", "train on a folder with links, odd modes, bad names", ["-q", "train", "{W}/imgs", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                  lambda w, fx: (_imgs_setup(train_weird)(w, fx), _raw_cfg(TINY_YAML)(w, fx)), check_train(43, 6), timeout=120))  # fmt: skip
    c.append(Case("images", "train (no -q) on bad names", ["train", "{W}/imgs", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                  lambda w, fx: (_imgs_setup(train_weird)(w, fx), _raw_cfg(TINY_YAML)(w, fx)), check_train(43, 6), timeout=120))  # fmt: skip

    def test_weird(d: Path, fx: Fx) -> None:
        (d / "test" / "imgs").mkdir(parents=True)
        src = sorted((fx.data / "test" / "imgs").iterdir())
        lines = (fx.data / "test" / "test_annotation.txt").read_text().splitlines()
        for p in src:
            shutil.copy(p, d / "test" / "imgs" / p.name)
        bad = os.path.join(os.fsencode(d / "test" / "imgs"), b"bad\xffname.jpg")
        shutil.copy(src[0], bad)
        (d / "test" / "test_annotation.txt").write_bytes("\n".join(lines).encode() + b"\nbad\xffname.jpg 1\n")

    c.append(Case("images", "evaluate on a non-UTF-8 name", ["-q", "evaluate", "{RUN}", "{W}/imgs", "-o", "{W}/ev"],
                  _imgs_setup(test_weird)))  # fmt: skip
    return c


def _manifest(text: str | bytes, extra: Callable[[Path, Fx], None] | None = None) -> Callable[[Path, Fx], None]:
    def setup(w: Path, fx: Fx) -> None:
        (w / "d").mkdir()
        for i, p in enumerate(sorted((fx.data / "train").glob("*.jpg"))[:12]):
            shutil.copy(p, w / "d" / f"n{i}.jpg")
        for i, p in enumerate(sorted((fx.data / "proliv").glob("*.jpg"))[:4]):
            shutil.copy(p, w / "d" / f"s{i}.jpg")
        if extra:
            extra(w, fx)
        (w / "d" / "m.csv").write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def label_cases() -> list[Case]:
    c: list[Case] = []
    base = "path,label\n" + "".join(f"n{i}.jpg,0\n" for i in range(12)) + "".join(f"s{i}.jpg,1\n" for i in range(4))
    TR = ["-q", "train", "{W}/d/m.csv", "-o", "{W}/run", "-c", "{W}/c.yaml"]

    def tr(name: str, text: str | bytes, n: int | None = None, s: int | None = None, extra=None, expect="any") -> None:
        c.append(Case("labels", f"train manifest: {name}", TR,
                      lambda w, fx: (_manifest(text, extra)(w, fx), _raw_cfg(TINY_YAML)(w, fx)),
                      check_train(n, s) if n is not None else None, expect=expect, timeout=90))  # fmt: skip

    tr("plain", base, 12, 4, expect="ok")
    tr("BOM", "\ufeff" + base, 12, 4, expect="ok")
    tr("CRLF", base.replace("\n", "\r\n"), 12, 4, expect="ok")
    tr("CR only", base.replace("\n", "\r"), 12, 4)
    tr("blank lines", base.replace("\n", "\n\n"), 12, 4, expect="ok")
    tr("duplicates same label", base + "n0.jpg,0\n./n1.jpg,normal\n", 12, 4)
    tr("conflicting labels", base + "n0.jpg,1\n", expect="err")
    tr("missing files", base + "gone.jpg,0\n", 12, 4)
    tr("escaping the root", base + "../outside.jpg,0\n", 13, 4,
       extra=lambda w, fx: shutil.copy(_img(fx), w / "outside.jpg"))  # fmt: skip
    tr("wrong header", base.replace("path,label", "file,class"), expect="err")
    tr("header only", "path,label\n", expect="err")
    tr("empty file", "", expect="err")
    tr("semicolons", base.replace(",", ";"), expect="err")
    tr("extra columns", base.replace(",0\n", ",0,x\n").replace("path,label", "path,label,note"), 12, 4)
    tr("header with spaces", base.replace("path,label", " path , label "), 12, 4)
    tr("label words", base.replace(",0\n", ",normal\n").replace(",1\n", ",SPILL \n"), 12, 4)
    tr("label 2", base + "n0.jpg,2\n", expect="err")
    tr("label empty", base + "n0.jpg,\n", expect="err")
    tr("label 1.0", base + "n0.jpg,1.0\n", expect="err")
    tr("too few columns", base + "n0.jpg\n", expect="err")
    tr("quoted path with comma", base + '"a,b.jpg",0\n', 13, 4, extra=lambda w, fx: shutil.copy(_img(fx), w / "d" / "a,b.jpg"))
    tr("quoted path with newline", base + '"a\nb.jpg",0\n', 13, 4, extra=lambda w, fx: shutil.copy(_img(fx), w / "d" / "a\nb.jpg"))
    tr("unterminated quote", base + '"a.jpg,0\n', expect="err")
    tr("NUL byte", base + "n\x000.jpg,0\n")
    tr("not UTF-8", base.encode() + b"n\xff.jpg,0\n")
    tr("path is a folder", base + "sub,0\n", 12, 4, extra=lambda w, fx: (w / "d" / "sub").mkdir())
    tr("path is the manifest itself", base + "m.csv,0\n", 12, 4)
    tr("only spills", "path,label\n" + "".join(f"s{i}.jpg,1\n" for i in range(4)), expect="err")
    tr("10000 rows of missing files", base + "".join(f"g{i}.jpg,0\n" for i in range(10000)), 12, 4)
    tr("very long line", base + "x" * 200000 + ",0\n", 12, 4)
    tr("field larger than csv limit", base + '"' + "y" * 200000 + '",0\n', 12, 4)
    tr("windows backslash path", base + "sub\\n0.jpg,0\n", 12, 4)
    c.append(Case("labels", "train manifest: a folder named .csv", ["-q", "train", "{W}/m.csv", "-o", "{W}/run"], lambda w, fx: (w / "m.csv").mkdir()))
    c.append(Case("labels", "train: normal/ + anomalous/", ["-q", "train", "{W}/f", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                  lambda w, fx: (shutil.copytree(fx.data / "train", w / "f" / "normal"), shutil.copytree(fx.data / "proliv", w / "f" / "anomalous"),
                                 _raw_cfg(TINY_YAML)(w, fx)), check_train(40, 6), expect="ok", timeout=90))  # fmt: skip
    c.append(Case("labels", "train: anomalous/ only", ["-q", "train", "{W}/f", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                  lambda w, fx: (shutil.copytree(fx.data / "proliv", w / "f" / "anomalous"), _raw_cfg(TINY_YAML)(w, fx)), expect="err"))  # fmt: skip
    c.append(Case("labels", "train: empty normal/", ["-q", "train", "{W}/f", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                  lambda w, fx: ((w / "f" / "normal").mkdir(parents=True), _raw_cfg(TINY_YAML)(w, fx)), expect="err"))  # fmt: skip
    c.append(Case("labels", "train: train/ is a file", ["-q", "train", "{W}/f", "-o", "{W}/run"],
                  lambda w, fx: ((w / "f").mkdir(), (w / "f" / "train").write_text("x")), expect="err"))  # fmt: skip
    c.append(Case("labels", "train: unreadable train/ folder", ["-q", "train", "{W}/f", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                  lambda w, fx: (shutil.copytree(fx.data, w / "f"), os.chmod(w / "f" / "train", 0), _raw_cfg(TINY_YAML)(w, fx))))  # fmt: skip
    c.append(Case("labels", "train: --require-auc 0.5 with 6 spills", [*TRAIN, "--require-auc", "0.5"], _raw_cfg(TINY_YAML), timeout=90))
    for v in ["nan", "inf", "-1", "1.5", "2"]:
        c.append(Case("numbers", f"train --require-auc {v}", [*TRAIN, "--require-auc", v], _raw_cfg(TINY_YAML), expect="err", timeout=90))
    # evaluate: annotation files
    def ann(text: str | bytes) -> Callable[[Path, Fx], None]:
        def setup(w: Path, fx: Fx) -> None:
            shutil.copytree(fx.data / "test", w / "t")
            (w / "t" / "test_annotation.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
        return setup

    good = (Path(os.environ.get("SWEEP_ANN", "")) if False else None)  # noqa: F841
    EV = ["-q", "evaluate", "{RUN}", "{W}/t", "-o", "{W}/ev"]

    def ann_from(fn: Callable[[str], str | bytes], name: str, expect: str = "any") -> None:
        def setup(w: Path, fx: Fx) -> None:
            shutil.copytree(fx.data / "test", w / "t")
            text = (fx.data / "test" / "test_annotation.txt").read_text()
            out = fn(text)
            (w / "t" / "test_annotation.txt").write_bytes(out if isinstance(out, bytes) else out.encode())

        c.append(Case("labels", f"evaluate annotation: {name}", EV, setup, expect=expect))

    ann_from(lambda t: t, "plain", "ok")
    ann_from(lambda t: "\ufeff" + t, "BOM", "ok")
    ann_from(lambda t: t.replace("\n", "\r\n"), "CRLF", "ok")
    ann_from(lambda t: t.replace(" ", "\t"), "tabs", "ok")
    ann_from(lambda t: t.replace("\n", "\n\n"), "blank lines", "ok")
    ann_from(lambda t: t + t, "every line twice")
    ann_from(lambda t: t + t.splitlines()[0].rsplit(" ", 1)[0] + (" 0" if t.splitlines()[0].endswith("1") else " 1") + "\n", "conflicting", "err")
    ann_from(lambda t: t + "gone.jpg 1\n", "missing file")
    ann_from(lambda t: t + "../../outside.jpg 1\n", "escaping path")
    ann_from(lambda t: t + "x.jpg 1.0\n", "label 1.0", "err")
    ann_from(lambda t: t + "x.jpg\n", "no label", "err")
    ann_from(lambda t: "".join(ln + "\n" for ln in t.splitlines() if ln.endswith(" 0")), "only normals", "err")
    ann_from(lambda t: "", "empty", "err")
    ann_from(lambda t: "# comment\n" + t, "comment line")
    ann_from(lambda t: t.encode() + b"\xff\xfe 1\n", "not UTF-8")
    ann_from(lambda t: "file label\n" + t, "a header line", "err")
    c.append(Case("labels", "evaluate: annotation is a folder", EV,
                  lambda w, fx: (shutil.copytree(fx.data / "test", w / "t"), (w / "t" / "test_annotation.txt").unlink(),
                                 (w / "t" / "test_annotation.txt").mkdir())))  # fmt: skip
    c.append(Case("labels", "evaluate: a manifest", ["-q", "evaluate", "{RUN}", "{W}/d/m.csv", "-o", "{W}/ev"],
                  _manifest(base), expect="ok"))  # fmt: skip
    return c


def _ro(w: Path, fx: Fx) -> None:
    (w / "ro").mkdir()
    os.chmod(w / "ro", 0o555)


def _file(w: Path, fx: Fx) -> None:
    (w / "f").write_text("mine")


def _nonempty(w: Path, fx: Fx) -> None:
    (w / "d").mkdir()
    (w / "d" / "mine.txt").write_text("mine")


def _mine_kept(rel: str):
    def check(w: Path, fx: Fx, stdout: str) -> str | None:
        return None if (w / rel).exists() else f"{rel} (the user's file) was removed"

    return check


def output_cases() -> list[Case]:
    c: list[Case] = []
    cmds = {
        "train": (["-q", "train", "{DATA}", "-c", "{W}/c.yaml", "-o"], "dir"),
        "evaluate": (["-q", "evaluate", "{RUN}", "{DATA}", "-o"], "dir"),
        "export": (["-q", "export", "{RUN}", "-o"], "file"),
        "predict --csv": (["-q", "predict", "{RUN}", "{DATA}/test/imgs", "--csv"], "file"),
        "synth": (["-q", "synth", "--n-train", "5", "--n-proliv", "2", "--n-test", "4", "-o"], "dir"),
        "experiment": (["-q", "experiment", "{W}/c.yaml", "-d", "{DATA}", "-o"], "dir"),
        "synth surface": (["-q", "synth", "--domain", "surface", "--n-train", "3", "--n-proliv", "2", "--n-test", "4", "-o"], "dir"),
    }
    long = "n" * 300
    for name, (argv, kind) in cmds.items():
        setup0 = _raw_cfg(TINY_YAML)
        targets = [
            ("read-only folder", "{W}/ro/out", _ro, "any" if os.geteuid() == 0 else "err"),  # root writes anyway
            ("parent is a file", "{W}/f/out", _file, "err"),
            ("300-char name", "{W}/" + long, None, "err"),
            ("300-char folder in the path", "{W}/" + long + "/out", None, "err"),
            ("existing file, no --force", "{W}/f", _file, "err"),
            ("existing non-empty folder, no --force", "{W}/d", _nonempty, "err"),
            ("dangling link", "{W}/link", lambda w, fx: os.symlink(w / "gone", w / "link"), "any"),
            ("empty path", "", None, "err"),
            (". (the current folder)", ".", None, "err"),
        ]
        if kind == "dir":
            targets.append(("existing file, --force", "{W}/f --force", _file, "err"))
            targets.append(("existing non-empty folder, --force", "{W}/d --force", _nonempty, "ok"))
        else:
            targets.append(("existing folder, --force", "{W}/d --force", _nonempty, "err"))
            targets.append(("existing file, --force", "{W}/f --force", _file, "ok"))
        for tname, target, setup, expect in targets:
            parts = target.split(" ")
            def s(w: Path, fx: Fx, setup: Any = setup) -> None:
                setup0(w, fx)
                if setup:
                    setup(w, fx)
            chk = _mine_kept("f") if tname == "existing file, no --force" else None
            c.append(Case("outputs", f"{name} -o {tname}", [*argv, *parts], s, chk, expect=expect, timeout=120))
    # outputs that are (or hold) an input
    def copy_data(w: Path, fx: Fx) -> None:
        shutil.copytree(fx.data, w / "data")
        shutil.copytree(fx.run, w / "run")
        _raw_cfg(TINY_YAML)(w, fx)
        shutil.copy(w / "c.yaml", w / "data" / "c.yaml")

    def data_intact(w: Path, fx: Fx, stdout: str = "") -> str | None:
        if len(list((w / "data" / "train").glob("*.jpg"))) != 40:
            return "the input data folder was replaced by the output"
        if not (w / "run" / "checkpoint.pt").is_file():
            return "the input run folder was replaced by the output"
        if not (w / "data" / "test" / "imgs").is_dir() or len(list((w / "data" / "test" / "imgs").iterdir())) < 20:
            return "the input test images were destroyed"
        return None

    inside = [
        ("train -o DATA --force", ["-q", "train", "{W}/data", "-c", "{W}/c.yaml", "-o", "{W}/data", "--force"], "err"),
        ("train -o DATA/.. --force (holds the data)", ["-q", "train", "{W}/data/train/..", "-c", "{W}/c.yaml", "-o", "{W}", "--force"], "err"),
        ("train -o DATA/train/run (inside the input)", ["-q", "train", "{W}/data", "-c", "{W}/c.yaml", "-o", "{W}/data/train/run"], "any"),
        ("train -o RUN --force with -c inside RUN", ["-q", "train", "{W}/data", "-c", "{W}/run/../data/c.yaml", "-o", "{W}/data", "--force"], "err"),
        ("evaluate -o RUN --force", ["-q", "evaluate", "{W}/run", "{W}/data", "-o", "{W}/run", "--force"], "err"),
        ("evaluate -o DATA --force", ["-q", "evaluate", "{W}/run", "{W}/data", "-o", "{W}/data", "--force"], "err"),
        ("evaluate -o DATA/test --force", ["-q", "evaluate", "{W}/run", "{W}/data", "-o", "{W}/data/test", "--force"], "err"),
        ("export -o RUN/checkpoint.pt --force", ["-q", "export", "{W}/run", "-o", "{W}/run/checkpoint.pt", "--force"], "err"),
        ("export -o RUN/metrics.json --force", ["-q", "export", "{W}/run", "-o", "{W}/run/metrics.json", "--force"], "err"),
        ("export -o RUN/x.onnx (inside the run)", ["-q", "export", "{W}/run", "-o", "{W}/run/x.onnx"], "ok"),
        ("predict --csv onto an input image --force", ["-q", "predict", "{W}/run", "{W}/data/test/imgs", "--csv", "{W}/data/test/imgs/{FIRST}", "--force"], "err"),
        ("predict --csv RUN/checkpoint.pt --force", ["-q", "predict", "{W}/run", "{W}/data/test/imgs", "--csv", "{W}/run/checkpoint.pt", "--force"], "err"),
        ("predict --csv inside the input folder", ["-q", "predict", "{W}/run", "{W}/data/test/imgs", "--csv", "{W}/data/test/imgs/p.csv"], "ok"),
        ("synth -o DATA --force (replaces the data: asked for)", ["-q", "synth", "--n-train", "5", "--n-proliv", "2", "--n-test", "4", "-o", "{W}/other", "--force"], "ok"),
        ("experiment -o DATA --force", ["-q", "experiment", "{W}/c.yaml", "-d", "{W}/data", "-o", "{W}/data", "--force"], "err"),
        ("report on a run whose report.html is a folder", ["-q", "report", "{W}/run"], "any"),
        ("feedback export -o DATA --force", ["-q", "feedback", "export", "{W}/db.sqlite", "--base", "{W}/data", "-o", "{W}/data", "--force"], "err"),
    ]
    for name, argv, expect in inside:
        def setup(w: Path, fx: Fx, name: str = name) -> None:
            copy_data(w, fx)
            if "report.html is a folder" in name:
                (w / "run" / "report.html").unlink()
                (w / "run" / "report.html").mkdir()
        first = sorted((fx_data_names := ["{FIRST}"]))[0]  # noqa: F841
        c.append(Case("outputs", name, argv, setup, (lambda w, fx, o, _=None: data_intact(w, fx)) if expect != "any" else None,
                      expect=expect, timeout=120,))  # fmt: skip
    # --force onto a run folder that holds a read-only subfolder: the old run cannot be removed
    def ro_run(w: Path, fx: Fx) -> None:
        _raw_cfg(TINY_YAML)(w, fx)
        shutil.copytree(fx.run, w / "run")
        os.chmod(w / "run" / "plots", 0o555)

    def no_old(w: Path, fx: Fx, stdout: str) -> str | None:
        left = [p.name for p in w.iterdir() if p.name.startswith(".")]
        return f"left {left} behind" if left else None

    c.append(Case("outputs", "train --force onto a run with a read-only subfolder",
                  ["-q", "train", "{DATA}", "-c", "{W}/c.yaml", "-o", "{W}/run", "--force"], ro_run, no_old, timeout=120))  # fmt: skip
    c.append(Case("outputs", "evaluate --force onto a folder with a read-only subfolder",
                  ["-q", "evaluate", "{RUN}", "{DATA}", "-o", "{W}/run", "--force"], ro_run, no_old, timeout=120))  # fmt: skip
    c.append(Case("outputs", "synth --force onto a folder with an unreadable subfolder",
                  ["-q", "synth", "--n-train", "5", "--n-proliv", "2", "--n-test", "4", "-o", "{W}/run", "--force"],
                  lambda w, fx: (shutil.copytree(fx.run, w / "run"), os.chmod(w / "run" / "plots", 0)), no_old))  # fmt: skip
    return c


def _started(marker: str) -> Callable[[Path], bool]:
    def ready(w: Path) -> bool:
        return any(p.name.startswith(".") and p.name.endswith(".tmp") and marker in p.name for p in w.rglob(".*"))

    return ready


def _after(seconds: float) -> Callable[[Path], bool]:
    t: list[float] = []

    def ready(w: Path) -> bool:
        if not t:
            t.append(time.monotonic())
        return time.monotonic() - t[0] > seconds

    return ready


def interruption_cases() -> list[Case]:
    c: list[Case] = []
    long_cfg = TINY_YAML.replace("epochs: 1", "epochs: 100000\npatience: 100000\ntime_budget: 100000")

    def intact(w: Path, fx: Fx) -> str | None:
        if (w / "run").exists() and not (w / "run" / "old.txt").is_file():
            return "the old run folder was not kept intact"
        left = [p.name for p in w.iterdir() if p.name.startswith(".")]
        return f"left {left}" if left else None

    def old_run(w: Path, fx: Fx) -> None:
        _raw_cfg(long_cfg)(w, fx)
        (w / "run").mkdir()
        (w / "run" / "old.txt").write_text("old")

    def many_images(w: Path, fx: Fx) -> None:
        (w / "imgs").mkdir()
        src = _img(fx).read_bytes()
        for i in range(4000):  # copies: links to one file are scored once
            (w / "imgs" / f"i{i:05d}.jpg").write_bytes(src)

    for sig in (signal.SIGINT, signal.SIGTERM):
        s = sig.name
        c.append(Case("interruption", f"{s} mid-train", ["-q", "train", "{DATA}", "-o", "{W}/run", "-c", "{W}/c.yaml"],
                      _raw_cfg(long_cfg), signal_after=(sig, _started(".run.")), after_signal=intact, timeout=120))  # fmt: skip
        c.append(Case("interruption", f"{s} mid-train --force (old run kept)",
                      ["-q", "train", "{DATA}", "-o", "{W}/run", "-c", "{W}/c.yaml", "--force"],
                      old_run, signal_after=(sig, _started(".run.")), after_signal=intact, timeout=120))  # fmt: skip
        c.append(Case("interruption", f"{s} mid-predict --csv",
                      ["-q", "predict", "{RUN}", "{W}/imgs", "--csv", "{W}/p.csv"], many_images,
                      signal_after=(sig, _after(5.0)),
                      after_signal=lambda w, fx: "a CSV was written" if (w / "p.csv").exists() else None, timeout=120))  # fmt: skip
        c.append(Case("interruption", f"{s} mid-export", ["-q", "export", "{RUN}", "-o", "{W}/m.onnx"],
                      signal_after=(sig, _after(4.0)),
                      after_signal=lambda w, fx: "half an ONNX file" if (w / "m.onnx").exists() else None, timeout=120,
                      may_finish=True))  # fmt: skip
        c.append(Case("interruption", f"{s} mid-synth", ["-q", "synth", "-o", "{W}/data", "--n-train", "100000"],
                      signal_after=(sig, _started(".data.")), after_signal=lambda w, fx: None, timeout=120))  # fmt: skip
        c.append(Case("interruption", f"{s} mid-evaluate", ["-q", "evaluate", "{RUN}", "{W}/t", "-o", "{W}/ev"],
                      lambda w, fx: (many_images(w, fx), (w / "t").mkdir(), os.rename(w / "imgs", w / "t" / "normal"),
                                     shutil.copytree(fx.data / "proliv", w / "t" / "anomalous")),
                      signal_after=(sig, _after(5.0)), after_signal=lambda w, fx: "ev written" if (w / "ev").exists() else None, timeout=120))  # fmt: skip
        c.append(Case("interruption", f"{s} mid-experiment", ["-q", "experiment", "{W}/c.yaml", "-d", "{DATA}", "-o", "{W}/exp"],
                      _raw_cfg(long_cfg), signal_after=(sig, _started(".exp.")), after_signal=lambda w, fx: None, timeout=120))  # fmt: skip
    return c


def usage_cases() -> list[Case]:
    c: list[Case] = []
    argvs = [
        [], ["nope"], ["train"], ["train", "{DATA}"], ["train", "{DATA}", "-o", "{W}/r", "--epochs", "abc"],
        ["train", "{DATA}", "-o", "{W}/r", "--epochs", "-3"], ["train", "{DATA}", "-o", "{W}/r", "--epochs", "0"],
        ["train", "{DATA}", "-o", "{W}/r", "--epochs", "99999999999999999999999"],
        ["train", "{DATA}", "-o", "{W}/r", "--seed", "-1"], ["train", "{DATA}", "-o", "{W}/r", "--seed", "4294967296"],
        ["train", "{DATA}", "-o", "{W}/r", "--target-fpr", "nan"], ["train", "{DATA}", "-o", "{W}/r", "--target-fpr", "1"],
        ["train", "{DATA}", "-o", "{W}/r", "--max-train", "0"], ["train", "{DATA}", "-o", "{W}/r", "--score", "nope"],
        ["train", "{DATA}", "-o", "{W}/r", "--threshold-rule", "nope"], ["train", "{DATA}", "-o", "{W}/r", "--device", "tpu"],
        ["train", "{DATA}", "-o", "{W}/r", "--unknown"], ["predict", "{RUN}"], ["predict", "{RUN}", "{DATA}/test/imgs", "--rule", "nope"],
        ["predict", "{RUN}", "{DATA}/test/imgs", "--backend", "nope"],
        ["synth", "-o", "{W}/s", "--domain", "nope"], ["synth", "-o", "{W}/s", "--n-train", "x"],
        ["synth", "-o", "{W}/s", "--n-train", "0"], ["synth", "-o", "{W}/s", "--n-test", "0"],
        ["synth", "-o", "{W}/s", "--n-train", "1", "--n-proliv", "0", "--n-test", "1"],
        ["synth", "-o", "{W}/s", "--domain", "surface", "--n-train", "-1"],
        ["synth", "-o", "{W}/s", "--domain", "surface", "--n-train", "100000000000"],
        ["synth", "-o", "{W}/s", "--domain", "surface", "--n-test", "1", "--n-train", "1", "--n-proliv", "0"],
        ["synth", "-o", "{W}/s", "--seed", "1e3"], ["synth", "-o", "{W}/s", "--seed", "99999999999999999999"],
        ["feedback"], ["feedback", "nope"], ["feedback", "export"], ["--version"], ["--help"], ["-q"],
        ["demo", "-o", "{W}/f"], ["demo", "-o", "{W}/d", "--domain", "nope"],
        ["experiment", "-o", "{W}/e", "-d", "{DATA}"],
        ["report"], ["report", "{W}"], ["export", "{RUN}"],
    ]  # fmt: skip
    for a in argvs:
        def setup(w: Path, fx: Fx) -> None:
            (w / "f").write_text("x")
        c.append(Case("usage", "usage: spillguard " + " ".join(x.replace("{DATA}", "D").replace("{RUN}", "R").replace("{W}/", "") for x in a),
                      a, setup, timeout=60))  # fmt: skip
    # predict --cluster argument parsing (errors only: no cluster is started)
    P = ["-q", "predict", "{RUN}", "{DATA}/test/imgs"]
    for a in [["--cluster", "local:0", "-o", "{W}/o"], ["--cluster", "local:-1", "-o", "{W}/o"],
              ["--cluster", "local:abc", "-o", "{W}/o"], ["--cluster", "local:100000", "-o", "{W}/o"],
              ["--cluster", "tcp://", "-o", "{W}/o"], ["--cluster", "tcp://127.0.0.1:notaport", "-o", "{W}/o"],
              ["--cluster", "tcp://127.0.0.1:99999", "-o", "{W}/o"], ["--cluster", "udp://x:1", "-o", "{W}/o"],
              ["--cluster", "", "-o", "{W}/o"], ["--cluster", "local"], ["-o", "{W}/o"],
              ["--cluster", "local", "-o", "{W}/o", "--csv", "{W}/p.csv"], ["--cluster", "local", "-o", "{W}/o", "--strict"],
              ["--cluster", "local:1", "-o", "{W}/o", "--partition-size", "0"],
              ["--cluster", "local:1", "-o", "{W}/o", "--partition-size", "-1"],
              ["--cluster", "local:1", "-o", "{W}/o", "--partition-size", "100000000000000000000"],
              ["--resume"], ["--cluster", "local:1", "-o", "{W}/f"], ["--cluster", "local:1", "-o", "{W}/ro/o"],
              ["--cluster", "local:1", "-o", "{W}/o", "--rule", "nope"], ["--cluster", "local:1", "-o", "{W}/o", "--backend", "nope"]]:  # fmt: skip
        def setup(w: Path, fx: Fx) -> None:
            (w / "f").write_text("x")
            _ro(w, fx)
        c.append(Case("usage", "predict " + " ".join(x.replace("{W}/", "") for x in a), [*P, *a], setup, expect="err", timeout=60))
    # serve start-up arguments (errors only: none of these may start a server)
    S = ["-q", "serve", "{RUN}", "--db", "{W}/v.sqlite"]
    for a in [["--port", "-1"], ["--port", "70000"], ["--max-mb", "nan"], ["--max-mb", "-1"], ["--max-mb", "inf"],
              ["--max-mb", "1e300"], ["--max-pixels", "0"], ["--max-pixels", "-5"], ["--max-batch", "0"],
              ["--score-batch", "0"], ["--score-batch", "-1"], ["--sample-normals", "2"], ["--sample-normals", "nan"],
              ["--sample-normals", "-0.1"], ["--backend", "nope"], ["--rule", "nope"], ["--host", "0.0.0.0"],
              ["--db", "{W}/f/v.sqlite"], ["--db", "{W}/ro/v.sqlite"], ["--db", "{W}"], ["--db", "{W}/f"],
              ["--store", "{W}/f"], ["--host", "not a host"]]:  # fmt: skip
        def setup(w: Path, fx: Fx) -> None:
            (w / "f").write_text("x")
            _ro(w, fx)
        c.append(Case("usage", "serve " + " ".join(x.replace("{W}/", "") for x in a), [*S, *a], setup, expect="err", timeout=40))
    c.append(Case("usage", "serve on a missing run", ["-q", "serve", "{W}/none", "--db", "{W}/v.sqlite"], expect="err", timeout=40))
    c.append(Case("usage", "serve on a damaged checkpoint", ["-q", "serve", "{W}/r", "--db", "{W}/v.sqlite"],
                  _ckpt(lambda d: d.pop("thresholds")), expect="err", timeout=40))  # fmt: skip
    # feedback export
    F = ["-q", "feedback", "export"]
    for name, setup, extra in [
        ("missing db", None, []), ("garbage db", lambda w, fx: (w / "db.sqlite").write_bytes(os.urandom(5000)), []),
        ("empty db", lambda w, fx: (w / "db.sqlite").write_bytes(b""), []), ("db is a folder", lambda w, fx: (w / "db.sqlite").mkdir(), []),
        ("sqlite without tables", lambda w, fx: __import__("sqlite3").connect(w / "db.sqlite").execute("create table t(x)").connection.commit(), []),
        ("--since garbage", lambda w, fx: __import__("sqlite3").connect(w / "db.sqlite").execute("create table t(x)").connection.commit(), ["--since", "yesterday"]),
        ("--base missing", None, ["--base", "{W}/none"]),
    ]:  # fmt: skip
        c.append(Case("usage", f"feedback export: {name}", [*F, "{W}/db.sqlite", "-o", "{W}/out", *extra], setup, expect="err"))
    return c


def all_cases() -> list[Case]:
    return config_cases() + structure_cases() + model_file_cases() + image_cases() + label_cases() + output_cases() + interruption_cases() + usage_cases()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="Run only the cases whose class or name contains this.")
    ap.add_argument("--skip", default="", help="Leave out the cases whose class contains this (comma-separated).")
    ap.add_argument("--names", type=Path, default=None, help="Run only the cases named in this file (one a line).")
    ap.add_argument("--jobs", type=int, default=2, help="Cases run at once (each is one process).")
    ap.add_argument("--keep", type=Path, default=None, help="Keep the case folders here.")
    ap.add_argument("--json", type=Path, default=None, help="Also write the outcomes as JSON lines.")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sg-sweep-")) if args.keep is None else args.keep
    base.mkdir(parents=True, exist_ok=True)
    fx = make_fixtures(base)
    first = sorted((fx.data / "test" / "imgs").iterdir())[0].name
    cases = [c for c in all_cases() if args.only in c.cls or args.only in c.name]
    if args.names is not None:
        wanted = set(args.names.read_text().splitlines())
        cases = [c for c in cases if c.name in wanted]
    skip = [s for s in args.skip.split(",") if s]
    cases = [c for c in cases if not any(s in c.cls for s in skip)]
    for case in cases:
        case.argv = [a.replace("{FIRST}", first) for a in case.argv]
    t0 = time.monotonic()

    def one(ic: tuple[int, Case]) -> Outcome:
        i, case = ic
        o = run_case(case, base / "cases" / f"{i:04d}", fx)
        print(f"{o.verdict:6} {o.seconds:5.1f}s  [{case.cls}] {case.name[:70]!s}: {o.why[:160]}", flush=True)
        return o

    with ThreadPoolExecutor(args.jobs) as ex:
        outcomes = list(ex.map(one, enumerate(cases)))
    bad_fixture = _fixtures_intact(base, fx)
    if bad_fixture:
        print(f"DEFECT: a case destroyed a shared fixture: {bad_fixture}")
    counts = Counter(o.verdict for o in outcomes)
    per_class = Counter((o.case.cls, o.verdict) for o in outcomes)
    print(f"\n{len(outcomes)} cases in {time.monotonic() - t0:.0f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for cls in sorted({o.case.cls for o in outcomes}):
        print(f"  {cls:22} " + ", ".join(f"{v} {per_class[(cls, v)]}" for v in ("OK", "ERR", "DEFECT", "SETUP") if per_class[(cls, v)]))
    defects = [o for o in outcomes if o.verdict in ("DEFECT", "SETUP")]
    for o in defects:
        print(f"  {o.verdict}: [{o.case.cls}] {o.case.name}: {o.why}")
    if args.json:
        with args.json.open("w") as fh:
            for o in outcomes:
                fh.write(json.dumps({"cls": o.case.cls, "name": o.case.name, "verdict": o.verdict, "why": o.why,
                                     "rc": o.rc, "seconds": round(o.seconds, 2), "peak_rss": o.peak_rss}) + "\n")  # fmt: skip
    if args.keep is None:
        for p in (base / "cases").rglob("*"):  # chmod back what cases made unreadable, then remove
            try:
                if p.is_dir() and not p.is_symlink():
                    os.chmod(p, stat.S_IRWXU)
            except OSError:
                pass
        for p in (base / "cases").glob("*"):
            try:
                os.chmod(p, stat.S_IRWXU)
            except OSError:
                pass
        subprocess.run(["chmod", "-R", "u+rwx", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)
    return 1 if defects or bad_fixture else 0


if __name__ == "__main__":
    sys.exit(main())
