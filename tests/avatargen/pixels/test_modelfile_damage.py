"""Issue 10, pixels: model files that pass the version check but hold wrong arrays, shapes, roles or
parameters are "damaged model file" UserErrors; random bytes and truncations never crash the loader;
`pixels evaluate -o NONEMPTY` refuses before computing."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatargen.pixels.evaluate import run_evaluation
from avatargen.pixels.methods import load_model, make_model
from avatargen.pixels.modelfile import FORMAT_VERSION
from sharedcore.errors import UserError

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def saved(drawn_avatars: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pixmodels")
    small = drawn_avatars[:6, ::4, ::4].copy()
    return {m: make_model(m).fit(small).save(folder / f"{m}.npz") for m in ("literal", "joint", "parts")}


def _rewrite(src: Path, dst: Path, change: Any) -> Path:
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__meta__"]))
    change(meta, arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    dst.write_bytes(buf.getvalue())
    return dst


def _drop(name: str) -> Any:
    return lambda meta, a: a.pop(name)


def _set(name: str, value: Any) -> Any:
    return lambda meta, a: a.__setitem__(name, value(a[name]))


def _param(name: str, value: Any) -> Any:
    return lambda meta, a: meta["params"].__setitem__(name, value)


CASES = [
    ("literal", _drop("table"), "array 'table' is missing"),
    ("literal", _set("table", lambda t: t[:-1]), "array 'table' has shape"),
    ("literal", _set("table", lambda t: t.astype(np.float32)), "dtype float32"),
    ("literal", _param("shape", [0, 5]), "height"),
    ("literal", _param("alpha", -1), "parameter 'alpha'"),
    ("joint", _set("palette", lambda t: t.reshape(1, -1)), "array 'palette' has 2 dimensions"),
    ("joint", _set("table", lambda t: t.astype(np.uint8)), "expected uint32"),
    ("parts", _set("role", lambda r: r + 7), "role code"),
    ("parts", _set("images", lambda x: x[:, :-1]), "array 'role' has shape"),
    ("parts", _drop("face"), "array 'face' is missing"),
    ("parts", _set("shade", lambda s: np.full_like(s, np.nan)), "NaN"),
    ("parts", _param("rows", [0, 1]), "parameter 'rows'"),
    ("parts", _param("rows", [0, 10**6, 0, 0]), "parameter 'rows'"),
    ("parts", _param("keep_hair_colour", 3), "keep_hair_colour"),
    ("parts", lambda meta, a: meta.__setitem__("params", "x"), "no method name or parameters"),
    (
        "joint",
        lambda meta, a: a.__setitem__("extra", np.zeros(3)),
        "array 'extra' is not one this method saves",
    ),
    ("parts", _set("shade", lambda s: np.full_like(s, np.inf)), "NaN or infinite"),
]


@pytest.mark.parametrize(("method", "change", "what"), CASES, ids=[f"{m}-{w[:20]}" for m, _, w in CASES])
def test_damaged_pixel_model_file(
    saved: dict[str, Path], tmp_path: Path, method: str, change: Any, what: str
) -> None:
    p = _rewrite(saved[method], tmp_path / "bad.npz", change)
    with pytest.raises(UserError) as err:
        load_model(p)
    msg = str(err.value)
    assert msg.startswith(f"damaged model file: {p}: ") and "retrain or re-save it" in msg
    assert what in msg


def test_valid_files_still_load(saved: dict[str, Path]) -> None:
    for method, p in saved.items():
        m = load_model(p)
        assert m.method == method
        assert m.sample(1, np.random.default_rng(0)).dtype == np.uint8


def _user_error_or_model(p: Path) -> Any:
    try:
        return load_model(p)
    except UserError as exc:
        assert "\n" not in str(exc)
        return None


@FAST
@given(data=st.binary(max_size=400))
def test_loader_random_bytes(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "r.npz"
    p.write_bytes(data)
    assert _user_error_or_model(p) is None


@FAST
@given(
    method=st.sampled_from(["literal", "joint", "parts"]), frac=st.floats(0, 1), junk=st.binary(max_size=4)
)
def test_loader_truncations(
    saved: dict[str, Path], tmp_path: Path, method: str, frac: float, junk: bytes
) -> None:
    raw = saved[method].read_bytes()
    p = tmp_path / "t.npz"
    p.write_bytes(raw[: int(frac * len(raw))] + junk)
    _user_error_or_model(p)


@FAST
@given(
    meta=st.dictionaries(
        st.sampled_from(["method", "format_version", "params"]),
        st.none()
        | st.integers()
        | st.text(max_size=8)
        | st.just(FORMAT_VERSION)
        | st.sampled_from(["literal", "joint", "parts"])
        | st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    )
)
def test_loader_random_meta(tmp_path: Path, meta: dict[str, Any]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    np.savez(buf := io.BytesIO(), __meta__=np.array(json.dumps(meta)), table=np.zeros((4, 2), np.uint8))
    p = tmp_path / "m.npz"
    p.write_bytes(buf.getvalue())
    assert _user_error_or_model(p) is None


def test_evaluate_into_a_non_empty_folder_refuses_before_computing(
    drawn_avatars: np.ndarray, tmp_path: Path
) -> None:
    out = tmp_path / "e"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(UserError, match="folder exists and is not empty"):
        run_evaluation(drawn_avatars, out, n_samples=2)
    assert time.perf_counter() - t0 < 1.0  # refused before any fitting or sampling
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), -1.0, 1e300])
def test_pixel_smoothing_must_be_finite_and_in_range(alpha: float) -> None:
    with pytest.raises(UserError, match=r"--alpha: .* use a finite number from 0 to 1000000000"):
        make_model("literal", alpha)
    with pytest.raises(UserError, match=r"--alpha: "):
        make_model("parts", alpha)


def test_sample_has_a_pixel_budget_stated_before_sampling(saved: dict[str, Path], tmp_path: Path) -> None:
    from avatargen.pixels.evaluate import SAMPLE_PIXELS_MAX, sample_to_folder

    model = load_model(saved["parts"])
    h, w = model.image_shape
    most = SAMPLE_PIXELS_MAX // (h * w)
    with pytest.raises(UserError, match=rf"-n: {most + 1} is out of range; use an integer from 1 to {most}"):
        sample_to_folder(model, most + 1, tmp_path / "s", seed=0)
    assert not (tmp_path / "s").exists()
    assert len(sample_to_folder(model, 2, tmp_path / "s", seed=0)) == 3


def _npy_header(shape: tuple[int, ...], dtype: str = "<u1") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def test_a_header_declaring_a_huge_array_is_refused_before_allocating(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    # the hunt: a member declaring (100000, 1000000) bytes made np.load allocate 93 GB (MemoryError)
    with np.load(saved["literal"], allow_pickle=False) as z:
        meta = z["__meta__"]
    buf = io.BytesIO()
    np.save(buf, meta)
    p = tmp_path / "huge.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("__meta__.npy", buf.getvalue())
        zf.writestr("table.npy", _npy_header((100_000, 1_000_000)))
    with pytest.raises(
        UserError, match=r"damaged model file: .*huge\.npz: array 'table' declares shape \(100000, 1000000\)"
    ):
        load_model(p)


def test_zip_members_adding_up_over_the_limit_are_refused(
    saved: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("avatargen.pixels.modelfile.MODEL_BYTES_MAX", 1000)
    with pytest.raises(UserError, match=r"its arrays would take .* over the limit of 1,000"):
        load_model(saved["parts"])


@pytest.mark.parametrize(
    "make",
    [
        lambda p: np.save(p.with_suffix(".npy"), np.zeros(3)) or p.with_suffix(".npy").rename(p),
        lambda p: p.write_bytes(b"PK\x03\x04" + bytes(60)),
        lambda p: zipfile.ZipFile(p, "w").close(),
    ],
    ids=["bare-npy", "zip-magic-only", "empty-zip"],
)
def test_not_an_archive_is_one_line(tmp_path: Path, make: Any) -> None:
    # a bare .npy renamed .npz used to crash: np.load returns an array, not a context manager
    p = tmp_path / "m.npz"
    make(p)
    with pytest.raises(UserError, match=r"m\.npz: not a pixel-model file"):
        load_model(p)


def test_evaluate_needs_two_images(drawn_avatars: np.ndarray, tmp_path: Path) -> None:
    # the hunt: one image gave a report of NaN likelihoods and exit 0
    with pytest.raises(UserError, match=r"images to evaluate: 1 is out of range; use an integer >= 2"):
        run_evaluation(drawn_avatars[:1, ::4, ::4], tmp_path / "e", n_samples=2)
    assert not (tmp_path / "e").exists()
