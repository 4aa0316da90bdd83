"""ONNX export: parity with torch on every scoring variant, metadata, dynamic batch, refusals, CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from sharedcore.errors import UserError
from spillguard.cli import app
from spillguard.deploy.checksum import CHECKSUM_KEY, add_checksum
from spillguard.deploy.export import PARITY_RTOL, export_bytes, parity_error
from spillguard.deploy.runtime import FORMAT_VERSION, META_FORMAT, OnnxDetector
from spillguard.detector import SpillDetector
from spillguard.pipelines.predict import predict_paths

from .conftest import random_detector

runner = CliRunner()

VARIANTS: list[dict[str, Any]] = [
    {"model": "conv_ae_head", "score": "head"},  # the shipped default: softplus(logit) and p(spill)
    {"model": "conv_ae", "score": "local", "supervision": "none", "smooth": 16},
    {
        "model": "conv_ae",
        "score": "mse",
        "supervision": "none",
        "colour": "ycbcr",
        "illumination": "per_image",
    },
    {"model": "conv_vae", "score": "combined", "supervision": "none", "colour": "hsv", "smooth": 5},
    {"model": "memory_ae", "score": "local", "supervision": "none", "smooth": 8},
]


def assert_parity(det: Any, onnx_det: OnnxDetector, images: np.ndarray) -> None:
    """Every score within 1e-5 relative (floor at 1e-3 x threshold, see parity_error), every verdict equal."""
    ref, got = det.score_samples(images), onnx_det.score_samples(images)
    assert got.dtype == np.float32 and got.shape == (len(images),)
    assert parity_error(ref, got, det.threshold()) <= PARITY_RTOL
    for rule in det.thresholds_:
        np.testing.assert_array_equal(ref > det.threshold(rule), got > onnx_det.threshold(rule))


@pytest.mark.parametrize("fields", VARIANTS, ids=lambda f: f"{f['model']}-{f['score']}")
def test_every_variant_scores_like_torch_on_synth(
    fields: dict[str, Any], synth_images: tuple[list[Path], np.ndarray]
) -> None:
    _, images = synth_images
    det = random_detector(images, **fields)
    onnx_det = OnnxDetector.load(export_bytes(det))
    assert_parity(det, onnx_det, images)
    flagged = onnx_det.predict(images)
    assert 0 < flagged.sum() < len(images)  # the verdict check is not vacuous
    if fields["score"] == "head":  # p(spill) = sigmoid(logit) = 1 - exp(-softplus(logit))
        np.testing.assert_allclose(
            onnx_det.predict_proba(images), 1 - np.exp(-det.score_samples(images)), rtol=1e-4, atol=1e-6
        )
    else:
        with pytest.raises(UserError, match="no p\\(spill\\)"):
            onnx_det.predict_proba(images)


def test_trained_run_exports_with_metadata_and_dynamic_batch(
    tiny_run: Path, tiny_onnx: Path, synth_images: tuple[list[Path], np.ndarray]
) -> None:
    det, onnx_det = SpillDetector.load(tiny_run), OnnxDetector.load(tiny_onnx)
    _, images = synth_images
    assert_parity(det, onnx_det, images)
    for n in (1, 7, 300):  # the batch axis is dynamic
        batch = images[np.arange(n) % len(images)]
        assert onnx_det.score_samples(batch, batch=n).shape == (n,)
    meta = onnx_det.metadata_
    assert meta[META_FORMAT] == str(FORMAT_VERSION) and meta["spillguard_version"]
    assert onnx_det.thresholds_ == det.thresholds_ and onnx_det.threshold_rule_ == det.threshold_rule_
    assert onnx_det.input_size == (32, 48) and meta["colour"] == "rgb" and meta["score"] == "local"
    train_meta = json.loads((tiny_run / "metrics.json").read_text())
    assert meta["training_data"]["n_normal"] == train_meta["data"]["n_normal"] == 320
    assert meta["training_data"]["sizes"] == train_meta["sizes"]
    graph = onnx.load(str(tiny_onnx)).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [32, 48, 3]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8


def test_wrong_input_shape_is_a_user_error(tiny_onnx: Path) -> None:
    det = OnnxDetector.load(tiny_onnx)
    with pytest.raises(UserError, match=r"\(N, 32, 48, 3\) uint8 expected"):
        det.score_samples(np.zeros((2, 28, 49, 3), np.uint8))
    with pytest.raises(UserError, match="threshold rule 'prior' is not available"):
        det.threshold("prior")


def _with_metadata(src: Path, dst: Path, resign: bool = True, **changes: str | None) -> Path:
    """``src`` with metadata changed; ``resign``: with the checksum of the changed model (as a careless
    tool would write it), so that the metadata checks, not the checksum, must refuse it."""
    model = onnx.load(str(src))
    props = {p.key: p.value for p in model.metadata_props}
    for k, v in changes.items():
        if v is None:
            props.pop(k, None)
        else:
            props[k] = v
    if resign:
        props.pop(CHECKSUM_KEY, None)
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    data = model.SerializeToString()
    dst.write_bytes(add_checksum(data) if resign else data)
    return dst


def test_broken_or_foreign_models_are_refused_in_one_line(tiny_onnx: Path, tmp_path: Path) -> None:
    data = tiny_onnx.read_bytes()
    cases = {
        "truncated": (tmp_path / "cut.onnx", data[: len(data) // 3], "not a readable ONNX model"),
        "empty": (tmp_path / "empty.onnx", b"", "empty file"),
        "garbage": (tmp_path / "junk.onnx", b"\x00\xffnot onnx" * 50, "not a readable ONNX model"),
    }
    for path, blob, _ in cases.values():
        path.write_bytes(blob)
    cases["version"] = (
        _with_metadata(tiny_onnx, tmp_path / "v9.onnx", **{META_FORMAT: "9"}),
        b"",
        f"format version 9 found, version {FORMAT_VERSION} expected",
    )
    cases["foreign"] = (
        _with_metadata(tiny_onnx, tmp_path / "plain.onnx", **{META_FORMAT: None}),
        b"",
        "without spillguard metadata",
    )
    cases["missing"] = (tmp_path / "absent.onnx", b"", "no such file")
    for name, (path, _, message) in cases.items():
        with pytest.raises(UserError, match=message) as exc:
            OnnxDetector.load(path)
        assert "\n" not in str(exc.value) and str(path) in str(exc.value), name
        res = runner.invoke(app, ["-q", "predict", str(path), str(tmp_path)])
        assert isinstance(res.exception, UserError) and message in str(res.exception), name


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("[32, 32]", "its graph takes"),  # another size than the graph's fixed one
        ("[-16, 24]", "is not a size spillguard exports"),
        ("[100000, 100000]", "is not a size spillguard exports"),  # would allocate hundreds of GiB
        ("[0, 48]", "is not a size spillguard exports"),
    ],
)
def test_input_size_metadata_is_checked_against_the_graph(
    tiny_onnx: Path, tmp_path: Path, size: str, message: str
) -> None:
    # found by research/spillguard_sweep.py: these reached the bug handler (onnxruntime errors, MemoryError)
    bad = _with_metadata(tiny_onnx, tmp_path / "size.onnx", input_size=size)
    with pytest.raises(UserError, match=f"damaged model file: .*{message}") as exc:
        OnnxDetector.load(bad)
    assert "\n" not in str(exc.value)
    res = runner.invoke(app, ["-q", "predict", str(bad), str(tmp_path)])
    assert isinstance(res.exception, UserError) and message in str(res.exception)


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def test_predict_backend_onnx_gives_the_torch_csv(
    tiny_run: Path, tiny_onnx: Path, tiny_data: Path, tmp_path: Path
) -> None:
    imgs = str(tiny_data / "test" / "imgs")
    outs = {}
    for name, args in {
        "torch": [str(tiny_run), imgs],
        "onnx_file": [str(tiny_onnx), imgs],  # auto -> onnx for a .onnx file
        "onnx_run": [str(tiny_run), imgs, "--backend", "onnx"],  # the run exported in memory
    }.items():
        res = runner.invoke(app, ["-q", "predict", *args, "--csv", str(tmp_path / f"{name}.csv")])
        assert res.exit_code == 0, (res.output, res.exception)
        outs[name] = _csv(tmp_path / f"{name}.csv")
    ref = outs["torch"]
    assert len(ref) == 120
    for name in ("onnx_file", "onnx_run"):
        got = outs[name]
        assert [r["path"] for r in got] == [r["path"] for r in ref]
        assert [r["verdict"] for r in got] == [r["verdict"] for r in ref]
        # the CSV keeps 6 significant digits: the last one may round the other way
        np.testing.assert_allclose(
            [float(r["score"]) for r in got], [float(r["score"]) for r in ref], rtol=1e-5 + 1e-5
        )
    rows_t, _ = predict_paths(tiny_run, [imgs])
    rows_o, _ = predict_paths(tiny_onnx, [imgs])
    assert (
        parity_error(np.array([s for _, s, _ in rows_t]), np.array([s for _, s, _ in rows_o]), 1.0)
        <= PARITY_RTOL
    )
    res = runner.invoke(app, ["-q", "predict", str(tiny_onnx), imgs, "--backend", "torch"])
    assert isinstance(res.exception, UserError) and "runs only with --backend onnx" in str(res.exception)


def test_cli_export_is_atomic_and_needs_force(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    res = runner.invoke(app, ["export", str(tiny_run), "-o", str(out)])
    assert res.exit_code == 0 and res.output.strip().endswith("m.onnx"), res.output
    assert "matches torch" in res.output
    res = runner.invoke(app, ["-q", "export", str(tiny_run), "-o", str(out)])
    assert isinstance(res.exception, UserError) and "--force" in str(res.exception)
    assert not list(tmp_path.glob(".*tmp"))
    res = runner.invoke(app, ["-q", "export", str(tmp_path / "nope"), "-o", str(tmp_path / "x.onnx")])
    assert isinstance(res.exception, UserError) and not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("metrics.json", "[]", "metrics.json: a list, not a mapping"),
        ("metrics.json", "[" * 100_000 + "]" * 100_000, "not readable JSON"),
        ("metrics.json", "NaN", "a float, not a mapping"),
        ("metrics.json", '{"config": {}}', "entry 'config/model' is missing"),
        ("drift_reference.json", "{", "drift_reference.json: not a JSON mapping"),
    ],
)
def test_export_of_a_run_with_a_damaged_file(
    tiny_run: Path, tmp_path: Path, name: str, text: str, what: str
) -> None:
    """Found by research/spillguard_sweep.py: export read metrics.json unchecked (AttributeError,
    RecursionError) and embedded any drift_reference.json text in the model."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / name).write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["export", str(run), "-o", str(tmp_path / "m.onnx")])
    assert isinstance(res.exception, UserError), res.output
    assert str(res.exception).startswith("damaged run file:") and what in str(res.exception)
    assert not (tmp_path / "m.onnx").exists()


def _refused(path: Path, tmp_path: Path, message: str) -> None:
    """Refused in one line naming the file, by the library and by predict (exit 2)."""
    with pytest.raises(UserError, match=message) as exc:
        OnnxDetector.load(path)
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)
    res = runner.invoke(app, ["-q", "predict", str(path), str(tmp_path)])
    assert isinstance(res.exception, UserError) and message in str(res.exception), res.output


@pytest.mark.parametrize(
    ("thresholds", "what"),
    [
        ('{"balanced": NaN, "fpr": 0.1}', "threshold 'balanced' is NaN"),
        ('{"balanced": Infinity}', "threshold 'balanced' is Infinity"),
        ('{"balanced": -Infinity}', "threshold 'balanced' is -Infinity"),
        ('{"balanced": "0.5"}', "threshold 'balanced' is \"0.5\""),
        ('{"balanced": true}', "threshold 'balanced' is true"),
        ('{"balanced": null}', "threshold 'balanced' is null"),
        ('{"fpr": 0.5}', "verdict rule 'balanced' has no threshold"),
        ("{}", "thresholds is not a mapping"),
        ("[0.5]", "thresholds is not a mapping"),
    ],
)
def test_insane_thresholds_are_refused_even_under_a_valid_checksum(
    tiny_onnx: Path, tmp_path: Path, thresholds: str, what: str
) -> None:
    """A NaN threshold scored every image 'normal' with exit 0 (issue 21)."""
    assert OnnxDetector.load(tiny_onnx).threshold_rule_ == "balanced"
    bad = _with_metadata(tiny_onnx, tmp_path / "t.onnx", thresholds=thresholds)
    _refused(bad, tmp_path, what)


def test_a_flipped_bit_anywhere_is_refused(tiny_onnx: Path, tmp_path: Path) -> None:
    """One flipped bit in the weights loaded and changed verdicts with no word (issue 21); now the
    checksum refuses it, and a flip anywhere else (framing, metadata, the checksum) is refused too."""
    data = tiny_onnx.read_bytes()
    weights = max(onnx.load_from_string(data).graph.initializer, key=lambda t: len(t.raw_data))
    at = data.index(weights.raw_data) + len(weights.raw_data) // 2
    rng = np.random.default_rng(0)
    positions = [at, len(data) - 1, *rng.integers(0, len(data), 60).tolist()]
    for i, pos in enumerate(positions):
        blob = bytearray(data)
        blob[pos] ^= 1 << int(rng.integers(0, 8))
        path = tmp_path / f"flip{i}.onnx"
        path.write_bytes(bytes(blob))
        with pytest.raises(UserError) as exc:
            OnnxDetector.load(path)
        assert "\n" not in str(exc.value) and str(path) in str(exc.value), pos
    _refused(tmp_path / "flip0.onnx", tmp_path, "do not match the checksum it carries")
    res = subprocess.run(  # the real entry point: one line, exit 2
        [sys.executable, "-m", "spillguard", "predict", str(tmp_path / "flip0.onnx"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "do not match the checksum" in res.stderr
    unsigned = _with_metadata(tiny_onnx, tmp_path / "unsigned.onnx", resign=False, **{CHECKSUM_KEY: None})
    _refused(unsigned, tmp_path, "carries no checksum")
    twice = tmp_path / "twice.onnx"  # a second entry appended: neither can be trusted
    twice.write_bytes(add_checksum(data[: data.rindex(CHECKSUM_KEY.encode()) - 4]) + data[-80:])
    with pytest.raises(UserError):
        OnnxDetector.load(twice)


def test_the_checksum_covers_every_byte_but_its_own_entry(tiny_onnx: Path) -> None:
    from spillguard.deploy.checksum import content_checksum

    data = tiny_onnx.read_bytes()
    stated, actual = content_checksum(data)
    assert stated == actual and len(actual) == 64
    model = onnx.load_from_string(data)  # onnx reads the appended entry as one more metadata prop
    props = {p.key: p.value for p in model.metadata_props}
    assert props[CHECKSUM_KEY] == stated
    with pytest.raises(ValueError, match="already carries"):
        add_checksum(data)


def test_export_refuses_a_detector_with_a_nan_threshold(
    synth_images: tuple[list[Path], np.ndarray],
) -> None:
    det = random_detector(synth_images[1], model="conv_ae", score="mse", supervision="none")
    det.thresholds_["fpr"] = float("nan")
    with pytest.raises(UserError, match="fpr=nan are not finite"):
        export_bytes(det)
