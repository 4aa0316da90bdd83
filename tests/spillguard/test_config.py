"""TrainConfig: field validation, YAML files, every shipped config, and (issue 10, found by
research/spillguard_sweep.py) a key given twice, alias bombs ("billion laughs") and deep nesting as
one-line errors before anything copies the structure; merge keys still work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sharedcore.errors import UserError
from spillguard.config import STRUCTURE_MAX_VALUES, TrainConfig
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


def _yaml(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    p = _yaml(tmp_path, "epochs: 1\nlr: 0.01\nepochs: 5000\n")
    with pytest.raises(
        UserError, match=r"c\.yaml: line 3: 'epochs' is given twice \(first on line 1\); keep one"
    ):
        TrainConfig.from_yaml(p)
    p = _yaml(tmp_path, "model_params: {latent: 8, latent: 9}\n")
    with pytest.raises(UserError, match="'latent' is given twice"):
        TrainConfig.from_yaml(p)


def test_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    p = _yaml(tmp_path, "<<: {epochs: 1, lr: 0.01}\nepochs: 3\n")
    cfg = TrainConfig.from_yaml(p)
    assert cfg.epochs == 3 and cfg.lr == 0.01


def _laughs(key: str, levels: int = 9) -> str:
    text = 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    return text + f"{key}: *a{levels - 1}\n"


@pytest.mark.parametrize("key", ["lol", "model_params", "anomalies"])
def test_billion_laughs_is_refused_before_it_is_expanded(tmp_path: Path, key: str) -> None:
    body = _laughs(key).replace(f"{key}: *a8", f"{key}: {{" + ", ".join(f"k{j}: *a7" for j in range(9)) + "}")
    with pytest.raises(UserError, match=f"more than {STRUCTURE_MAX_VALUES:,} values"):
        TrainConfig.from_yaml(_yaml(tmp_path, body))


def test_shared_objects_in_a_dict_count_at_every_use() -> None:
    x: Any = ["lol"] * 9
    for _ in range(8):
        x = [x] * 9  # 9**9 values once written out, a few hundred objects in memory
    with pytest.raises(UserError, match="more than 10,000 values"):
        TrainConfig.from_dict({"model_params": {"widths": x}}, source="checkpoint")


@pytest.mark.parametrize(
    "text",
    [
        "epochs: " + "[" * 100_000 + "]" * 100_000 + "\n",  # PyYAML's composer: RecursionError
        "model_params: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n",
        "model_params: {widths: " + "[" * 40 + "8" + "]" * 40 + "}\n",  # parses; too deep for a config
        "model_params:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(60)) + "  " * 61 + "b: 1\n",
    ],
    ids=["lists-100000", "maps-100000", "lists-40", "block-maps-60"],
)
def test_deeply_nested_yaml_is_one_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(UserError) as err:
        TrainConfig.from_yaml(_yaml(tmp_path, text))
    msg = str(err.value)
    assert "\n" not in msg and ("nested" in msg or "too deeply" in msg), msg


def test_a_number_too_long_for_python_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="a number too long to read"):
        TrainConfig.from_yaml(_yaml(tmp_path, "seed: " + "9" * 5000 + "\n"))
    with pytest.raises(UserError, match="field 'lr': inf is not a finite number"):  # read as inf
        TrainConfig.from_yaml(_yaml(tmp_path, "lr: 1" + "0" * 400 + ".0\n"))


def test_a_config_file_of_megabytes_is_refused_before_parsing(tmp_path: Path) -> None:
    """20 MB of comments kept PyYAML busy for over a minute (the sweep's "hang")."""
    p = _yaml(tmp_path, "epochs: 1\n" + ("# " + "c" * 1000 + "\n") * 300)
    with pytest.raises(UserError, match=r"c\.yaml: 300,910 bytes is not a config \(at most 262,144\)"):
        TrainConfig.from_yaml(p)


@pytest.mark.parametrize(
    ("weight", "shown"),
    [
        (".nan", "nan"),
        (".inf", "inf"),
        ("-.inf", "-inf"),
        ("true", "true"),
        ("1e3", "'1e3'"),  # YAML 1.1 reads 1e3 (no dot) as text
        ("abc", "'abc'"),
        ("[1]", "[1]"),
        ("{a: 1}", "{'a': 1}"),
        ("null", "none"),
        ("-0.5", "-0.5"),
    ],
)
def test_an_anomaly_weight_that_is_no_finite_number_is_refused(
    tmp_path: Path, weight: str, shown: str
) -> None:
    """Issue 21: NaN/inf/true were accepted (NaN weights then drew nothing sane); '1e3', 'abc' and
    [1] crashed with exit 1. Each is one line naming the look and the value."""
    p = _yaml(tmp_path, f"anomalies: {{pit: 0.5, crack: {weight}}}\n")
    with pytest.raises(UserError) as exc:
        TrainConfig.from_yaml(p)
    msg = str(exc.value)
    assert "\n" not in msg and "field 'anomalies'" in msg
    assert f"the weight of 'crack' is {shown}, not a finite number >= 0" in msg
    assert ("write 1000" in msg) == (weight == "1e3")


def test_anomaly_weights_that_sum_to_nothing_or_overflow_are_refused() -> None:
    for mix in ({"pit": 0.0}, {"pit": 1e308, "crack": 1e308}):
        with pytest.raises(UserError, match="sum to a finite number"):
            TrainConfig(anomalies=mix).validate()
    assert TrainConfig(anomalies={"pit": 1000, "crack": 1.0e3}).validate().anomalies
