"""TrainConfig: field validation, YAML files, and every shipped config."""

from __future__ import annotations

from pathlib import Path

import pytest

from sharedcore.errors import UserError
from spillguard.config import TrainConfig
from spillguard.pipelines.experiment import load_variants

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "spillguard" / "configs"


def test_every_shipped_config_is_valid() -> None:
    paths = sorted(CONFIGS.glob("*.yaml"))
    assert len(paths) >= 15
    names = [v.name for v in load_variants(paths, {})]
    assert "head_synth_known" in names and "memory_ae" in names and "vae" in names


def test_config_validation(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="field 'model': value 'nope'"):
        TrainConfig(model="nope").validate()
    with pytest.raises(UserError, match="multiples of 8"):
        TrainConfig(height=30, width=48).validate()
    with pytest.raises(UserError, match="give both or neither"):
        TrainConfig(height=32).validate()
    (tmp_path / "c.yaml").write_text("epochs: 3\nmodel_params: {widths: [8, 16, 32], latent: 4}\n")
    cfg = TrainConfig.from_yaml(tmp_path / "c.yaml")
    assert cfg.epochs == 3 and cfg.model_params["latent"] == 4
    (tmp_path / "bad.yaml").write_text("epoch: 3\n")
    with pytest.raises(UserError, match="unknown field 'epoch'"):
        TrainConfig.from_yaml(tmp_path / "bad.yaml")
