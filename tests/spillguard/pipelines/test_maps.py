"""Anomaly maps as a product feature, on a tiny surface data set (mechanics only; the real figures
are in research/newline.py): the data-chosen segmentation head, `evaluate --masks` adding pixel
metrics and the report's top maps, `predict --maps` writing one heatmap per image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sharedcore.errors import UserError
from spillguard.cli import app
from spillguard.config import TrainConfig
from spillguard.data.synthetic_surface import SurfaceSpec, write_surface
from spillguard.pipelines.train import train_run


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    data = write_surface(tmp_path_factory.mktemp("surface") / "data", seed=0, spec=SurfaceSpec(60, 12, 6, 4))
    cfg = TrainConfig(input_pixels=64 * 64, time_budget=3.0, decoder_epochs=1)
    run = train_run(data, tmp_path_factory.mktemp("runs") / "seg", cfg).run
    return data, run


def _masks(data: Path, folder: Path) -> list[str]:
    """A box mask for every defect test image (mechanics: any mask will do)."""
    folder.mkdir()
    defects = []
    for line in (data / "test" / "test_annotation.txt").read_text().split("\n"):
        if line.strip() and line.split()[1] == "1":
            name = line.split()[0]
            with Image.open(data / "test" / "imgs" / name) as im:
                w, h = im.size
            m = np.zeros((h, w), np.uint8)
            m[h // 4 : h // 2, w // 4 : w // 2] = 255
            Image.fromarray(m).save(folder / f"{Path(name).stem}.png")
            defects.append(name)
    return defects


def test_default_on_large_images_is_the_segmentation_head_with_a_promise(seg_run: tuple[Path, Path]) -> None:
    _, run = seg_run
    m = json.loads((run / "metrics.json").read_text())
    assert m["config"]["model"] == "conv_seg_head" and "anomaly map" in m["choices"]["model"]["how"]
    p = m["promise"]
    assert p["rule"] == m["threshold_rule"] and p["fpr_ci"][0] <= p["fpr"] <= p["fpr_ci"][1]
    assert "False-alarm promise" in (run / "report.html").read_text()


def test_evaluate_masks_adds_pixel_metrics_and_top_maps(seg_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, run = seg_run
    defects = _masks(data, tmp_path / "masks")
    res = CliRunner().invoke(app, ["-q", "evaluate", str(run), str(data), "--masks", str(tmp_path / "masks")])
    assert res.exit_code == 0, res.output
    assert "pixel ROC AUC" in res.output and "false alarms:" in res.output
    ev = json.loads((run / "evaluation" / "test_metrics.json").read_text())["metrics"]
    assert 0 <= ev["pixel_roc_auc"] <= 1 and 0 <= ev["pixel_pro"] <= 1
    assert ev["n_regions"] == len(defects) and ev["promise_check"]["n_normal"] == ev["n_normal"]
    tops = sorted((run / "evaluation" / "maps").glob("*.png"))
    assert len(tops) == 8 and tops[0].name.startswith("01_")
    assert "maps/01_" in (run / "report.html").read_text()
    # a defect image without its mask: one line, exit 2
    (tmp_path / "masks" / f"{Path(defects[0]).stem}.png").unlink()
    res = CliRunner().invoke(
        app, ["evaluate", str(run), str(data), "--masks", str(tmp_path / "masks"), "-o", str(tmp_path / "e")]
    )
    assert isinstance(res.exception, UserError) and res.exception.exit_code == 2
    assert "no mask for the defect image" in str(res.exception)


def test_predict_maps_writes_one_overlay_per_image(seg_run: tuple[Path, Path], tmp_path: Path) -> None:
    data, run = seg_run
    imgs = sorted((data / "test" / "imgs").iterdir())
    res = CliRunner().invoke(
        app, ["-q", "predict", str(run), str(data / "test" / "imgs"), "--maps", str(tmp_path / "m")]
    )
    assert res.exit_code == 0, res.output
    out = sorted((tmp_path / "m").iterdir())
    assert [p.stem for p in out] == [p.stem for p in imgs]
    with Image.open(out[0]) as a, Image.open(imgs[0]) as b:
        assert a.size == b.size and a.mode == "RGB"
    again = CliRunner().invoke(app, ["predict", str(run), str(imgs[0]), "--maps", str(tmp_path / "m")])
    # an existing folder is not overwritten without --force
    assert isinstance(again.exception, UserError) and again.exception.exit_code == 2
