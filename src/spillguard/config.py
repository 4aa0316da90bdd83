"""The training configuration: one plain dataclass naming the model variant, loss, score, input size,
colour space, augmentation and optimisation settings. Saved inside every checkpoint and run folder."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sharedcore.errors import UserError
from sharedcore.validate import SEED_MAX, check_float, check_int, check_seed
from spillguard.data.anomaly_looks import check_mix
from spillguard.post_processing.thresholds import THRESHOLD_RULES

COLOUR_SPACES = ("rgb", "ycbcr", "hsv")
ILLUMINATION = ("none", "per_image")
AUGMENTATIONS = ("none", "shift", "lighting", "lighting+shift")
SUPERVISION = ("none", "synthetic", "synthetic+known")
# learning-rate schedules, one meaning each (spillguard.training.loop.make_schedule):
# "onecycle": OneCycleLR stepped per batch (warm-up to lr, then cosine annealing to ~0);
# "cosine": CosineAnnealingLR stepped per epoch (lr -> 0 over ``epochs``); "constant": lr throughout.
LR_SCHEDULES = ("onecycle", "cosine", "constant")

# The plain convolutional autoencoder with the spill core's tuned settings (the defaults before the
# experiments made the spill head the default; configs/ae_core.yaml):
# TrainConfig(**PLAIN_AE) trains it.
PLAIN_AE: dict[str, Any] = {
    "model": "conv_ae",
    "score": "local",
    "supervision": "none",
    "occlusion": 0.0,
    "smooth": 16,
    "augment": "lighting+shift",
    "augment_strength": 0.1,
    "threshold_rule": "balanced",
    "lr_schedule": "cosine",
    "epochs": 30,
    "weight_decay": 1e-5,
}


#: Most pixels of the network's input (height x width): 512 x 512; a batch of 128 such inputs is
#: already about 400 MB of float32 before any activation.
INPUT_PIXELS_MAX = 512 * 512

FieldCheck = Callable[[Any, str], Any]


def _described(check: FieldCheck, text: str) -> FieldCheck:
    """``check`` with ``text`` (what it accepts, for the configuration reference) as its docstring."""
    check.__doc__ = text
    return check


def _range(low: float, high: float | None, open_ends: bool = False) -> str:
    if high is None:
        return f"at least {low:,}" if not open_ends else f"above {low:,}"
    if open_ends:
        return f"above {low:g} and below {high:g}"
    return f"{low:,} to {high:,}" if isinstance(low, int) else f"{low:g} to {high:g}"


def _int(low: int, high: int | None = None) -> FieldCheck:
    def check(v: Any, name: str) -> int:
        return check_int(v, name, low, high)

    return _described(check, f"integer, {_range(low, high)}")


def _float(low: float, high: float | None = None, *, open_ends: bool = False) -> FieldCheck:
    def check(v: Any, name: str) -> float:
        return check_float(v, name, low, high, low_open=open_ends, high_open=open_ends)

    return _described(check, f"number, {_range(low, high, open_ends)}")


def _optional(check: FieldCheck) -> FieldCheck:
    def optional(v: Any, name: str) -> Any:
        return None if v is None else check(v, name)

    return _described(optional, f"{check.__doc__}, or unset")


def _bool(v: Any, name: str) -> bool:
    """true or false"""
    if not isinstance(v, bool):
        raise UserError(f"{name}: {v!r} is not true or false; write true or false")
    return v


def _mapping(v: Any, name: str) -> dict[str, Any]:
    """a mapping of names to values"""
    if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
        raise UserError(
            f"{name}: {v!r} is not a mapping of parameter names to values; write {{}} or name: value"
        )
    return v


def _text(v: Any, name: str) -> str:
    """text"""
    if not isinstance(v, str):
        raise UserError(f"{name}: {v!r} is not text; write one of the names listed in the docs")
    return v


def _seed(v: Any, name: str) -> int:
    return check_seed(v, name)


_described(_seed, f"integer, 0 to {SEED_MAX:,} (a seed)")


#: The type and range of every TrainConfig field, checked (and normalised: 5.0 -> 5) by
#: ``TrainConfig.validate``; a new field adds its line here (a test checks every field has one).
#: Fields with a fixed set of names are also checked against their choices in ``validate``.
FIELD_CHECKS: dict[str, FieldCheck] = {
    "model": _optional(_text),  # None: chosen from the data
    "model_params": _mapping,
    "loss": _text,
    "score": _text,
    "smooth": _int(1, 256),
    "height": _optional(_int(8, 4096)),  # None: chosen from the data
    "width": _optional(_int(8, 4096)),
    "input_pixels": _int(64, INPUT_PIXELS_MAX),
    "colour": _text,
    "illumination": _text,
    "augment": _text,
    "augment_strength": _float(0.0, 1.0),
    "augment_shift": _int(0, 256),
    "epochs": _optional(_int(1, 100_000)),
    "batch_size": _optional(_int(1, 65_536)),
    "time_budget": _float(0.0, 7 * 24 * 3600.0, open_ends=True),  # seconds
    "lr": _float(0.0, 10.0, open_ends=True),
    "weight_decay": _float(0.0, 1.0),
    "lr_schedule": _text,
    "patience": _int(1, 100_000),
    "val_fraction": _float(0.0, 1.0, open_ends=True),
    "calib_fraction": _float(0.0, 1.0, open_ends=True),
    "target_fpr": _float(0.0, 1.0, open_ends=True),
    "threshold_rule": _optional(_text),  # None: chosen on held-out data
    "max_train": _optional(_int(1)),
    "seed": _seed,
    "device": _text,
    "supervision": _text,
    "occlusion": _float(0.0, 1.0),
    "recon_weight": _float(0.0, 1e6),
    "anomalies": _optional(_mapping),  # its contents: check_mix in validate
    "greyscale": _optional(_bool),
    "fit_decoder": _bool,
    "decoder_epochs": _int(1, 100_000),
}


def _loader(path: Path) -> type[yaml.SafeLoader]:
    """PyYAML's safe loader that refuses a key given twice in one mapping (PyYAML keeps the last one
    silently); keys brought in by a merge (``<<: *base``) may still be overridden."""

    class ConfigLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in lines:
                    raise UserError(
                        f"{path}: line {line}: '{str(key)[:40]}' is given twice (first on line {lines[key]}); "
                        "keep one"
                    )
                lines[key] = line
            return super().construct_mapping(node, deep)

    return ConfigLoader


#: Largest config file read (a real one is well under 2 KB).
CONFIG_BYTES_MAX = 256 * 1024

#: A config is a flat mapping with small mappings/lists inside (model_params, anomalies): more values
#: than this, counted as written out (a YAML alias or shared pickle object counts at every use),
#: or deeper nesting, is refused before anything copies it (a "billion laughs" expands to 10**9).
STRUCTURE_MAX_VALUES = 10_000
STRUCTURE_MAX_DEPTH = 16


def check_structure(data: Any, source: str) -> None:
    """UserError when ``data`` (a config mapping) holds over STRUCTURE_MAX_VALUES values or nests
    deeper than STRUCTURE_MAX_DEPTH, walked without recursion and without expanding anything."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        obj, level = stack.pop()
        seen += 1
        if seen > STRUCTURE_MAX_VALUES:
            raise UserError(
                f"{source}: more than {STRUCTURE_MAX_VALUES:,} values (repeated YAML aliases count at every "
                "use); a config is a flat mapping of fields"
            )
        if level > STRUCTURE_MAX_DEPTH:
            raise UserError(
                f"{source}: nested more than {STRUCTURE_MAX_DEPTH} levels deep; a config is a flat mapping of fields"
            )
        if isinstance(obj, dict):
            stack.extend((v, level + 1) for v in obj.values())
            stack.extend((k, level + 1) for k in obj)
        elif isinstance(obj, list | tuple | set):
            stack.extend((v, level + 1) for v in obj)


def field_choices() -> dict[str, Any]:
    """The names each text field of TrainConfig accepts (checked by ``TrainConfig.validate``)."""
    from spillguard.models import MODELS
    from spillguard.models.losses import LOSSES
    from spillguard.post_processing.scores import SCORES

    return {
        "model": MODELS,
        "loss": LOSSES,
        "score": (*SCORES, "head"),
        "colour": COLOUR_SPACES,
        "illumination": ILLUMINATION,
        "augment": AUGMENTATIONS,
        "threshold_rule": THRESHOLD_RULES,
        "supervision": SUPERVISION,
        "lr_schedule": LR_SCHEDULES,
        "device": ("auto", "cpu", "cuda"),
    }


#: the model of a config that leaves ``model`` open and was never resolved on data
DEFAULT_MODEL = "conv_ae_head"


@dataclass
class TrainConfig:
    """Everything that defines a training run; defaults are the shipped detector."""

    # Defaults: the shipped detector, the best variant of the experiments (configs/head_synth_known.yaml):
    # an AE encoder with a spill head trained by outlier exposure; the plain AE is configs/ae_baseline.yaml.
    # a name in spillguard.models.MODELS; None: chosen from the input size (spillguard.training.choices:
    # conv_ae_head for small crops such as the 32x48 pits, conv_seg_head, whose spill head is an anomaly
    # map, from 64x64 input pixels on); a config never fitted on data builds conv_ae_head
    model: str | None = None
    model_params: dict[str, Any] = field(default_factory=dict)  # passed to the model's __init__
    loss: str = "mse"  # a name in spillguard.models.losses.LOSSES
    score: str = (
        "head"  # a name in spillguard.post_processing.scores.SCORES, or "head" (the model's spill head)
    )
    smooth: int = 16  # window (pixels) of the local score's box filter
    # input size after resizing, pixels; None: chosen from the training images' median size within
    # input_pixels (spillguard.training.input_size; the pit crops give 32x48)
    height: int | None = None
    width: int | None = None  # see height
    input_pixels: int = 128 * 128  # most pixels (height x width) of an input size chosen from the data
    colour: str = "rgb"  # one of COLOUR_SPACES
    illumination: str = "none"  # one of ILLUMINATION: per-image brightness/contrast normalisation
    augment: str = "lighting"  # one of AUGMENTATIONS (a head always gets flips and reframing too)
    augment_strength: float = 0.3  # relative brightness/contrast/saturation/gamma jitter of "lighting"
    augment_shift: int = 2  # pixels of random translation of "shift" and "lighting+shift"
    # None: chosen from the number and size of the training images within time_budget seconds of
    # estimated head training (spillguard.training.schedule; 9,000 pit crops give 4 epochs, batch 128)
    epochs: int | None = None
    batch_size: int | None = None
    time_budget: float = 180.0
    lr: float = 3e-3
    weight_decay: float = 1e-4
    lr_schedule: str = "onecycle"  # one of LR_SCHEDULES (the decoder fit always uses "constant")
    patience: int = 6  # early stopping: epochs without validation-loss improvement
    val_fraction: float = 0.1  # of the normal images, held out for validation
    calib_fraction: float = 0.5  # of validation normals and known spills, used to choose thresholds
    target_fpr: float = 0.01  # false-alarm rate of the "fpr" threshold rule
    # verdict rule, one of THRESHOLD_RULES ("balanced" needs known spills); None: chosen on held-out
    # data (spillguard.post_processing.thresholds.choose_rule: prior when held-out known anomalies
    # and validation normals support it, else fpr_bound)
    threshold_rule: str | None = None
    max_train: int | None = None  # cap on training images (None: all)
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    # outlier exposure (spillguard.training.spill_head; needs a model with a spill head and score "head"):
    supervision: str = "synthetic+known"  # one of SUPERVISION: which spills train the head
    occlusion: float = 0.3  # fraction of training images given a nuisance occluder (label kept)
    recon_weight: float = 0.0  # weight of the reconstruction loss of head models
    # synthetic anomaly looks the head learns from, look -> weight (spillguard.data.anomaly_looks:
    # pit, draem, cutpaste, crack, hole); None: chosen on validation per kind of data, colour data
    # {pit: 1} (the pit spill looks of the experiments), greyscale data the generic looks (GENERIC_MIX)
    anomalies: dict[str, float] | None = None
    # None: detected from the training images (equal channels); True makes every synthetic anomaly
    # and augmented image greyscale so that colour is no shortcut (images stay 3 equal channels)
    greyscale: bool | None = None
    # after the head is trained with recon_weight 0: fit the decoder with the encoder frozen, so that
    # grids and error maps are real (spillguard.training.decoder; the head's scores do not change)
    fit_decoder: bool = True
    decoder_epochs: int = 5  # at most, early stop on validation normals

    def validate(self, source: str = "config") -> TrainConfig:
        """Raise UserError naming the first invalid field; return self."""
        for f in dataclasses.fields(self):  # types and ranges first: FIELD_CHECKS
            check = FIELD_CHECKS.get(f.name)
            if check is not None:
                setattr(self, f.name, check(getattr(self, f.name), f"{source}: field '{f.name}'"))
        if self.height is not None and self.width is not None and self.height * self.width > INPUT_PIXELS_MAX:
            raise UserError(
                f"{source}: fields 'height'/'width': {self.height}x{self.width} = {self.height * self.width:,} "
                f"pixels is over the input budget of {INPUT_PIXELS_MAX:,} (512x512); use a smaller input size"
            )

        for name, allowed in field_choices().items():
            value = getattr(self, name)
            if value is None and name in ("threshold_rule", "model"):
                continue
            if value not in allowed:
                raise UserError(
                    f"{source}: field '{name}': value '{value}' is not one of {', '.join(sorted(allowed))}"
                )
        if (self.score == "head") != (self.supervision != "none"):
            raise UserError(
                f"{source}: fields 'score'/'supervision': score 'head' and supervision "
                f"'{self.supervision}' go together only as score 'head' with supervision 'synthetic' or "
                "'synthetic+known' (and a model with a spill head, e.g. conv_ae_head); fix one of them"
            )
        if self.threshold_rule == "prior" and self.score != "head":
            raise UserError(
                f"{source}: field 'threshold_rule': value 'prior' is the spill head's own boundary and needs "
                f"score 'head' (score is '{self.score}'); choose fpr or balanced"
            )
        if (self.height is None) != (self.width is None):
            raise UserError(
                f"{source}: fields 'height'/'width': give both or neither (neither: chosen from the data)"
            )
        from spillguard.models.registry import check_params

        self.model_params = check_params(self.model or DEFAULT_MODEL, self.model_params, source)
        m = self.size_multiple
        if self.height is not None and self.width is not None and (self.height % m or self.width % m):
            raise UserError(
                f"{source}: fields 'height'/'width': {self.height}x{self.width} must be multiples of {m} "
                f"(the model halves the input {m.bit_length() - 1} times)"
            )
        bad = (
            None
            if self.anomalies is None
            else check_mix(self.anomalies)
            if isinstance(self.anomalies, dict)
            else "expected a mapping"
        )
        if bad:
            raise UserError(f"{source}: field 'anomalies': {bad}; e.g. {{pit: 0.5, draem: 0.2, crack: 0.3}}")
        return self

    @property
    def size_multiple(self) -> int:
        """What height and width must be multiples of: 2**(stride-2 blocks of the model), at least 8."""
        from spillguard.models.registry import depth

        return max(8, 2 ** depth(self.model_params))

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) once chosen; a run chooses them from its data when the config does not."""
        if self.height is None or self.width is None:
            raise RuntimeError("input size not chosen yet: resolve the config on the training data first")
        return (self.height, self.width)

    @property
    def schedule(self) -> tuple[int, int]:
        """(epochs, batch_size) once chosen (SpillDetector.fit chooses them when the config does not)."""
        if self.epochs is None or self.batch_size is None:
            raise RuntimeError(
                "epochs/batch size not chosen yet: resolve the config on the training data first"
            )
        return (self.epochs, self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-ready dict of all fields."""
        return dataclasses.asdict(self)

    @property
    def fits_decoder(self) -> bool:
        """True when training ends with a frozen-encoder decoder fit (head models with recon_weight 0)."""
        return self.fit_decoder and self.score == "head" and self.recon_weight == 0

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a dict; unknown keys raise UserError naming them."""
        check_structure(data, source)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise UserError(
                f"{source}: unknown field '{unknown[0]}'; known fields: {', '.join(sorted(known))}"
            )
        return cls(**data).validate(source)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> TrainConfig:
        """Read a YAML mapping of fields (a missing field keeps its default)."""
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{p}: no such config file; check the path")
        size = p.stat().st_size
        if size > CONFIG_BYTES_MAX:  # PyYAML reads about 1 MB/s: a 20 MB file would take minutes
            raise UserError(
                f"{p}: {size:,} bytes is not a config (at most {CONFIG_BYTES_MAX:,}); a config is a short "
                "mapping of fields"
            )
        try:
            data = yaml.load(p.read_text(encoding="utf-8-sig"), Loader=_loader(p)) or {}
        except UnicodeDecodeError as exc:
            raise UserError(f"{p}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        except RecursionError:
            raise UserError(f"{p}: YAML nested too deeply; a config is a flat mapping of fields") from None
        except UserError:
            raise
        except ValueError:  # e.g. an integer of over 4300 digits (Python's int() limit)
            raise UserError(f"{p}: a number too long to read; write numbers of at most 4300 digits") from None
        except yaml.YAMLError as exc:
            raise UserError(f"{p}: not valid YAML ({str(exc).splitlines()[0]}); fix the syntax") from None
        if not isinstance(data, dict):
            raise UserError(f"{p}: expected a mapping of config fields, found {type(data).__name__}")
        return cls.from_dict(data, source=str(p))
