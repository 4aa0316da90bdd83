"""Issue 10, spillguard: config fields of the wrong type or out of range, damaged checkpoints that
pass the version check, labels (BOM, repeats, conflicts, one class), outputs checked before the
work, predict's skipped files as CSV rows, and property tests of the checkpoint loader."""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharedcore.errors import UserError
from spillguard.config import FIELD_CHECKS, TrainConfig
from spillguard.data.loading import read_annotation, read_manifest
from spillguard.detector import SpillDetector
from spillguard.pipelines.evaluate import evaluate_run
from tests.signals import default_signals

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --------------------------------------------------------------------------------- config fields


def test_every_config_field_has_a_declared_check() -> None:
    assert {f.name for f in dataclasses.fields(TrainConfig)} == set(FIELD_CHECKS)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", "many", "field 'epochs': 'many' is not an integer"),
        ("epochs", True, "field 'epochs': True is not an integer"),
        ("epochs", 2.5, "field 'epochs': 2.5 is not a whole number"),
        ("lr", float("nan"), "field 'lr': nan is not a finite number"),
        ("lr", 0, "field 'lr': 0 is out of range"),
        ("height", 100000, "field 'height': 100000 is out of range"),
        ("batch_size", 10**12, "field 'batch_size'"),
        ("seed", -1, "field 'seed': -1 is out of range"),
        ("fit_decoder", "yes", "field 'fit_decoder': 'yes' is not true or false"),
        ("model_params", [1], "field 'model_params'"),
        ("max_train", 0, "field 'max_train': 0 is out of range"),
        ("target_fpr", 1.0, "field 'target_fpr': 1.0 is out of range"),
        ("model", 3, "field 'model': 3 is not text"),
    ],
)
def test_config_field_type_and_range(tmp_path: Path, field: str, value: Any, message: str) -> None:
    import yaml

    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({field: value}), encoding="utf-8")
    with pytest.raises(UserError) as err:
        TrainConfig.from_yaml(p)
    assert str(err.value).startswith(f"{p}: {message}"), str(err.value)


def test_config_pixel_budget_and_normalised_values() -> None:
    with pytest.raises(UserError, match=r"2048x2048 = 4,194,304 pixels is over the input budget"):
        TrainConfig(height=2048, width=2048).validate()
    cfg = TrainConfig.from_dict({"epochs": 5.0, "seed": 3.0})
    assert cfg.epochs == 5 and isinstance(cfg.epochs, int) and cfg.seed == 3


def test_config_yaml_with_a_bom_and_odd_keys(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_bytes(b"\xef\xbb\xbfepochs: 3\n")
    assert TrainConfig.from_yaml(p).epochs == 3
    p.write_text("1: 2\nepochs: 3\n", encoding="utf-8")
    with pytest.raises(UserError, match="unknown field '1'"):
        TrainConfig.from_yaml(p)


# --------------------------------------------------------------------------- damaged checkpoints


def _write(run: Path, tmp: Path, change: Any) -> Path:
    data = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    change(data)
    p = tmp / "checkpoint.pt"
    torch.save(data, p)
    return p


def _first_weight(d: dict[str, Any]) -> str:
    return next(k for k, v in d["model_state"].items() if v.ndim >= 2)


CHECKPOINT_CASES = [
    (lambda d: d.pop("model_state"), "entry 'model_state' is missing"),
    (lambda d: d.__setitem__("model_state", [1, 2]), "entry 'model_state' is a list"),
    (lambda d: d["model_state"].pop(_first_weight(d)), "the weights do not fit"),
    (lambda d: d["model_state"].__setitem__(_first_weight(d), torch.zeros(1, 1)), "the weights do not fit"),
    (
        lambda d: d["model_state"].__setitem__(
            _first_weight(d), d["model_state"][_first_weight(d)] * float("nan")
        ),
        "NaN",
    ),
    (lambda d: d.__setitem__("thresholds", {}), "has no threshold"),
    (lambda d: d.__setitem__("thresholds", {"fpr": "high"}), "threshold 'fpr' is 'high'"),
    (
        lambda d: d.__setitem__("thresholds", {k: float("inf") for k in d["thresholds"]}),
        "not a finite number",
    ),
    (lambda d: d.__setitem__("threshold_rule", "nope"), "'nope' has no threshold"),
    (lambda d: d["preprocess"].__setitem__("std", [0.0, 0.0, 0.0]), "normalisation 'std'"),
    (lambda d: d["preprocess"].__setitem__("mean", [1.0]), "normalisation 'mean'"),
    (lambda d: d["preprocess"].pop("colour"), "normalisation does not match"),
    (lambda d: d["config"].__setitem__("height", 100000), "field 'height'"),
    (lambda d: d.pop("config"), "entry 'config' is missing"),
    # found by research/spillguard_sweep.py: these passed the checks above and then crashed or scored wrongly
    (lambda d: d["config"].update(height=None, width=None), "the config has no input size"),
    (lambda d: d["config"].__setitem__("model_params", {"widths": [10**5] * 3}), "parameter 'widths'[0]"),
    (
        lambda d: d.__setitem__("model_state", {k: v.long() for k, v in d["model_state"].items()}),
        "is torch.int64, not floating point",
    ),
    (
        lambda d: d.__setitem__("model_state", {k: v.bool() for k, v in d["model_state"].items()}),
        "is torch.bool, not floating point",
    ),
    (lambda d: d["model_state"][_first_weight(d)].fill_(3e38), "scores a plain grey image as NaN"),
    (lambda d: d["preprocess"].__setitem__("std", [1e-300] * 3), "scores a plain grey image as NaN"),
    (lambda d: d.__setitem__("decoder_fitted", "no"), "entry 'decoder_fitted' is 'no', not true or false"),
    (lambda d: d["thresholds"].__setitem__("prior", 0.69), "are not those of score 'local'"),
]


@pytest.mark.parametrize(("change", "what"), CHECKPOINT_CASES, ids=[w[:30] for _, w in CHECKPOINT_CASES])
def test_damaged_checkpoint(tiny_run: Path, tmp_path: Path, change: Any, what: str) -> None:
    p = _write(tiny_run, tmp_path, change)
    with pytest.raises(UserError) as err:
        SpillDetector.load(p)
    msg = str(err.value)
    assert msg.startswith(f"damaged model file: {p}: ") and msg.endswith(
        "retrain or re-save it ('spillguard train')"
    )
    assert what in msg


@pytest.mark.parametrize("version", ["1", 1.5, None])
def test_checkpoint_format_version_of_another_type(tiny_run: Path, tmp_path: Path, version: Any) -> None:
    p = _write(tiny_run, tmp_path, lambda d: d.__setitem__("format_version", version))
    with pytest.raises(UserError, match=rf"checkpoint format version {re.escape(repr(str(version)))} found"):
        SpillDetector.load(p)


@FAST
@given(frac=st.floats(0, 1), junk=st.binary(max_size=8))
def test_checkpoint_truncations(tiny_run: Path, tmp_path: Path, frac: float, junk: bytes) -> None:
    raw = (tiny_run / "checkpoint.pt").read_bytes()
    p = tmp_path / "t.pt"
    p.write_bytes(raw[: int(frac * len(raw))] + junk)
    try:
        SpillDetector.load(p)
    except UserError as exc:
        assert "\n" not in str(exc)


@FAST
@given(
    key=st.sampled_from(
        ["config", "model_state", "preprocess", "thresholds", "threshold_rule", "decoder_fitted"]
    ),
    value=st.none()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.lists(st.floats(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.floats() | st.text(max_size=3), max_size=3),
)
def test_checkpoint_random_entries(tiny_run: Path, tmp_path: Path, key: str, value: Any) -> None:
    p = _write(tiny_run, tmp_path, lambda d: d.__setitem__(key, value))
    try:
        det = SpillDetector.load(p)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert det.threshold() == det.thresholds_[det.threshold_rule_]


# ------------------------------------------------------------------------------------------ labels


def test_annotation_bom_repeats_and_conflicts(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b.jpg").write_bytes(b"x")
    ann = tmp_path / "ann.txt"
    ann.write_bytes("a.jpg 1\nb.jpg 0\na.jpg 1\n".encode("utf-8-sig"))
    src = read_annotation(ann, tmp_path)
    assert [p.name for p in src.paths] == ["a.jpg", "b.jpg"] and src.labels == [1, 0]  # the BOM row kept
    assert len(src.skipped) == 1 and "counted once (line 1)" in src.skipped[0][1]
    ann.write_text("a.jpg 1\nb.jpg 0\na.jpg 0\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"ann\.txt: line 3: a\.jpg is labelled 0, but line 1 labels it 1"):
        read_annotation(ann, tmp_path)


def test_manifest_bom_repeats_and_conflicts(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    m = tmp_path / "m.csv"
    m.write_bytes("path,label\na.jpg,spill\n./a.jpg,1\n".encode("utf-8-sig"))
    src = read_manifest(m)
    assert [p.name for p in src.paths] == ["a.jpg"] and src.labels == [1] and len(src.skipped) == 1
    m.write_text("path,label\na.jpg,spill\na.jpg,normal\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"m\.csv: row 3: a\.jpg is labelled 0, but row 2 labels it 1"):
        read_manifest(m)


def test_evaluate_on_one_class_is_refused_before_writing(
    tiny_run: Path, tiny_data: Path, tmp_path: Path
) -> None:
    only = tmp_path / "only"
    (only / "normal").mkdir(parents=True)
    for p in sorted((tiny_data / "train").glob("*.jpg"))[:5]:
        shutil.copy(p, only / "normal" / p.name)
    out = tmp_path / "ev"
    with pytest.raises(UserError, match=r"5 normal and 0 spill image\(s\): with only one class ROC/PR AUC"):
        evaluate_run(tiny_run, only, out)
    assert not out.exists() and not any(tmp_path.glob(".ev*"))


def test_evaluate_checks_its_output_before_loading(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev"
    out.mkdir()
    (out / "x").write_text("mine", encoding="utf-8")
    with pytest.raises(UserError, match="folder exists and is not empty"):
        evaluate_run(tiny_run, tmp_path / "no-such-test-data", out)  # the output is refused first


# ------------------------------------------------------------------------------------------ predict


def test_predict_lists_skipped_files_in_the_csv_and_counts_them_with_quiet(
    tiny_run: Path, tiny_data: Path, tmp_path: Path
) -> None:
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    shutil.copy(tiny_data / "proliv" / "spill_0000.jpg", imgs / "a.jpg")
    (imgs / "b.jpg").write_bytes(b"not a jpeg")
    os.symlink(imgs / "gone.jpg", imgs / "c.jpg")  # broken link: found by the glob
    out = tmp_path / "p.csv"
    env = {**os.environ, "SPILLGUARD_THREADS": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "spillguard", "-q", "predict", str(tiny_run), str(imgs / "*.jpg"), "--csv", str(out)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert (
        res.stderr.strip()
        == f"spillguard: skipped 2 file(s) that could not be scored (rows with their reason in {out})"
    )
    assert "metrics.json" not in res.stderr + res.stdout
    rows = {Path(r["path"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert list(next(csv.reader(out.open(encoding="utf-8")))) == ["path", "score", "verdict", "error"]
    assert rows["a.jpg"]["error"] == "" and float(rows["a.jpg"]["score"]) > 0
    assert rows["b.jpg"]["score"] == "" and rows["b.jpg"]["verdict"] == "" and rows["b.jpg"]["error"]
    assert "broken symbolic link" in rows["c.jpg"]["error"] and rows["c.jpg"]["score"] == ""


@pytest.mark.parametrize(
    ("option", "value"), [("--n-train", "-1"), ("--n-train", "1000000000000"), ("--n-test", "-5")]
)
def test_synth_counts_are_checked_before_writing(tmp_path: Path, option: str, value: str) -> None:
    from typer.testing import CliRunner

    from spillguard.cli import app

    res = CliRunner().invoke(app, ["synth", "-o", str(tmp_path / "sy"), option, value])
    assert isinstance(res.exception, UserError) and str(res.exception).startswith(
        f"{option}: {value} is out of range"
    )
    assert not (tmp_path / "sy").exists()


def test_predict_csv_onto_a_folder_is_refused_before_scoring(
    tiny_run: Path, tiny_data: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from spillguard.cli import app

    res = CliRunner().invoke(
        app, ["predict", str(tiny_run), str(tiny_data / "proliv"), "--csv", str(tmp_path), "--force"]
    )
    assert isinstance(res.exception, UserError) and "is a folder; name a file to write" in str(res.exception)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ('{"a":', "not readable JSON"),
        ("[1, 2]", "a list, not a mapping"),
        ("{}", "entry 'config' is missing"),
        (
            '{"config": {}, "data": {}, "history": [], "thresholds": {"fpr": "x"}, "validation": {}}',
            "a threshold is not a number",
        ),
    ],
)
def test_report_of_a_damaged_run_folder(tiny_run: Path, tmp_path: Path, text: str, what: str) -> None:
    from spillguard.reporting.run_report import rebuild_report

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "metrics.json").write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=rf"damaged run file: .*metrics\.json: {what}"):
        rebuild_report(run)
    with pytest.raises(UserError, match="damaged run file"):  # evaluate refuses before scoring anything
        evaluate_run(run, tmp_path / "missing", force=True)


_json_like = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.lists(st.integers(), max_size=2)
)


@FAST
@given(fields=st.dictionaries(st.sampled_from(sorted(FIELD_CHECKS)), _json_like, max_size=4))
def test_config_random_fields(fields: dict[str, Any]) -> None:
    try:
        cfg = TrainConfig.from_dict(fields)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:  # a valid result: every field of its declared type
        assert cfg.epochs is None or isinstance(cfg.epochs, int)
        assert isinstance(cfg.lr, float)
        assert cfg.height is None or cfg.width is None or cfg.height * cfg.width <= 512 * 512


@FAST
@given(data=st.binary(max_size=200), bom=st.booleans())
def test_label_files_random_bytes(tmp_path: Path, data: bytes, bom: bool) -> None:
    raw = (b"\xef\xbb\xbf" if bom else b"") + data
    (tmp_path / "ann.txt").write_bytes(raw)
    (tmp_path / "m.csv").write_bytes(b"path,label\n" + raw)
    for read in (
        lambda: read_annotation(tmp_path / "ann.txt", tmp_path),
        lambda: read_manifest(tmp_path / "m.csv"),
    ):
        try:
            src = read()
        except UserError as exc:
            assert "\n" not in str(exc)
        else:
            assert len(src.paths) == len(src.labels) and set(src.labels) <= {0, 1}


# ------------------------------------------------- SIGTERM / SIGINT mid-command (synth: test_atomic.py)

_LONG = "epochs: 100000\npatience: 100000\ntime_budget: 100000\nbatch_size: 16\nheight: 16\nwidth: 24\n"


def _signal_cli(args: list[str], cwd: Path, sig: int, ready: Any, timeout: float = 180) -> tuple[int, str]:
    """Run ``spillguard ARGS``; send ``sig`` once ``ready()`` (polled); return (exit code, stderr)."""
    import signal as _signal  # noqa: F401  (the caller's signal numbers)
    import time

    env = {**os.environ, "SPILLGUARD_THREADS": "1"}
    err_path = cwd / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spillguard", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            preexec_fn=default_signals,  # SIGINT may be ignored by the suite (nohup, a background job)
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                assert proc.poll() is None, (
                    f"ended (rc {proc.returncode}) before the signal: {err_path.read_text()}"
                )
                assert time.monotonic() < deadline, "never became ready"
                time.sleep(0.05)
            proc.send_signal(sig)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = err_path.read_text()
    err_path.unlink()
    return proc.returncode, text


def _tmp_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*") if p.name.endswith(".tmp"))


def _train_started(work: Path) -> Any:
    def ready() -> bool:  # the hidden run folder exists and holds the epoch log: training is under way
        return any((t / "epochs.jsonl").is_file() for t in work.glob(".run.*.tmp"))

    return ready


SIGNALS = [
    pytest.param(15, 143, "terminated", id="SIGTERM"),
    pytest.param(2, 130, "interrupted", id="SIGINT"),
]


@pytest.mark.parametrize(
    ("sig", "code", "word", "force"),
    [
        pytest.param(15, 143, "terminated", True, id="SIGTERM-force-keeps-old"),
        pytest.param(15, 143, "terminated", False, id="SIGTERM-new", marks=pytest.mark.slow),
        pytest.param(2, 130, "interrupted", True, id="SIGINT-force-keeps-old", marks=pytest.mark.slow),
        pytest.param(2, 130, "interrupted", False, id="SIGINT-new", marks=pytest.mark.slow),
    ],
)
def test_signal_mid_train_leaves_no_temporary_folder(
    tiny_data: Path, tmp_path: Path, sig: int, code: int, word: str, force: bool
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "c.yaml").write_text(_LONG)
    if force:
        (work / "run").mkdir()
        (work / "run" / "old.txt").write_text("the old run")
    args = ["-q", "train", str(tiny_data), "-o", str(work / "run"), "-c", str(tmp_path / "c.yaml")]
    rc, err = _signal_cli([*args, *(["--force"] if force else [])], work, sig, _train_started(work))
    assert rc == code and err.strip().splitlines()[-1] == f"spillguard: {word}", err
    assert _tmp_names(work) == []
    if force:  # the interrupted --force retrain keeps the old run as it was
        assert [p.name for p in (work / "run").iterdir()] == ["old.txt"]
    else:
        assert list(work.iterdir()) == []


def _links(tiny_data: Path, folder: Path, n: int) -> None:
    folder.mkdir()
    src = [p.read_bytes() for p in sorted((tiny_data / "train").glob("*.jpg"))]
    for i in range(n):  # copies, not links: a file named twice is scored once
        (folder / f"i{i:05d}.jpg").write_bytes(src[i % len(src)])


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "word"), SIGNALS)
def test_signal_mid_predict_csv_writes_nothing(
    tiny_run: Path, tiny_data: Path, tmp_path: Path, sig: int, code: int, word: str
) -> None:
    import time

    _links(tiny_data, tmp_path / "imgs", 100_000)  # ~15 s of scoring idle: the signal lands mid-run
    work = tmp_path / "work"
    work.mkdir()
    t0 = time.monotonic()
    args = ["-q", "predict", str(tiny_run), str(tmp_path / "imgs"), "--csv", str(work / "p.csv")]
    rc, err = _signal_cli(args, work, sig, lambda: time.monotonic() - t0 > 8)  # torch loaded, scoring
    assert rc == code and err.strip().splitlines()[-1] == f"spillguard: {word}", err
    assert list(work.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "word"), SIGNALS)
@pytest.mark.parametrize("after", [2.0, 4.0, 6.0])
def test_signal_mid_export_leaves_a_whole_file_or_nothing(
    tiny_run: Path, tmp_path: Path, sig: int, code: int, word: str, after: float
) -> None:
    """Export has no long phase to wait for: signals at several moments (import, tracing, the
    onnxruntime parity check, writing); the result is the whole model or no file, never a .tmp."""
    import time

    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "SPILLGUARD_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "spillguard", "-q", "export", str(tiny_run), "-o", str(work / "m.onnx")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=default_signals,
    )  # fmt: skip
    try:
        time.sleep(after)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _tmp_names(work) == []
    if proc.returncode == 0:  # finished before the signal arrived: a whole, loadable model
        from spillguard.deploy.runtime import OnnxDetector

        assert OnnxDetector.load(work / "m.onnx").threshold() > 0
    elif (
        proc.returncode == -sig
    ):  # before run_cli's handler (nothing begun) or as the finished command exited
        left = list(work.iterdir())
        if left:
            from spillguard.deploy.runtime import OnnxDetector

            assert left == [work / "m.onnx"] and OnnxDetector.load(work / "m.onnx").threshold() > 0
    else:
        assert proc.returncode == code and err.strip().splitlines()[-1] == f"spillguard: {word}", err
        # interrupted before the rename: nothing; after it (the signal came as the command ended): a whole model
        left = list(work.iterdir())
        if left:
            from spillguard.deploy.runtime import OnnxDetector

            assert left == [work / "m.onnx"] and OnnxDetector.load(work / "m.onnx").threshold() > 0


def test_predict_csv_of_a_file_name_that_is_not_utf8(tiny_run: Path, tiny_data: Path, tmp_path: Path) -> None:
    """Found by research/spillguard_sweep.py: UnicodeEncodeError (the bug handler) writing the CSV."""
    from spillguard.pipelines.predict import predict_paths, write_predictions

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    bad = os.path.join(os.fsencode(imgs), b"bad\xff\xfename.jpg")
    shutil.copy(tiny_data / "proliv" / "spill_0000.jpg", bad)
    rows, skipped = predict_paths(tiny_run, [str(imgs)])
    out = write_predictions(tmp_path / "p.csv", rows, skipped=skipped)
    raw = out.read_bytes()
    assert b"bad\xff\xfename.jpg," in raw  # the name's own bytes: the path column names the file
    with out.open(newline="", encoding="utf-8", errors="surrogateescape") as fh:
        (row,) = list(csv.DictReader(fh))
    assert os.path.exists(row["path"]) and row["error"] == ""


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["train", "{DATA}", "-o", "{DATA}/train", "--force"], "train: is the input"),
        (["train", "{DATA}", "-o", "{DATA}", "--force"], "data: is the input"),
        (["evaluate", "{RUN}", "{DATA}", "-o", "{DATA}/test", "--force"], "test: holds the input"),
        (["evaluate", "{RUN}", "{DATA}", "-o", "{RUN}", "--force"], "run: is the input"),
        (["export", "{RUN}", "-o", "{RUN}/checkpoint.pt", "--force"], "checkpoint.pt: is the input"),
        (["predict", "{RUN}", "{DATA}/test/imgs", "--csv", "{RUN}/metrics.json", "--force"], "is the input"),
        (["predict", "{RUN}", "{DATA}/test/imgs", "--csv", "{FIRST}", "--force"], "is the input"),
    ],
)
def test_an_output_onto_an_input_is_refused_before_work(
    tiny_run: Path, tiny_data: Path, tmp_path: Path, argv: list[str], what: str
) -> None:
    """Found by research/spillguard_sweep.py: with --force, train -o DATA/train replaced the training
    images by the run, evaluate -o DATA/test the test images, export/predict overwrote the checkpoint
    or an image being scored. The output check now looks at what it would replace."""
    from typer.testing import CliRunner

    from spillguard.cli import app

    data, run = tmp_path / "data", tmp_path / "run"
    shutil.copytree(tiny_data, data)
    shutil.copytree(tiny_run, run)
    first = sorted((data / "test" / "imgs").iterdir())[0]
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    args = [
        a.replace("{DATA}", str(data)).replace("{RUN}", str(run)).replace("{FIRST}", str(first)) for a in argv
    ]
    res = CliRunner().invoke(app, args)
    assert isinstance(res.exception, UserError), (res.output, res.exception)
    assert what in str(res.exception) and "which writing the output would destroy" in str(res.exception)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
