"""Issue 10, avatargen + sharedcore: a careless/hostile user's sweep, rerunnable.

Several hundred generated bad (and odd-but-valid) inputs are run through every avatargen command
and the HTTP API, in a temporary folder, and each outcome is classified:

- ``ok``: exit 0 / HTTP 2xx-3xx, and the result passes the case's own check (when it has one);
- ``error``: exit 2 with one ``avatargen...: error: ...`` line last on stderr, or a JSON 4xx;
- ``DEFECT``: a traceback, the last-resort handler's "internal error" (exit 1), any other exit
  code, a 5xx, a hang (over the case's time limit), a memory blow-up (a MemoryError under an
  address-space limit), a ``.tmp`` left behind, a failed command that changed the files it was
  given, or a silently wrong result (a case that must be refused succeeded, or its check failed).

Commands run in a forked child of one process that has imported avatargen once (so a case costs
milliseconds of start-up, not seconds), with stdout/stderr to files, an address-space limit and a
wall-clock limit; cases about permissions run the child as the unprivileged uid 65534 when this
runs as root. Interruption cases start real subprocesses and send SIGINT/SIGTERM while an output
is being written. Under pytest each case is its own test, named ``test_case[class: name]`` (a defect
fails that case by name; all are marked slow, as the one sweep test was); or print the table of counts::

    SPILLGUARD_THREADS=1 .venv/bin/python -m tests.avatargen.test_hostile_sweep [-v] [-k SUBSTRING]
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.signals import default_signals

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "src" / "avatargen" / "data" / "example_styles.csv"
EXAMPLE_RULES = REPO / "src" / "avatargen" / "data" / "example_rules.yaml"
NOBODY = 65534
MEM_EXTRA = 3 * 2**30  # address space a case may add to the parent's before it counts as a blow-up
LONG = "n" * 300  # a 300-character name (file systems allow 255 bytes)
BAD_UTF8 = os.fsdecode(b"caf\xe9")  # a Latin-1 name, not UTF-8 (Python's surrogateescape form)

Check = Callable[[Path, str], str | None]  # (case dir, stdout) -> problem, or None when the result is right


@dataclass
class Case:
    """One input: a CLI command line (``argv``) or an HTTP request (``http``), and what must happen.

    ``expect`` is "ok" (must succeed), "error" (must be refused), or "any" (either, never a defect).
    ``argv`` items may hold ``{fx}`` (the shared fixtures folder) and ``{d}`` (this case's folder).
    """

    cls: str
    name: str
    argv: list[str] | None = None
    setup: Callable[[Path, Path], None] | None = None  # (case dir, fixtures dir)
    expect: str = "any"
    check: Check | None = None
    nobody: bool = False
    timeout: float = 60.0
    http: tuple[str, str, dict[str, Any]] | None = None  # (method, url, httpx kwargs)
    signal_after: tuple[int, str] | None = None  # (signal, folder whose .tmp to wait for)
    err_has: str | None = None  # a refusal must name this (e.g. the damaged file), not something else


@dataclass
class Outcome:
    case: Case
    kind: str  # ok | error | DEFECT
    detail: str
    seconds: float = 0.0


@dataclass
class Sweep:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(o.kind for o in self.outcomes)


# ===================================================================================== fixtures


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_declared_png(w: int, h: int) -> bytes:
    """A tiny PNG whose header declares w x h RGBA pixels (a decompression-bomb header)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _save(img: Any, path: Path, **kw: Any) -> None:
    img.save(path, **kw)


def odd_images() -> dict[str, Callable[[Path], None]]:
    """name -> writer of one odd image file at the given path (modes, animation, damage, bombs)."""
    from PIL import Image

    base = Image.new("RGBA", (66, 70), (200, 120, 40, 255))
    rgb = base.convert("RGB")

    def anim(path: Path, fmt: str) -> None:
        frames = [Image.new("RGB", (66, 70), (i * 40, 0, 0)) for i in range(3)]
        frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)

    def cmyk(path: Path) -> None:
        rgb.convert("CMYK").save(path, format="JPEG")

    def i16(path: Path) -> None:
        Image.fromarray(np.full((70, 66), 40000, np.uint16)).save(path)

    def fmode(path: Path) -> None:
        Image.fromarray(np.full((70, 66), 0.5, np.float32)).save(path, format="TIFF")

    def truncated(path: Path) -> None:
        buf = io.BytesIO()
        rgb.save(buf, format="PNG")
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])

    def truncated_jpeg(path: Path) -> None:
        buf = io.BytesIO()
        rgb.save(buf, format="JPEG")
        path.write_bytes(buf.getvalue()[:300])

    def multipage_tiff(path: Path) -> None:
        rgb.save(path, format="TIFF", save_all=True, append_images=[base.convert("L")])

    return {
        "mode-P.png": lambda p: _save(rgb.quantize(16), p),
        "mode-P-transparent.png": lambda p: _save(base.quantize(16), p, transparency=0),
        "mode-LA.png": lambda p: _save(base.convert("LA"), p),
        "mode-L.png": lambda p: _save(base.convert("L"), p),
        "mode-1.png": lambda p: _save(base.convert("1"), p),
        "mode-I16.png": i16,
        "mode-I.tif": lambda p: _save(Image.fromarray(np.full((70, 66), 7, np.int32)), p, format="TIFF"),
        "mode-F.tif": fmode,
        "mode-CMYK.jpg": cmyk,
        "mode-YCbCr.jpg": lambda p: _save(rgb, p, format="JPEG", quality=50),
        "mode-L.jpg": lambda p: _save(base.convert("L"), p, format="JPEG"),
        "progressive.jpg": lambda p: _save(rgb, p, format="JPEG", progressive=True),
        "animated.gif": lambda p: anim(p, "GIF"),
        "animated.png": lambda p: anim(p, "PNG"),
        "animated.webp": lambda p: anim(p, "WEBP"),
        "multipage.tif": multipage_tiff,
        "rgba.webp": lambda p: _save(base, p, format="WEBP"),
        "bmp.bmp": lambda p: _save(rgb, p, format="BMP"),
        "tiny-1x1.png": lambda p: _save(Image.new("RGB", (1, 1)), p),
        "narrow-3x4000.png": lambda p: _save(Image.new("RGB", (3, 4000)), p),
        "wide-4000x3.png": lambda p: _save(Image.new("RGB", (4000, 3)), p),
        "big-1320x1400.png": lambda p: _save(base.resize((1320, 1400)), p),
        "big-1320x1400.jpg": lambda p: _save(rgb.resize((1320, 1400)), p, format="JPEG"),
        "bomb-header.png": lambda p: p.write_bytes(huge_declared_png(100_000, 100_000)),
        "under-limit-header.png": lambda p: p.write_bytes(huge_declared_png(12_000, 12_000)),
        "zero-size.png": lambda p: p.write_bytes(b""),
        "text.png": lambda p: p.write_text("not an image\n"),
        "truncated.png": truncated,
        "truncated.jpg": truncated_jpeg,
        "random-bytes.jpg": lambda p: p.write_bytes(bytes(range(256)) * 4),
        "png-as.jpg": lambda p: _save(rgb, p, format="PNG"),
        "exif-rotated.jpg": lambda p: _save(rgb, p, format="JPEG", exif=_exif_rotated()),
    }


def _exif_rotated() -> bytes:
    from PIL import Image

    ex = Image.Exif()
    ex[0x0112] = 6  # orientation: rotate 90
    return ex.tobytes()


def odd_entries() -> dict[str, Callable[[Path], None]]:
    """name -> maker of an odd folder entry (links, loops, FIFOs, folders named like images)."""

    def loop(p: Path) -> None:
        p.symlink_to(p.name)

    def dangling(p: Path) -> None:
        p.symlink_to(p.parent / "does-not-exist.png")

    def dir_loop(p: Path) -> None:
        (p.parent / "sub").mkdir(exist_ok=True)
        (p.parent / "sub" / "up").symlink_to("..")
        p.symlink_to("sub")

    def fifo(p: Path) -> None:
        os.mkfifo(p)

    def folder(p: Path) -> None:
        p.mkdir()

    def link_to_file(p: Path) -> None:
        first = sorted(x for x in p.parent.iterdir() if x.suffix == ".png")[0]
        p.symlink_to(first.name)

    return {
        "loop.png": loop,
        "dangling.png": dangling,
        "dirloop.png": dir_loop,
        "fifo.png": fifo,
        "folder.png": folder,
        "dup-link.png": link_to_file,
        "unreadable.png": lambda p: (_copy_first(p), os.chmod(p, 0)),
        BAD_UTF8 + ".png": _copy_first,
        "аватар.png": _copy_first,
        "new\nline.png": _copy_first,
        " leading space.png": _copy_first,
        ".hidden.png": _copy_first,
        "UPPER.PNG": _copy_first,
    }


def _copy_first(p: Path) -> None:
    first = sorted(x for x in p.parent.iterdir() if x.name.startswith("av"))[0]
    shutil.copyfile(first, p)


def build_fixtures(fx: Path) -> None:
    """Shared inputs: the example styles, a counts file, models, a small avatar folder, pixel models."""
    from PIL import Image

    from avatargen.pixels.methods import make_model
    from avatargen.styles.data import load_styles
    from avatargen.styles.model import StyleModel
    from tests.avatargen.pixels.conftest import draw_avatars

    fx.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE, fx / "styles.csv")
    shutil.copyfile(EXAMPLE_RULES, fx / "rules.yaml")
    d = load_styles(EXAMPLE)
    counts = {a: {v: int(c) for v, c in zip(d.values[a], d.counts[a], strict=True)} for a in d.attributes}
    (fx / "counts.json").write_text(json.dumps({"attributes": counts}), encoding="utf-8")
    model = StyleModel(rules=EXAMPLE_RULES).fit(d)
    model.save(fx / "m.json")
    (fx / "m.obj.json").write_text(json.dumps(model.to_json()), encoding="utf-8")
    StyleModel().fit(load_styles(fx / "counts.json")).save(fx / "mc.json")
    av = fx / "av"
    av.mkdir()
    imgs = draw_avatars(6, seed=7, size=(66, 70))
    for i, a in enumerate(imgs):
        Image.fromarray(a).save(av / f"av{i}.png")
    for m in ("literal", "joint", "parts"):
        make_model(m).fit(imgs).save(fx / f"{m}.npz")
    for root, dirs, files in os.walk(fx):
        for n in dirs + files:
            os.chmod(Path(root) / n, 0o755 if n in dirs else 0o644)
    os.chmod(fx, 0o755)


def _npz(path: Path, arrays: dict[str, Any]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())


def _npz_arrays(src: Path) -> dict[str, Any]:
    with np.load(src, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _meta(arrays: dict[str, Any]) -> dict[str, Any]:
    return json.loads(str(arrays["__meta__"]))


def damaged_npz(src: Path, dst: Path, change: Callable[[dict[str, Any], dict[str, Any]], None]) -> None:
    arrays = _npz_arrays(src)
    meta = _meta(arrays)
    change(meta, arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    _npz(dst, arrays)


def npy_header_only(shape: tuple[int, ...], dtype: str = "<u1") -> bytes:
    """An .npy member whose header declares ``shape`` but holds no data (a huge allocation, if trusted)."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def zip_with(dst: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(dst, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)


# ======================================================================================== checks


def file_loads_as_style_model(name: str) -> Check:
    def check(d: Path, out: str) -> str | None:
        from avatargen.styles.model import StyleModel

        try:
            m = StyleModel.load(d / name)
        except Exception as exc:
            return f"{name} was written but does not load ({type(exc).__name__}: {exc})"
        names = [*m.attributes_, *(v for vs in m.values_.values() for v in vs)]
        bad = [x for x in names if x != x.strip() or "\ufeff" in x or "\r" in x]
        return f"names kept junk characters: {bad[:3]}" if bad else None

    return check


def pixel_model_loads(name: str) -> Check:
    def check(d: Path, out: str) -> str | None:
        from avatargen.pixels.methods import load_model

        try:
            m = load_model(d / name)
            m.sample(1, np.random.default_rng(0))
        except Exception as exc:
            return f"{name} was written but does not load/sample ({type(exc).__name__}: {exc})"
        return None

    return check


def folder_has(*names: str) -> Check:
    def check(d: Path, out: str) -> str | None:
        missing = [n for n in names if not (d / n).exists()]
        return f"missing outputs {missing}" if missing else None

    return check


def stdout_has(text: str) -> Check:
    def check(d: Path, out: str) -> str | None:
        return None if text in out else f"stdout lacks {text!r}: {out[-200:]!r}"

    return check


def csv_rows(name: str, n: int) -> Check:
    def check(d: Path, out: str) -> str | None:
        lines = (d / name).read_text(encoding="utf-8").strip().splitlines()
        return None if len(lines) == n + 1 else f"{name} has {len(lines) - 1} rows, {n} asked"

    return check


def all_of(*checks: Check) -> Check:
    def check(d: Path, out: str) -> str | None:
        for c in checks:
            why = c(d, out)
            if why:
                return why
        return None

    return check


# ========================================================================================= cases


def _w(name: str, content: str | bytes) -> Callable[[Path, Path], None]:
    def setup(d: Path, fx: Path) -> None:
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")

    return setup


def _seq(*setups: Callable[[Path, Path], None]) -> Callable[[Path, Path], None]:
    def setup(d: Path, fx: Path) -> None:
        for s in setups:
            s(d, fx)

    return setup


def _counts(attrs: dict[str, Any]) -> str:
    return json.dumps({"attributes": attrs})


def number_cases() -> list[Case]:
    c = "numbers out of range"
    out: list[Case] = []
    fit = ["styles", "fit", "{fx}/styles.csv", "-o", "{d}/m.json"]
    for v in ["nan", "inf", "-inf", "-1", "1e308", "1e400", "-0.0", "1e-320"]:
        ok = v in ("-0.0", "1e-320")
        out.append(
            Case(
                c,
                f"styles fit --alpha {v}",
                [*fit, "--alpha", v],
                expect="ok" if ok else "error",
                check=file_loads_as_style_model("m.json") if ok else None,
            )
        )
    for v in ["-1", "nan", "0", "2", "inf", "1e-300", "1"]:
        ok = v in ("1e-300", "1")
        out.append(
            Case(
                c, f"styles fit --edge-pvalue {v}", [*fit, "--edge-pvalue", v], expect="ok" if ok else "error"
            )
        )
    smp = ["styles", "sample", "{fx}/m.json"]
    for v in ["-1", "1000000000", str(2**63), str(10**30), "1e3", "nan"]:
        out.append(Case(c, f"styles sample -n {v}", [*smp, "-n", v], expect="error"))
    out.append(Case(c, "styles sample -n 0", [*smp, "-n", "0", "--format", "csv"], expect="ok"))
    for v in ["-1", str(2**32), str(2**64), "1.5", "abc", ""]:
        out.append(Case(c, f"styles sample --seed {v!r}", [*smp, "--seed", v], expect="error"))
    out.append(Case(c, "styles sample --seed 2**32-1", [*smp, "--seed", str(2**32 - 1)], expect="ok"))
    for v in ["-1", "1000000000", str(10**30)]:
        out.append(
            Case(
                c, f"styles sample --most-probable -n {v}", [*smp, "--most-probable", "-n", v], expect="error"
            )
        )
    out.append(
        Case(
            c,
            "styles sample --unique -n 10000 on a tiny model",
            ["styles", "sample", "{d}/tiny.json", "--unique", "-n", "10000"],
            setup=_tiny_model,
            expect="any",
        )
    )
    draw = ["avatars", "draw", "{fx}/m.json", "-o", "{d}/out"]
    for v in ["-1", "10001", str(10**12), "abc"]:
        out.append(Case(c, f"avatars draw -n {v}", [*draw, "-n", v], expect="error"))
    out.append(Case(c, "avatars draw -n 0", [*draw, "-n", "0"], expect="any"))
    for v in ["0", "-1", str(10**9), str(2**70)]:
        out.append(
            Case(
                c,
                f"avatars draw --columns {v}",
                [*draw, "-n", "2", "--columns", v],
                expect="error" if v in ("0", "-1") else "ok",
            )
        )
    for v in [
        "0x0",
        "99999x99999",
        "nanx",
        "infx",
        "nanxnan",
        "1e308x",
        "-5x5",
        "5x-5",
        "1e9x",
        "0.0001x",
        "x",
        "2x2x2",
        "１２x１２",
        "12 x 12",
        str(2**64) + "x4",
    ]:
        out.append(Case(c, f"avatars draw --size {v!r}", [*draw, "-n", "1", "--size", v], expect="any"))
    out.append(Case(c, "avatars draw --seed -1", [*draw, "--seed", "-1"], expect="error"))
    pfit = ["pixels", "fit", "{fx}/av", "-o", "{d}/p.npz"]
    for v in ["nan", "-1", "inf", "1e300", "-0.0"]:
        out.append(
            Case(
                c,
                f"pixels fit --alpha {v}",
                [*pfit, "-m", "literal", "--alpha", v],
                expect="ok" if v == "-0.0" else "error",
            )
        )
    for v in ["0x0", "100000x100000", "1e308x", "4097x4", "nanx"]:
        out.append(Case(c, f"pixels fit --size {v}", [*pfit, "--size", v], expect="error"))
    psmp = ["pixels", "sample", "{fx}/parts.npz", "-o", "{d}/s"]
    for v in ["0", "-1", "10001", str(10**20)]:
        out.append(Case(c, f"pixels sample -n {v}", [*psmp, "-n", v], expect="error"))
    for v in ["-1", str(2**32)]:
        out.append(Case(c, f"pixels sample --seed {v}", [*psmp, "--seed", v], expect="error"))
    out.append(
        Case(
            c,
            # memory stays within the limit; time is linear in pixels (4096x4096 is 4x this: minutes
            # on a loaded 2-core machine, PNG encoding mostly), so the sweep uses the 2048 side
            "pixels sample FOLDER --size 2048x2048 (memory)",
            ["pixels", "sample", "{fx}/av", "-o", "{d}/s", "--size", "2048x2048", "-n", "1", "-m", "literal"],
            expect="ok",
            timeout=180,
        )
    )
    ev = ["pixels", "evaluate", "{fx}/av", "-o", "{d}/e"]
    for opt, v in [
        ("-n", "1"),
        ("-n", "201"),
        ("--seeds", "-1"),
        ("--seeds", "201"),
        ("--alpha", "nan"),
        ("--loo-alpha", "nan"),
        ("--loo-alpha", "-1"),
        ("--loo-alpha", "inf"),
        ("--alpha", "-5"),
    ]:
        out.append(Case(c, f"pixels evaluate {opt} {v}", [*ev, opt, v], expect="error"))
    for v in ["-1", str(2**32)]:
        out.append(Case(c, f"demo --seed {v}", ["demo", "-o", "{d}/demo", "--seed", v], expect="error"))
    for v in ["-1", "70000", "nan"]:  # 0 is a free port (sharedcore.web.check_port, as spillguard serve)
        out.append(
            Case(c, f"serve --port {v}", ["serve", "{fx}/m.json", "--port", v], expect="error", timeout=30)
        )
    out.append(
        Case(c, "serve --workers 0", ["serve", "{fx}/m.json", "--workers", "0"], expect="error", timeout=30)
    )
    # numbers inside files
    for label, value in [
        ("1e300", 1e300),
        ("10**30", 10**30),
        ("-1", -1),
        ("1.5", 1.5),
        ("'5'", "5"),
        ("true", True),
        ("null", None),
        ("2**63", 2**63),
        ("[]", []),
        ("{}", {}),
    ]:
        out.append(
            Case(
                c,
                f"counts file count {label}",
                ["styles", "fit", "{d}/c.json", "-o", "{d}/m.json"],
                setup=_w("c.json", _counts({"a": {"x": value, "y": 3}})),
                expect="error",
            )
        )
    for lit in ["NaN", "Infinity", "-Infinity", "1e999"]:
        out.append(
            Case(
                c,
                f"counts file count {lit} (JSON extension)",
                ["styles", "fit", "{d}/c.json", "-o", "{d}/m.json"],
                setup=_w("c.json", '{"attributes": {"a": {"x": ' + lit + ', "y": 3}}}'),
                expect="error",
            )
        )
    out.append(
        Case(
            c,
            "counts: one attribute all zero, another fine",
            ["styles", "fit", "{d}/c.json", "-o", "{d}/m.json"],
            setup=_w("c.json", _counts({"a": {"x": 0}, "b": {"u": 1}})),
            expect="error",
        )
    )
    return out


def _tiny_model(d: Path, fx: Path) -> None:
    from avatargen.styles.data import counts_from_mapping
    from avatargen.styles.model import StyleModel

    StyleModel().fit(counts_from_mapping({"attributes": {"a": {"x": 1, "y": 1}}}, "t")).save(d / "tiny.json")


def structure_cases() -> list[Case]:
    c = "structures that break assumptions"
    out: list[Case] = []
    fitc = ["styles", "fit", "{d}/c.json", "-o", "{d}/m.json"]
    deep = 100_000
    bodies = {
        "lists nested 100000": "[" * deep + "]" * deep,
        "objects nested 100000": '{"a":' * deep + "1" + "}" * deep,
        "attributes nested 5000": '{"attributes": {"a": ' + '{"x":' * 5000 + "1" + "}" * 5001 + "}",
        "top-level list": "[1, 2]",
        "top-level string": '"attributes"',
        "top-level number": "3",
        "null": "null",
        "empty object": "{}",
        "attributes empty": '{"attributes": {}}',
        "attributes a list": '{"attributes": [{"x": 1}]}',
        "attribute is a list": '{"attributes": {"a": [1, 2]}}',
        "attribute is a number": '{"attributes": {"a": 5}}',
        "unknown top key": '{"attributes": {"a": {"x": 1}}, "atributes": {}}',
        "duplicate top key": '{"attributes": {"a": {"x": 1}}, "attributes": {"b": {"y": 1}}}',
        "duplicate attribute": '{"attributes": {"a": {"x": 1}, "a": {"y": 2}}}',
        "duplicate value": '{"attributes": {"a": {"x": 1, "x": 2}}}',
        "value names differ by spaces": '{"attributes": {"a": {"x": 1, " x ": 2}}}',
        "empty attribute name": '{"attributes": {"": {"x": 1}}}',
        "empty value name": '{"attributes": {"a": {"": 1}}}',
        "description is an object": '{"attributes": {"a": {"x": 1}}, "description": {"deep": [1]}}',
        "format_version 99": '{"format_version": 99, "attributes": {"a": {"x": 1}}}',
        "trailing garbage": '{"attributes": {"a": {"x": 1}}} xyz',
        "only whitespace": "   \n\t  ",
        "BOM then JSON": "\ufeff" + _counts({"a": {"x": 1}}),
        "NUL in a key": _counts({"a\u0000b": {"x": 1}}),
        "lone surrogate escape": '{"attributes": {"a": {"\\ud800": 1}}}',
    }
    for name, text in bodies.items():
        ok = name in ("BOM then JSON", "description is an object", "NUL in a key", "lone surrogate escape")
        out.append(
            Case(c, f"counts JSON: {name}", fitc, setup=_w("c.json", text), expect="any" if ok else "error")
        )
    out.append(
        Case(
            c,
            "counts JSON: 1 attribute with 50000 values",
            fitc,
            setup=_w("c.json", _counts({"a": {f"v{i}": 1 for i in range(50_000)}})),
            expect="any",
        )
    )
    out.append(
        Case(
            c,
            "counts JSON: 2 attributes x 20000 values",
            fitc,
            setup=_w("c.json", _counts({k: {f"v{i}": 1 for i in range(20_000)} for k in "ab"})),
            expect="any",
            timeout=60,
        )
    )
    out.append(
        Case(
            c,
            "counts JSON: 40 attributes x 40 values (10**64 styles)",
            fitc,
            setup=_w("c.json", _counts({f"a{j}": {f"v{i}": i + 1 for i in range(40)} for j in range(40)})),
            expect="ok",
        )
    )
    out.append(
        Case(
            c,
            "counts JSON: 3000 attributes",
            fitc,
            setup=_w("c.json", _counts({f"a{j}": {"x": 1, "y": 2} for j in range(3000)})),
            expect="any",
        )
    )
    # rows tables
    fitr = ["styles", "fit", "{d}/t.csv", "-o", "{d}/m.json"]
    rng = np.random.default_rng(0)
    many = "a,b\n" + "".join(f"v{i},w{i % 3}\n" for i in range(40_000))
    two = "a,b\n" + "".join(f"v{i},w{i}\n" for i in range(20_000))
    wide = (
        ",".join(f"c{j}" for j in range(2000))
        + "\n"
        + "\n".join(",".join(str(x) for x in rng.integers(0, 2, 2000)) for _ in range(5))
        + "\n"
    )
    out.append(Case(c, "CSV: a column of 40000 distinct values", fitr, setup=_w("t.csv", many), expect="any"))
    out.append(
        Case(c, "CSV: two columns of 20000 distinct values", fitr, setup=_w("t.csv", two), expect="any")
    )
    out.append(Case(c, "CSV: 2000 columns x 5 rows", fitr, setup=_w("t.csv", wide), expect="any", timeout=60))
    out.append(
        Case(
            c, "CSV: one 2 MB cell", fitr, setup=_w("t.csv", "a,b\n" + "x" * 2_000_000 + ",y\n"), expect="any"
        )
    )
    out.append(
        Case(c, "CSV: 200000 rows", fitr, setup=_w("t.csv", "a,b\n" + "x,y\ny,x\n" * 100_000), expect="ok")
    )
    # rules YAML / JSON
    fitrules = ["styles", "fit", "{fx}/styles.csv", "-o", "{d}/m.json", "--rules", "{d}/r.yaml"]
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    yamls = {
        "nested 100000": "[" * deep + "]" * deep,
        "billion laughs (aliases)": bomb + "format_version: 1\ndepends_on: *i\n",
        "duplicate key depends_on": "format_version: 1\ndepends_on: {hair_color: hairstyle}\n"
        "depends_on: {hair_color: eyes}\n",
        "duplicate child in depends_on": "format_version: 1\ndepends_on:\n  hair_color: hairstyle\n"
        "  hair_color: eyes\n",
        "unknown key": "format_version: 1\ndepends_on: {}\nrulez: []\n",
        "depends_on a number": "format_version: 1\ndepends_on: 5\n",
        "rules a mapping": "format_version: 1\nrules: {if: 1}\n",
        "rule without then": "format_version: 1\nrules:\n  - if: {hairstyle: none}\n",
        "rule on unknown attribute": "format_version: 1\nrules:\n  - if: {nope: none}\n    then: {eyes: x}\n",
        "rule on unknown value": "format_version: 1\nrules:\n  - if: {hairstyle: nope}\n    then: {eyes: happy}\n",
        "self dependency": "format_version: 1\ndepends_on: {eyes: eyes}\n",
        "cycle": "format_version: 1\ndepends_on: {eyes: mouth, mouth: eyes}\n",
        "python tag": "format_version: 1\ndepends_on: !!python/object/apply:os.system ['true']\n",
        "tabs": "format_version: 1\ndepends_on:\n\thair_color: hairstyle\n",
        "empty file": "",
        "only a comment": "# nothing\n",
        "a scalar": "hello\n",
        "format_version 2": "format_version: 2\n",
        "format_version a string": "format_version: '1'\n",
        "null key": "format_version: 1\ndepends_on: {~: hairstyle}\n",
        "numeric names": "format_version: 1\ndepends_on: {1: 2}\n",
        "binary": "\x00\x01\x02\x03",
        "BOM": "\ufeffformat_version: 1\ndepends_on: {hair_color: hairstyle}\n",
        "CRLF": "format_version: 1\r\ndepends_on: {hair_color: hairstyle}\r\n",
        "rules contradict every style": "format_version: 1\nrules:\n  - if: {eyes: happy}\n    then: {eyes: wink}\n"
        "  - if: {eyes: wink}\n    then: {eyes: happy}\n",
    }
    for name, text in yamls.items():
        ok = name in ("BOM", "CRLF")
        out.append(
            Case(
                c,
                f"rules YAML: {name}",
                fitrules,
                setup=_w("r.yaml", text),
                expect="ok" if ok else ("any" if name == "rules contradict every style" else "error"),
            )
        )
    out.append(
        Case(
            c,
            "rules JSON: duplicate key",
            [*fitrules[:-1], "{d}/r.json"],
            setup=_w("r.json", '{"format_version": 1, "depends_on": {"eyes": "mouth", "eyes": "skin"}}'),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "rules file not UTF-8",
            fitrules,
            setup=_w("r.yaml", b"format_version: 1\n# \xff\xfe\n"),
            expect="error",
        )
    )
    # mapping YAML
    drawm = ["avatars", "draw", "{fx}/m.json", "-o", "{d}/out", "-n", "1", "--mapping", "{d}/map.yaml"]
    maps = {
        "nested 100000": "[" * deep + "]" * deep,
        "billion laughs": bomb,
        "empty": "",
        "a list": "- a\n- b\n",
        "unknown top key": "name: x\nattributez: {}\n",
        "duplicate key": _english_mapping_text() + "\nname: other\n",
        "attribute a number": "name: x\nattributes: {hairstyle: 5}\n",
        "not UTF-8": b"name: \xff\n",
        "python tag": "name: !!python/name:os.system\n",
    }
    for name, text in maps.items():
        out.append(Case(c, f"mapping YAML: {name}", drawm, setup=_w("map.yaml", text), expect="error"))
    out.append(Case(c, "mapping: a built-in name misspelt", [*drawm[:-1], "englsh"], expect="error"))
    out.append(Case(c, "mapping: a folder", [*drawm[:-1], "{fx}"], expect="error"))
    # --given / style pairs
    smp = ["styles", "sample", "{fx}/m.json", "-n", "3"]
    for g in [
        "hairstyle",
        "=bob",
        "hairstyle=",
        "hairstyle=bob=x",
        "прическа=каре",
        "hairstyle=каре",
        "hairstyle=bob\u0000",
        "nope=x",
        " hairstyle = bob ",
        "HAIRSTYLE=BOB",
        "hairstyle=" + "x" * 5000,
    ]:
        ok = g in (" hairstyle = bob ",)
        out.append(
            Case(c, f"styles sample --given {g[:30]!r}", [*smp, "--given", g], expect="ok" if ok else "any")
        )
    out.append(
        Case(
            c,
            "styles sample --given twice (same)",
            [*smp, "--given", "eyes=happy", "--given", "eyes=happy"],
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "styles sample --given impossible by the rules",
            [*smp, "--given", "hairstyle=none", "--given", "hair_color=blonde"],
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "styles sample --given every attribute --unique -n 5",
            [*smp[:-2], "-n", "5", "--unique", *[x for kv in _full_style() for x in ("--given", kv)]],
            expect="any",
        )
    )
    out.append(Case(c, "styles sample --format xml", [*smp, "--format", "xml"], expect="error"))
    prob = ["styles", "prob", "{fx}/m.json"]
    for args in [
        ["hairstyle=bob"],
        ["nope=x"],
        ["hairstyle=bob", "--query", "nope"],
        ["hairstyle=bob", "--query", "hairstyle"],
        ["hairstyle=nope"],
        *[[kv] for kv in ["x", "=", "a=b"]],
        [*_full_style()],
        [*_full_style(), "--format", "json"],
        ["hairstyle=bob", "--format", "yaml"],
        ["hairstyle=none", "hair_color=blonde"],
        ["hairstyle=none", "hair_color=blonde", "--query", "eyes"],
    ]:
        out.append(Case(c, f"styles prob {' '.join(args)[:60]}", [*prob, *args], expect="any"))
    for fmt in ["text", "markdown", "html"]:
        out.append(
            Case(
                c,
                f"styles explain --format {fmt}",
                ["styles", "explain", "{fx}/m.json", "--format", fmt],
                expect="error" if fmt == "html" else "ok",
            )
        )
    return out


def _full_style() -> list[str]:
    import csv as _csv

    with EXAMPLE.open(encoding="utf-8") as fh:
        row = next(_csv.DictReader(fh))
    return [f"{k}={v}" for k, v in row.items()]


def _english_mapping_text() -> str:
    return (REPO / "src" / "avatargen" / "render" / "mappings" / "english.yaml").read_text(encoding="utf-8")


def _style_model_mutated(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path, Path], None]:
    def setup(d: Path, fx: Path) -> None:
        obj = json.loads((fx / "m.obj.json").read_text(encoding="utf-8"))
        change(obj)
        (d / "bad.json").write_text(json.dumps(obj, allow_nan=True), encoding="utf-8")

    return setup


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        node = obj
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return change


def _npz_case(
    method: str, change: Callable[[dict[str, Any], dict[str, Any]], None]
) -> Callable[[Path, Path], None]:
    def setup(d: Path, fx: Path) -> None:
        damaged_npz(fx / f"{method}.npz", d / "bad.npz", change)

    return setup


def _arr(name: str, fn: Callable[[Any], Any]) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    return lambda meta, a: a.__setitem__(name, fn(a[name]))


def _par(name: str, value: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    return lambda meta, a: meta["params"].__setitem__(name, value)


def model_file_cases() -> list[Case]:
    c = "damaged model files"
    out: list[Case] = []
    uses = [
        ("sample", ["styles", "sample", "{d}/bad.json", "-n", "3"]),
        ("prob", ["styles", "prob", "{d}/bad.json", "hairstyle=bob"]),
        ("explain", ["styles", "explain", "{d}/bad.json"]),
        ("draw", ["avatars", "draw", "{d}/bad.json", "-o", "{d}/out", "-n", "1"]),
        (
            "serve",
            ["serve", "{d}/bad.json", "--host", "203.0.113.9"],
        ),  # loads the model, cannot listen: exits
    ]
    a0 = "hairstyle"
    mutations: dict[str, Callable[[dict[str, Any]], Any]] = {
        "probability 1.5 / -0.5": lambda o: o["cpts"][0][0].__setitem__(slice(0, 2), [1.5, -0.5]),
        "NaN in a table": lambda o: o["cpts"][1][0].__setitem__(0, float("nan")),
        "Infinity in counts": lambda o: o["counts"][a0].__setitem__(0, float("inf")),
        "n_rows 1e400": lambda o: o.__setitem__("n_rows", float("inf")),
        "n_rows negative": _set(("n_rows",), -5),
        "attributes not a list": _set(("attributes",), "hairstyle"),
        "attributes empty": _set(("attributes",), []),
        "values of an attribute a number": lambda o: o["values"].__setitem__(a0, 7),
        "values emptied": lambda o: o["values"].__setitem__(a0, []),
        "parent unknown": lambda o: o["parents"].__setitem__("eyes", "nope"),
        "parent itself": lambda o: o["parents"].__setitem__("eyes", "eyes"),
        "parent cycle": lambda o: (
            o["parents"].__setitem__("eyes", "mouth"),
            o["parents"].__setitem__("mouth", "eyes"),
        ),
        "parent a number": lambda o: o["parents"].__setitem__("eyes", 3),
        "cpts one short": lambda o: o["cpts"].pop(),
        "cpt rows transposed": lambda o: o["cpts"].__setitem__(
            1, [list(r) for r in zip(*o["cpts"][1], strict=False)]
        ),
        "cpt a string": lambda o: o["cpts"].__setitem__(0, "x"),
        "cpt ragged": lambda o: o["cpts"][1].__setitem__(0, [0.5]),
        "tables negative": lambda o: o["tables"][0][0].__setitem__(0, -3),
        "mutual_information wrong shape": _set(("mutual_information",), [[0.0]]),
        "mutual_information strings": lambda o: o.__setitem__("mutual_information", [["x"] * 9] * 9),
        "rules garbage": _set(("rules",), {"rules": 5}),
        "rules unknown attribute": _set(
            ("rules",), {"format_version": 1, "rules": [{"if": {"zz": "a"}, "then": {"yy": "b"}}]}
        ),
        "notes not a list": _set(("notes",), 5),
        "notes items strings": _set(("notes",), ["a", "b"]),
        "training base64 damaged": lambda o: o["training_styles"].__setitem__("int64_keys_base64", "@@@"),
        "training count wrong": lambda o: o["training_styles"].__setitem__("count", 10**9),
        "training count a string": lambda o: o["training_styles"].__setitem__("count", "many"),
        "training key out of range": lambda o: o["training_styles"].__setitem__(
            "int64_keys_base64", __import__("base64").b64encode(struct.pack("<q", 2**62)).decode()
        ),
        "training styles missing": lambda o: o.pop("training_styles"),
        "params not a mapping": _set(("params",), [1]),
        "params.structure unknown": lambda o: o["params"].__setitem__("structure", "bogus"),
        "params.alpha NaN": lambda o: o["params"].__setitem__("alpha", float("nan")),
        "params.edge_pvalue 7": lambda o: o["params"].__setitem__("edge_pvalue", 7),
        "data_kind a list": _set(("data_kind",), [1]),
        "source a dict": _set(("source",), {"a": 1}),
        "an attribute renamed to a reserved word": lambda o: _rename_attr(o, "hairstyle", "seed"),
        "a value name with a newline": lambda o: o["values"][a0].__setitem__(0, "bo\nb"),
    }
    for i, (name, change) in enumerate(mutations.items()):
        use, argv = uses[i % len(uses)]
        expect = (
            "any"
            if name
            in (
                "a value name with a newline",
                "data_kind a list",
                "source a dict",
                "an attribute renamed to a reserved word",
                "notes items strings",
            )
            else "error"
        )
        if name == "an attribute renamed to a reserved word":
            use, argv = uses[4]
        out.append(
            Case(
                c,
                f"styles model ({use}): {name}",
                argv,
                setup=_style_model_mutated(change),
                expect=expect,
                timeout=30,
                err_has="bad.json",
            )
        )
    raw = "{fx}/m.json"
    for name, setup in {
        "zero-size": _w("bad.json", b""),
        "truncated": lambda d, fx: (d / "bad.json").write_bytes((fx / "m.json").read_bytes()[:500]),
        "random bytes": _w("bad.json", bytes(range(256))),
        "UTF-16": lambda d, fx: (d / "bad.json").write_bytes((fx / "m.json").read_text().encode("utf-16")),
        "a pixel model named .json": lambda d, fx: shutil.copyfile(fx / "parts.npz", d / "bad.json"),
        "a counts file": lambda d, fx: shutil.copyfile(fx / "counts.json", d / "bad.json"),
        "a folder": lambda d, fx: (d / "bad.json").mkdir(),
        "a dangling link": lambda d, fx: (d / "bad.json").symlink_to(d / "nothing"),
        "a link loop": lambda d, fx: (d / "bad.json").symlink_to("bad.json"),
        "format_version 2": _style_model_mutated(_set(("format_version",), 2)),
        "format_version '1'": _style_model_mutated(_set(("format_version",), "1")),
        "format_version true": _style_model_mutated(_set(("format_version",), True)),
    }.items():
        out.append(
            Case(
                c, f"styles model: {name}", ["styles", "sample", "{d}/bad.json"], setup=setup, expect="error"
            )
        )
    del raw
    # pixel models
    psmp = ["pixels", "sample", "{d}/bad.npz", "-o", "{d}/s", "-n", "2"]
    pix: dict[str, tuple[str, Callable[[dict[str, Any], dict[str, Any]], None]]] = {
        "literal table float64": ("literal", _arr("table", lambda t: t.astype(np.float64))),
        "literal table 0-d": ("literal", _arr("table", lambda t: np.array(3, np.uint8))),
        "literal table empty": ("literal", _arr("table", lambda t: t[:0])),
        "literal shape huge": ("literal", _par("shape", [100_000, 100_000])),
        "literal shape negative": ("literal", _par("shape", [-70, 66])),
        "literal shape floats": ("literal", _par("shape", [70.5, 66])),
        "literal alpha NaN": ("literal", _par("alpha", float("nan"))),
        "joint table NaN": ("joint", _arr("table", lambda t: np.full(t.shape, np.nan))),
        "joint palette out of range": ("joint", _arr("palette", lambda t: t.astype(np.int64) + 10**6)),
        "joint table negative": ("joint", _arr("table", lambda t: t.astype(np.int64) - 5)),
        "joint extra array": ("joint", lambda m, a: a.__setitem__("extra", np.zeros(3))),
        "parts role 255": ("parts", _arr("role", lambda r: np.full_like(r, 255))),
        "parts images wrong dtype": ("parts", _arr("images", lambda x: x.astype(np.float32))),
        "parts images empty": ("parts", _arr("images", lambda x: x[:0])),
        "parts shade Inf": ("parts", _arr("shade", lambda x: np.full(x.shape, np.inf, dtype=x.dtype))),
        "parts params missing": ("parts", lambda m, a: m.pop("params")),
        "parts method unknown": ("parts", lambda m, a: m.__setitem__("method", "bogus")),
        "parts method literal with parts arrays": ("parts", lambda m, a: m.__setitem__("method", "literal")),
        "parts every array scalar": (
            "parts",
            lambda m, a: [a.__setitem__(k, np.array(1)) for k in list(a) if k != "__meta__"],
        ),
        "meta a list": ("parts", lambda m, a: (m.clear(),)),
    }
    for name, (method, change) in pix.items():
        out.append(Case(c, f"pixel model: {name}", psmp, setup=_npz_case(method, change), expect="error"))
    out.append(
        Case(
            c,
            "pixel model: meta not JSON",
            psmp,
            setup=lambda d, fx: _npz(d / "bad.npz", {"__meta__": np.array("{nope"), "table": np.zeros(3)}),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "pixel model: meta an object array (pickle)",
            psmp,
            setup=lambda d, fx: _npz(d / "bad.npz", {"__meta__": np.array([{"a": 1}], dtype=object)}),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "pixel model: header declares 10**11 bytes",
            psmp,
            setup=lambda d, fx: _huge_member(d, fx),
            expect="error",
            timeout=60,
        )
    )
    for name, setup in {
        "zero-size": _w("bad.npz", b""),
        "truncated half": lambda d, fx: (d / "bad.npz").write_bytes(
            (fx / "parts.npz").read_bytes()[: len((fx / "parts.npz").read_bytes()) // 2]
        ),
        "truncated 100 bytes": lambda d, fx: (d / "bad.npz").write_bytes(
            (fx / "parts.npz").read_bytes()[:100]
        ),
        "random bytes": _w("bad.npz", bytes(range(256)) * 8),
        "a bare .npy": lambda d, fx: (
            np.save(d / "bad.npz", np.zeros(3)) or (d / "bad.npz.npy").rename(d / "bad.npz")
        ),
        "empty zip": lambda d, fx: zip_with(d / "bad.npz", {}),
        "zip of text": lambda d, fx: zip_with(d / "bad.npz", {"__meta__.npy": b"hello"}),
        "a styles model named .npz": lambda d, fx: shutil.copyfile(fx / "m.json", d / "bad.npz"),
        "a folder of no images": lambda d, fx: (d / "bad.npz").mkdir(),
    }.items():
        out.append(Case(c, f"pixel model file: {name}", psmp, setup=setup, expect="error"))
    return out


def _rename_attr(o: dict[str, Any], old: str, new: str) -> None:
    o["attributes"] = [new if a == old else a for a in o["attributes"]]
    o["values"][new] = o["values"].pop(old)
    o["counts"][new] = o["counts"].pop(old)
    o["parents"] = {(new if k == old else k): (new if v == old else v) for k, v in o["parents"].items()}
    o["rules"] = {"format_version": 1}


def _huge_member(d: Path, fx: Path) -> None:
    arrays = _npz_arrays(fx / "literal.npz")
    buf = io.BytesIO()
    np.save(buf, arrays["__meta__"])
    zip_with(
        d / "bad.npz", {"__meta__.npy": buf.getvalue(), "table.npy": npy_header_only((100_000, 1_000_000))}
    )


def _folder_with(names: list[str], good: bool = True) -> Callable[[Path, Path], None]:
    def setup(d: Path, fx: Path) -> None:
        folder = d / "imgs"
        folder.mkdir()
        if good:
            for p in sorted((fx / "av").iterdir()):
                shutil.copyfile(p, folder / p.name)
        imgs, entries = odd_images(), odd_entries()
        for n in names:
            (imgs.get(n) or entries[n])(folder / n)

    return setup


def image_cases() -> list[Case]:
    c = "images"
    out: list[Case] = []
    fit = ["pixels", "fit", "{d}/imgs", "-o", "{d}/p.npz", "-m", "literal"]
    for name in odd_images():
        out.append(
            Case(
                c,
                f"pixels fit: good folder + {name}",
                fit,
                setup=_folder_with([name]),
                expect="ok",
                check=pixel_model_loads("p.npz"),
            )
        )
    for name in odd_entries():
        out.append(
            Case(
                c,
                f"pixels fit: good folder + {name!r}",
                fit,
                setup=_folder_with([name]),
                expect="ok",
                check=pixel_model_loads("p.npz"),
                nobody=name == "unreadable.png",
            )
        )
    for name in [
        "mode-P.png",
        "mode-I16.png",
        "mode-CMYK.jpg",
        "animated.gif",
        "mode-1.png",
        "mode-F.tif",
        "big-1320x1400.jpg",
        "exif-rotated.jpg",
    ]:
        out.append(
            Case(
                c,
                f"pixels fit: only {name}",
                fit,
                setup=_folder_with([name], good=False),
                expect="ok",
                check=pixel_model_loads("p.npz"),
            )
        )
    for name in [
        "bomb-header.png",
        "zero-size.png",
        "text.png",
        "truncated.png",
        "loop.png",
        "dangling.png",
        "fifo.png",
        "dirloop.png",
    ]:
        out.append(
            Case(c, f"pixels fit: only {name}", fit, setup=_folder_with([name], good=False), expect="error")
        )
    out.append(
        Case(c, "pixels fit: empty folder", fit, setup=lambda d, fx: (d / "imgs").mkdir(), expect="error")
    )
    out.append(
        Case(
            c,
            "pixels fit: a file, not a folder",
            ["pixels", "fit", "{fx}/m.json", "-o", "{d}/p.npz"],
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "pixels fit: mixed sizes (--size 33x35)",
            [*fit, "--size", "33x35"],
            setup=_folder_with(["big-1320x1400.png", "tiny-1x1.png"]),
            expect="ok",
            check=pixel_model_loads("p.npz"),
        )
    )
    out.append(
        Case(
            c,
            "pixels fit: under-limit bomb header + good (parts)",
            ["pixels", "fit", "{d}/imgs", "-o", "{d}/p.npz"],
            setup=_folder_with(["under-limit-header.png"]),
            expect="ok",
            check=pixel_model_loads("p.npz"),
        )
    )
    smp = ["pixels", "sample", "{d}/imgs", "-o", "{d}/s", "-n", "2", "-m", "joint"]
    for name in ["mode-LA.png", "animated.png", "loop.png", "narrow-3x4000.png", "mode-P-transparent.png"]:
        out.append(
            Case(
                c,
                f"pixels sample FOLDER: good + {name}",
                smp,
                setup=_folder_with([name]),
                expect="ok",
                check=folder_has("s/grid.png"),
            )
        )
    ev = ["pixels", "evaluate", "{d}/imgs", "-o", "{d}/e", "-n", "2"]
    out.append(
        Case(
            c,
            "pixels evaluate: good + odd modes",
            ev,
            setup=_folder_with(["mode-P.png", "mode-CMYK.jpg", "dangling.png", "text.png"]),
            expect="ok",
            check=folder_has("e/report.html"),
            timeout=240,
        )
    )
    out.append(
        Case(
            c,
            "pixels evaluate: one image only",
            ev,
            setup=lambda d, fx: (
                _folder_with([], good=False)(d, fx),
                shutil.copyfile(fx / "av" / "av0.png", d / "imgs" / "a.png"),
            ),
            expect="error",
            timeout=120,
        )
    )
    out.append(
        Case(
            c,
            "pixels evaluate: six identical images",
            ev,
            setup=lambda d, fx: (
                _folder_with([], good=False)(d, fx),
                [shutil.copyfile(fx / "av" / "av0.png", d / "imgs" / f"a{i}.png") for i in range(6)],
            ),
            expect="any",
            timeout=240,
        )
    )
    out.append(
        Case(
            c,
            "demo --avatars folder with odd files",
            ["demo", "-o", "{d}/demo", "--avatars", "{d}/imgs"],
            setup=_folder_with(["loop.png", "mode-I16.png", "zero-size.png"]),
            expect="ok",
            check=folder_has("demo/report.html"),
            timeout=400,
        )
    )
    return out


def row_cases() -> list[Case]:
    c = "labels and rows"
    out: list[Case] = []
    base = EXAMPLE.read_text(encoding="utf-8")
    head, *rows = base.strip().split("\n")
    fitr = ["styles", "fit", "{d}/t.csv", "-o", "{d}/m.json"]
    good = file_loads_as_style_model("m.json")
    texts: dict[str, tuple[str | bytes, str]] = {
        "UTF-8 BOM": ("\ufeff" + base, "ok"),
        "BOM + CRLF": ("\ufeff" + base.replace("\n", "\r\n"), "ok"),
        "CRLF": (base.replace("\n", "\r\n"), "ok"),
        "CR only (old Mac)": (base.replace("\n", "\r"), "ok"),
        "blank lines between rows": (head + "\n\n" + "\n\n".join(rows) + "\n\n\n", "ok"),
        "whitespace-only lines": (head + "\n" + "\n  \n".join(rows) + "\n", "any"),
        "duplicate rows": (head + "\n" + "\n".join(rows + rows) + "\n", "ok"),
        "every row the same": (head + "\n" + (rows[0] + "\n") * 50, "ok"),
        "one row": (head + "\n" + rows[0] + "\n", "ok"),
        "header only": (head + "\n", "error"),
        "duplicate header": ("a,a\nx,y\n", "error"),
        "header differs by case": ("a,A\nx,y\n", "ok"),
        "empty header cell": ("a,\nx,y\n", "error"),
        "header spaces": (" a , b \nx,y\n", "ok"),
        "Cyrillic header and values": ("причёска,цвет волос\nкаре,рыжий\nнет волос,нет\nкаре,нет\n", "ok"),
        "NUL in a cell": ("a,b\nx\x00y,z\nq,w\n", "any"),
        "NUL in the header": ("a\x00,b\nx,y\n", "any"),
        "a cell of spaces": ("a,b\n   ,y\n", "error"),
        "a missing cell": ("a,b\nx\n", "error"),
        "an extra cell": ("a,b\nx,y,z\n", "error"),
        "quoted newline in a cell": ('a,b\n"x\ny",z\n', "any"),
        "unterminated quote": ('a,b\n"x,y\n', "error"),
        "Latin-1": ("a,b\ncaf\xe9,x\n".encode("latin-1"), "error"),
        "UTF-16": (base.encode("utf-16"), "error"),
        "semicolons": (base.replace(",", ";"), "any"),
        "NA-looking cells": ("a,b\nNA,null\nNaN,None\n", "ok"),
        "numbers as values": ("a,b\n1,2.0\n01,2\n", "ok"),
        "one column": ("a\nx\ny\n", "ok"),
        "zero-width space values": ("a,b\nx\u200b,y\nx,y\n", "any"),
        "RTL and emoji": ("a,b\n\u05d0\u05d1,\U0001f600\n", "ok"),
        "10000 columns in the header": (
            ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("x" * 10_000) + "\n",
            "any",
        ),
        "binary junk": (bytes(range(1, 256)) * 10, "error"),
    }
    for name, (text, expect) in texts.items():
        out.append(
            Case(
                c,
                f"rows CSV: {name}",
                fitr,
                setup=_w("t.csv", text),
                expect=expect,
                check=good if expect == "ok" else None,
                timeout=60,
            )
        )
    out.append(
        Case(
            c,
            "rows TSV with commas in cells",
            ["styles", "fit", "{d}/t.tsv", "-o", "{d}/m.json"],
            setup=_w("t.tsv", "a\tb\nx,1\ty\n"),
            expect="ok",
        )
    )
    out.append(
        Case(
            c,
            "rows CSV named .CSV",
            ["styles", "fit", "{d}/t.CSV", "-o", "{d}/m.json"],
            setup=_w("t.CSV", base),
            expect="ok",
        )
    )
    out.append(
        Case(
            c,
            "rows file .txt",
            ["styles", "fit", "{d}/t.txt", "-o", "{d}/m.json"],
            setup=_w("t.txt", base),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "rows file name not UTF-8",
            ["styles", "fit", "{d}/" + BAD_UTF8 + ".csv", "-o", "{d}/m.json"],
            setup=_w(BAD_UTF8 + ".csv", base),
            expect="ok",
        )
    )
    out.append(
        Case(
            c,
            "rows file missing, name not UTF-8",
            ["styles", "fit", "{d}/" + BAD_UTF8 + "x.csv", "-o", "{d}/m.json"],
            expect="error",
        )
    )
    # parquet
    fitp = ["styles", "fit", "{d}/t.parquet", "-o", "{d}/m.json"]
    for name, make, expect in [
        (
            "ints and floats",
            lambda: __import__("pandas").DataFrame({"a": [1, 2, 1], "b": [0.5, 1.5, 0.5]}),
            "ok",
        ),
        ("a null", lambda: __import__("pandas").DataFrame({"a": ["x", None, "y"]}), "error"),
        ("a NaN", lambda: __import__("pandas").DataFrame({"a": [1.0, float("nan")]}), "error"),
        ("a list column", lambda: __import__("pandas").DataFrame({"a": [[1, 2], [3]]}), "any"),
        ("a dict column", lambda: __import__("pandas").DataFrame({"a": [{"k": 1}, {"k": 2}]}), "any"),
        ("bytes column", lambda: __import__("pandas").DataFrame({"a": [b"\xff", b"x"]}), "any"),
        ("booleans", lambda: __import__("pandas").DataFrame({"a": [True, False]}), "ok"),
        (
            "timestamps",
            lambda: __import__("pandas").DataFrame(
                {"a": __import__("pandas").to_datetime(["2020-01-01", "2021-01-01"])}
            ),
            "ok",
        ),
        (
            "categorical with unused category",
            lambda: __import__("pandas").DataFrame(
                {"a": __import__("pandas").Categorical(["x", "x"], categories=["x", "y"])}
            ),
            "any",
        ),
        (
            "categorical with a null",
            lambda: __import__("pandas").DataFrame({"a": __import__("pandas").Categorical(["x", None])}),
            "error",
        ),
        (
            "zero rows",
            lambda: __import__("pandas").DataFrame({"a": __import__("pandas").Series([], dtype=str)}),
            "error",
        ),
        (
            "integer column names",
            lambda: __import__("pandas").DataFrame({0: ["x"], 1: ["y"]}).rename(columns=str),
            "ok",
        ),
    ]:
        out.append(Case(c, f"rows Parquet: {name}", fitp, setup=_parquet(make), expect=expect))
    out.append(
        Case(c, "rows Parquet: a CSV named .parquet", fitp, setup=_w("t.parquet", base), expect="error")
    )
    out.append(Case(c, "rows Parquet: duplicate column names", fitp, setup=_dup_parquet, expect="error"))
    # experiments on odd rows (the heavier consumer of the same loader)
    exp = ["styles", "experiment", "{d}/t.csv", "-o", "{d}/x"]
    for name in ["one row", "every row the same", "one column", "UTF-8 BOM"]:
        text = texts[name][0]
        out.append(
            Case(c, f"styles experiment on: {name}", exp, setup=_w("t.csv", text), expect="any", timeout=240)
        )
    out.append(
        Case(
            c,
            "styles experiment on counts",
            ["styles", "experiment", "{fx}/counts.json", "-o", "{d}/x"],
            expect="any",
            timeout=240,
        )
    )
    return out


def _parquet(make: Callable[[], Any]) -> Callable[[Path, Path], None]:
    def setup(d: Path, fx: Path) -> None:
        make().to_parquet(d / "t.parquet")

    return setup


def _dup_parquet(d: Path, fx: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([pa.array(["x", "y"]), pa.array(["u", "v"])], names=["a", "a"]), d / "t.parquet")


# every command that writes, as (name, argv with {o} for the output, "file" or "dir", timeout)
WRITERS: list[tuple[str, list[str], str, float]] = [
    ("styles fit", ["styles", "fit", "{fx}/styles.csv", "-o", "{o}"], "file", 60),
    ("styles sample", ["styles", "sample", "{fx}/m.json", "-n", "3", "-o", "{o}"], "file", 60),
    ("styles explain", ["styles", "explain", "{fx}/m.json", "-o", "{o}"], "file", 60),
    ("styles experiment", ["styles", "experiment", "{fx}/counts.json", "-o", "{o}"], "dir", 240),
    ("avatars draw", ["avatars", "draw", "{fx}/m.json", "-n", "2", "-o", "{o}"], "dir", 60),
    ("avatars render", ["avatars", "render", "hairstyle=bob", "-o", "{o}.svg"], "file", 60),
    ("pixels fit", ["pixels", "fit", "{fx}/av", "-m", "literal", "-o", "{o}"], "file", 60),
    ("pixels sample", ["pixels", "sample", "{fx}/literal.npz", "-n", "2", "-o", "{o}"], "dir", 60),
    ("pixels evaluate", ["pixels", "evaluate", "{fx}/av", "-n", "2", "-o", "{o}"], "dir", 240),
    ("demo", ["demo", "-o", "{o}"], "dir", 400),
]
FAST_WRITERS = {
    "styles fit",
    "styles sample",
    "styles explain",
    "avatars draw",
    "avatars render",
    "pixels fit",
    "pixels sample",
}


def _argv_out(argv: list[str], o: str) -> list[str]:
    return [a.replace("{o}", o) for a in argv]


def output_cases() -> list[Case]:
    c = "outputs"
    out: list[Case] = []
    for name, argv, kind, timeout in WRITERS:
        first = len(out)
        fast = name in FAST_WRITERS
        sfx = ".svg" if name == "avatars render" else ""

        def ro(d: Path, fx: Path) -> None:
            (d / "ro").mkdir()
            os.chmod(d / "ro", 0o555)
            os.chmod(d, 0o777)

        out.append(
            Case(
                c,
                f"{name}: read-only folder",
                _argv_out(argv, "{d}/ro/x"),
                setup=ro,
                expect="error",
                nobody=True,
            )
        )
        out.append(
            Case(
                c,
                f"{name}: read-only folder, deeper",
                _argv_out(argv, "{d}/ro/new/x"),
                setup=ro,
                expect="error",
                nobody=True,
            )
        )
        out.append(
            Case(
                c,
                f"{name}: parent is a file",
                _argv_out(argv, "{d}/f/x"),
                setup=_w("f", "mine"),
                expect="error",
            )
        )
        out.append(Case(c, f"{name}: 300-character name", _argv_out(argv, "{d}/" + LONG), expect="error"))
        out.append(
            Case(
                c,
                f"{name}: 300-character folder in the path",
                _argv_out(argv, "{d}/" + LONG + "/x"),
                expect="error",
            )
        )
        onto_dir = _w("t" + sfx + "/keep.txt", "mine")
        onto_file = _w("t" + sfx, "mine")
        if kind == "file":
            out.append(
                Case(c, f"{name}: onto a folder", _argv_out(argv, "{d}/t"), setup=onto_dir, expect="error")
            )
            out.append(
                Case(
                    c,
                    f"{name}: onto a folder --force",
                    [*_argv_out(argv, "{d}/t"), "--force"],
                    setup=onto_dir,
                    expect="error",
                )
            )
            out.append(
                Case(c, f"{name}: onto a file", _argv_out(argv, "{d}/t"), setup=onto_file, expect="error")
            )
            if fast:
                out.append(
                    Case(
                        c,
                        f"{name}: onto a file --force",
                        [*_argv_out(argv, "{d}/t"), "--force"],
                        setup=onto_file,
                        expect="ok",
                    )
                )
                out.append(Case(c, f"{name}: trailing slash", _argv_out(argv, "{d}/t/"), expect="any"))
        else:
            out.append(
                Case(c, f"{name}: onto a file", _argv_out(argv, "{d}/t"), setup=onto_file, expect="error")
            )
            out.append(
                Case(
                    c,
                    f"{name}: onto a file --force",
                    [*_argv_out(argv, "{d}/t"), "--force"],
                    setup=onto_file,
                    expect="error",
                )
            )
            out.append(
                Case(
                    c,
                    f"{name}: onto a non-empty folder",
                    _argv_out(argv, "{d}/t"),
                    setup=onto_dir,
                    expect="error",
                )
            )
            if fast:
                out.append(
                    Case(
                        c,
                        f"{name}: onto a non-empty folder --force",
                        [*_argv_out(argv, "{d}/t"), "--force"],
                        setup=onto_dir,
                        expect="ok",
                        check=lambda d, o: None if not (d / "t" / "keep.txt").exists() else "old file kept",
                    )
                )
                out.append(
                    Case(
                        c,
                        f"{name}: onto an empty folder",
                        _argv_out(argv, "{d}/t"),
                        setup=lambda d, fx: (d / "t").mkdir(),
                        expect="ok",
                    )
                )
        out.append(
            Case(
                c,
                f"{name}: onto a FIFO --force",
                [*_argv_out(argv, "{d}/fifo"), "--force"],
                setup=lambda d, fx, sfx=sfx: os.mkfifo(d / ("fifo" + sfx)),
                expect="error",
                timeout=30,
            )
        )
        out.append(
            Case(
                c,
                f"{name}: through a dangling link",
                _argv_out(argv, "{d}/dl/x"),
                setup=lambda d, fx: (d / "dl").symlink_to(d / "missing"),
                expect="error",
            )
        )
        if fast:
            out.append(Case(c, f"{name}: name not UTF-8", _argv_out(argv, "{d}/" + BAD_UTF8), expect="ok"))
            out.append(Case(c, f"{name}: Cyrillic name", _argv_out(argv, "{d}/вывод"), expect="ok"))
            out.append(Case(c, f"{name}: name with a newline", _argv_out(argv, "{d}/a\nb"), expect="ok"))
        for case in out[first:]:
            case.timeout = max(case.timeout, timeout)
    # output inside (or equal to) the input
    out.append(
        Case(
            c,
            "pixels sample FOLDER -o FOLDER --force (output replaces the input)",
            ["pixels", "sample", "{d}/imgs", "-o", "{d}/imgs", "-n", "2", "-m", "literal", "--force"],
            setup=_folder_with([]),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "pixels evaluate FOLDER -o FOLDER --force",
            ["pixels", "evaluate", "{d}/imgs", "-o", "{d}/imgs", "-n", "2", "--force"],
            setup=_folder_with([]),
            expect="error",
            timeout=240,
        )
    )
    out.append(
        Case(
            c,
            "pixels evaluate FOLDER -o PARENT --force",
            ["pixels", "evaluate", "{d}/p/imgs", "-o", "{d}/p", "-n", "2", "--force"],
            setup=lambda d, fx: (d / "p").mkdir() or _folder_with([])(d / "p", fx),
            expect="error",
            timeout=240,
        )
    )
    out.append(
        Case(
            c,
            "pixels sample FOLDER -o FOLDER/sub",
            ["pixels", "sample", "{d}/imgs", "-o", "{d}/imgs/sub", "-n", "2", "-m", "literal"],
            setup=_folder_with([]),
            expect="ok",
        )
    )
    out.append(
        Case(
            c,
            "pixels fit FOLDER -o FOLDER/model.npz",
            ["pixels", "fit", "{d}/imgs", "-o", "{d}/imgs/m.npz", "-m", "literal"],
            setup=_folder_with([]),
            expect="ok",
            check=pixel_model_loads("imgs/m.npz"),
        )
    )
    out.append(
        Case(
            c,
            "styles fit DATA -o DATA --force (output replaces the input)",
            ["styles", "fit", "{d}/t.csv", "-o", "{d}/t.csv", "--force"],
            setup=_w("t.csv", EXAMPLE.read_text()),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "styles sample MODEL -o MODEL --force (output replaces the input)",
            ["styles", "sample", "{d}/m.json", "-o", "{d}/m.json", "--force"],
            setup=lambda d, fx: shutil.copyfile(fx / "m.json", d / "m.json"),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "styles experiment DATA -o DATA's folder --force",
            ["styles", "experiment", "{d}/x/c.json", "-o", "{d}/x", "--force"],
            setup=lambda d, fx: ((d / "x").mkdir(), shutil.copyfile(fx / "counts.json", d / "x" / "c.json")),
            expect="error",
            timeout=240,
        )
    )
    out.append(
        Case(
            c,
            "avatars draw MODEL -o MODEL's folder --force",
            ["avatars", "draw", "{d}/x/m.json", "-o", "{d}/x", "--force", "-n", "1"],
            setup=lambda d, fx: ((d / "x").mkdir(), shutil.copyfile(fx / "m.json", d / "x" / "m.json")),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "demo --styles DATA -o DATA's folder --force",
            ["demo", "--styles", "{d}/x/t.csv", "-o", "{d}/x", "--force"],
            setup=lambda d, fx: ((d / "x").mkdir(), shutil.copyfile(fx / "styles.csv", d / "x" / "t.csv")),
            expect="error",
            timeout=400,
        )
    )
    out.append(
        Case(
            c,
            "pixels sample MODEL -o MODEL (file) --force",
            ["pixels", "sample", "{d}/m.npz", "-o", "{d}/m.npz", "--force", "-n", "1"],
            setup=lambda d, fx: shutil.copyfile(fx / "literal.npz", d / "m.npz"),
            expect="error",
        )
    )
    out.append(
        Case(
            c,
            "styles sample -o /dev/full",
            ["styles", "sample", "{fx}/m.json", "-o", "/dev/full"],
            expect="error",
        )
    )
    return out


def interruption_cases() -> list[Case]:
    c = "interruption"
    out: list[Case] = []
    jobs = [
        ("avatars draw -n 300", ["avatars", "draw", "{fx}/m.json", "-n", "300", "-o", "{d}/out"], "{d}"),
        ("pixels sample -n 400", ["pixels", "sample", "{fx}/parts.npz", "-n", "400", "-o", "{d}/out"], "{d}"),
        ("pixels evaluate", ["pixels", "evaluate", "{fx}/av", "-n", "3", "-o", "{d}/out"], "{d}"),
        ("styles experiment", ["styles", "experiment", "{fx}/styles.csv", "-o", "{d}/out"], "{d}"),
        ("demo", ["demo", "-o", "{d}/out"], "{d}"),
        (
            "styles sample -n 100000 -o file",
            ["styles", "sample", "{fx}/m.json", "-n", "100000", "--format", "csv", "-o", "{d}/out.csv"],
            "{d}",
        ),
    ]
    for name, argv, watch in jobs:
        for sig in (signal.SIGINT, signal.SIGTERM):
            out.append(
                Case(c, f"{sig.name} while '{name}' writes", argv, signal_after=(sig, watch), timeout=300)
            )
    # --force replacement interrupted keeps the old output
    out.append(
        Case(
            c,
            "SIGTERM while 'avatars draw --force' replaces a run",
            ["avatars", "draw", "{fx}/m.json", "-n", "300", "-o", "{d}/out", "--force"],
            setup=_w("out/keep.txt", "old run"),
            signal_after=(signal.SIGTERM, "{d}"),
            timeout=300,
            check=lambda d, o: (
                None
                if (d / "out" / "keep.txt").exists() or (d / "out" / "grid.png").exists()
                else "the old run was lost and no new one written"
            ),
        )
    )
    return out


def service_cases() -> list[Case]:
    c = "service"
    out: list[Case] = []

    def get(url: str, expect: str = "any", **kw: Any) -> None:
        out.append(Case(c, f"GET {url[:90]}", http=("GET", url, kw), expect=expect, timeout=60))

    for ep in ["/v1/avatar.svg", "/v1/avatar.png", "/v1/style"]:
        for q in [
            "seed=-1",
            f"seed={2**32}",
            f"seed={2**64}",
            "seed=1e3",
            "seed=nan",
            "seed=abc",
            "seed=0x10",
            "seed=",
            "seed=1&seed=2",
            "seed=%00",
            "seed=" + "9" * 5000,
        ]:
            get(f"{ep}?{q}", "error")
        get(f"{ep}?foo=bar", "error")
        get(f"{ep}?%D0%BF%D1%80%D0%B8%D1%87%D0%B5%D1%81%D0%BA%D0%B0=%D0%BA%D0%B0%D1%80%D0%B5", "error")
        get(f"{ep}?hairstyle=%D0%BA%D0%B0%D1%80%D0%B5", "error")
        get(f"{ep}?hairstyle=bob%00", "error")
        get(f"{ep}?hairstyle=bob&hairstyle=bob", "any")
        get(f"{ep}?hairstyle=bob&hairstyle=long", "error")
        get(f"{ep}?hairstyle=", "error")
        get(f"{ep}?=bob", "any")
        get(f"{ep}?hairstyle=none&hair_color=blonde", "error")
        get(f"{ep}?HAIRSTYLE=BOB", "any")
        get(f"{ep}?" + "&".join(f"p{i}=x" for i in range(2000)), "error")
        get(f"{ep}?%ff%fe=x", "error")
        get(f"{ep}?a%0Ab=x", "error")
        get(f"{ep}?hairstyle=a%0D%0Ab", "error")
        get(f"{ep}?hairstyle=%ff", "error")
        get(f"{ep}?" + "&".join(_full_style()), "ok")
    for ep in ["/v1/avatar.svg", "/v1/avatar.png"]:
        for q in [
            "size=99999x99999",
            "size=0x0",
            "size=nanx",
            "size=infx",
            "size=1e308x",
            "size=-1x5",
            "size=",
            "size=%00",
            "size=x",
            f"size={2**64}x4",
            "size=1024x1024",
            "size=8x8",
            "size=7x8",
            "size=4x",
            "size=1x&size=2x",
            "size=1e-9x",
        ]:
            get(
                f"{ep}?{q}",
                "ok" if q in ("size=1024x1024", "size=8x8") else ("error" if q == "size=4x" else "any"),
            )
    for q in [
        "",
        "query=",
        "query=nope",
        "query=%D0%BF",
        "query=hairstyle&hairstyle=bob",
        "query=eyes&query=mouth",
        "query=eyes&hairstyle=none&hair_color=blonde",
        "query=eyes&nope=1",
        "query=eyes",
    ]:
        get(f"/v1/posterior?{q}", "ok" if q == "query=eyes" else "any")
    for q in [
        "n=-1",
        "n=1001",
        f"n={10**30}",
        "n=nan",
        "n=1.5",
        "unique=maybe",
        "unique=2",
        "n=0",
        "n=1000&unique=true",
        "n=5&unique=1&" + "&".join(_full_style()),
        "seed=-1",
    ]:
        get(f"/v1/sample?{q}", "ok" if q in ("n=0",) else "any")
    for q in ["k=-1", "k=101", f"k={10**30}", "k=0", "k=100"]:
        get(f"/v1/most-probable?{q}", "any")
    for q in ["", "hairstyle=none&hair_color=blonde", "nope=x"]:
        get(f"/v1/marginals?{q}", "any")
    for url in [
        "/v1/schema",
        "/",
        "/healthz",
        "/metrics",
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/nope",
        "/v1/avatar.gif",
        "/docs",
        "/openapi.json",
    ]:
        get(url)

    # POST bodies
    def post(name: str, expect: str = "any", **kw: Any) -> None:
        out.append(
            Case(c, f"POST /v1/probability {name}", http=("POST", "/v1/probability", kw), expect=expect)
        )

    full = dict(kv.split("=", 1) for kv in _full_style())
    post("a full style", "ok", json={"style": full})
    post("a partial style", "ok", json={"style": {"hairstyle": "bob"}})
    post("an empty style", "any", json={"style": {}})
    post("malformed JSON", "error", content=b"{nope", headers={"content-type": "application/json"})
    post("empty body", "error", content=b"", headers={"content-type": "application/json"})
    post("huge body (200 KB)", "error", json={"style": {f"k{i}": "x" * 10 for i in range(10_000)}})
    post(
        "nested 30000 levels (under the size limit)",
        "error",
        content=b"[" * 30_000 + b"]" * 30_000,
        headers={"content-type": "application/json"},
    )
    post(
        "nested objects 10000 levels",
        "error",
        content=b'{"style":' * 10_000 + b"1" + b"}" * 10_000,
        headers={"content-type": "application/json"},
    )
    post("style a list", "error", json={"style": ["hairstyle", "bob"]})
    post("style values numbers", "any", json={"style": {"hairstyle": 5}})
    post("style values null", "error", json={"style": {"hairstyle": None}})
    post("style value nested", "error", json={"style": {"hairstyle": {"a": 1}}})
    post("unknown attribute", "error", json={"style": {"nope": "x"}})
    post("Cyrillic attribute", "error", json={"style": {"прическа": "каре"}})
    post("unknown top-level key", "any", json={"style": {"hairstyle": "bob"}, "extra": 1})
    post(
        "duplicate key in style",
        "error",
        content=b'{"style": {"hairstyle": "bob", "hairstyle": "long"}}',
        headers={"content-type": "application/json"},
    )
    post("NaN literal", "error", content=b'{"style": NaN}', headers={"content-type": "application/json"})
    post(
        "text/plain",
        "any",
        content=json.dumps({"style": {"hairstyle": "bob"}}).encode(),
        headers={"content-type": "text/plain"},
    )
    post(
        "not UTF-8",
        "error",
        content=b'{"style": {"hairstyle": "\xff"}}',
        headers={"content-type": "application/json"},
    )
    post(
        "Content-Length lies (short)",
        "error",
        content=b'{"style": {}}',
        headers={"content-type": "application/json", "content-length": "abc"},
    )
    post("a bare string", "error", json="style")
    post("impossible style", "any", json={"style": {"hairstyle": "none", "hair_color": "blonde"}})
    out.append(Case(c, "POST /v1/avatar.svg", http=("POST", "/v1/avatar.svg", {"json": {}}), expect="error"))
    out.append(Case(c, "DELETE /v1/schema", http=("DELETE", "/v1/schema", {}), expect="error"))
    out.append(
        Case(
            c,
            "chunked POST without length",
            http=(
                "POST",
                "/v1/probability",
                {"content": iter([b'{"style":', b"{}}"]), "headers": {"content-type": "application/json"}},
            ),
            expect="error",
        )
    )
    # the serve command itself (refusals before listening)
    for name, argv in [
        ("model missing", ["serve", "{d}/none.json"]),
        ("a folder", ["serve", "{fx}/av"]),
        ("a pixel model", ["serve", "{fx}/parts.npz"]),
        ("mapping missing", ["serve", "{fx}/m.json", "--mapping", "{d}/none.yaml"]),
        ("mapping not covering", ["serve", "{fx}/m.json", "--mapping", "course_ru"]),
        ("host not local", ["serve", "{fx}/m.json", "--host", "203.0.113.9", "--port", "8999"]),
        ("host garbage", ["serve", "{fx}/m.json", "--host", "no such host!", "--port", "8999"]),
    ]:
        out.append(Case(c, f"serve: {name}", argv, expect="error", timeout=30))
    return out


def all_cases() -> list[Case]:
    return [
        *number_cases(),
        *structure_cases(),
        *model_file_cases(),
        *image_cases(),
        *row_cases(),
        *output_cases(),
        *interruption_cases(),
        *service_cases(),
    ]


# ======================================================================================== runner


def _fmt(items: list[str], d: Path, fx: Path) -> list[str]:
    return [a.replace("{fx}", str(fx)).replace("{d}", str(d)) for a in items]


def _snapshot(d: Path) -> dict[str, tuple[bool, int, int]]:
    out: dict[str, tuple[bool, int, int]] = {}
    for root, dirs, files in os.walk(d, followlinks=False):
        for n in dirs + files:
            p = Path(root) / n
            try:
                st = p.lstat()
            except OSError:
                continue
            out[str(p.relative_to(d))] = (p.is_dir() and not p.is_symlink(), st.st_size, st.st_mtime_ns)
    return out


def _leftover_tmp(d: Path) -> list[str]:
    return [
        str(Path(r, n).relative_to(d))
        for r, ds, fs in os.walk(d)
        for n in ds + fs
        if n.startswith(".") and n.endswith(".tmp")
    ]


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(argv: list[str], d: Path, log: Path, nobody: bool, mem: int) -> None:
    """In the forked child: redirect output, limit memory, drop privileges, run the CLI, exit."""
    code = 99
    try:
        fo = os.open(log.with_suffix(".out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        fe = os.open(log.with_suffix(".err"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.dup2(fo, 1)
        os.dup2(fe, 2)
        # new streams on fds 1 and 2, as a fresh process has (under pytest sys.stdout is its capture)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
        os.chdir(d)
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        if nobody and os.geteuid() == 0:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        from avatargen.cli import app
        from sharedcore.console import run_cli

        run_cli(app, "avatargen", argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 98
    except BaseException:
        traceback.print_exc()
        code = 97
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _classify_cli(
    case: Case,
    rc: int | None,
    out: str,
    err: str,
    d: Path,
    before: dict[str, Any],
    leftovers: list[str],
    hung: bool,
) -> tuple[str, str]:
    lines = [x for x in err.replace("\r", "\n").split("\n") if x.strip()]
    last = lines[-1] if lines else ""
    if hung:
        return "DEFECT", f"hang: still running after {case.timeout:.0f} s"
    if "Traceback" in err or "internal error" in err:
        what = "MemoryError (memory blow-up)" if "MemoryError" in err else "traceback / last-resort handler"
        return "DEFECT", f"{what}: {last[:300]}"
    if rc is not None and rc < 0:
        return "DEFECT", f"killed by signal {-rc} (memory limit or crash)"
    if leftovers:
        return "DEFECT", f"temporary files left: {leftovers[:3]}"
    if rc == 0:
        if case.expect == "error":
            return "DEFECT", f"silently accepted (exit 0): {out.strip()[-200:]!r}"
        if case.check is not None:
            why = case.check(d, out)
            if why:
                return "DEFECT", f"wrong result: {why}"
        return "ok", out.strip().split("\n")[-1][:160] if out.strip() else ""
    if rc == 2:
        if not (last.startswith("avatargen") and ": error: " in last):
            return "DEFECT", f"exit 2 without a one-line error: {err[-300:]!r}"
        changed = {k for k, v in _snapshot(d).items() if before.get(k) != v}
        if changed:
            return "DEFECT", f"refused, but changed/left files: {sorted(changed)[:3]}; {last[:200]}"
        if case.expect == "ok":
            return "DEFECT", f"refused a valid input: {last[:300]}"
        if case.err_has is not None and case.err_has not in last:
            return (
                "DEFECT" if case.expect == "error" else "error"
            ), f"refused for another reason: {last[:300]}"
        return "error", last[:300]
    return "DEFECT", f"exit code {rc}: {last[:300]}"


def run_cli_case(case: Case, d: Path, fx: Path, logs: Path, mem: int) -> Outcome:
    assert case.argv is not None
    argv = _fmt(case.argv, d, fx)
    if case.nobody:
        os.chmod(d, 0o777)
    before = _snapshot(d)
    log = logs / d.name
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        _child(argv, d, log, case.nobody, mem)
    rc: int | None = None
    hung = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() - t0 > case.timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            hung = True
            break
        time.sleep(0.01)
    secs = time.perf_counter() - t0
    out = log.with_suffix(".out").read_text(encoding="utf-8", errors="replace")
    err = log.with_suffix(".err").read_text(encoding="utf-8", errors="replace")
    kind, detail = _classify_cli(case, rc, out, err, d, before, _leftover_tmp(d), hung)
    return Outcome(case, kind, detail, secs)


def run_signal_case(case: Case, d: Path, fx: Path) -> Outcome:
    assert case.argv is not None and case.signal_after is not None
    sig, _watch = case.signal_after
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatargen", *_fmt(case.argv, d, fx)],
        cwd=d,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_signals,  # SIGINT may be ignored by the suite (nohup, a background job)
    )
    sent = False
    while proc.poll() is None and time.perf_counter() - t0 < case.timeout:
        if _leftover_tmp(d):
            time.sleep(0.3)  # well inside the writing
            proc.send_signal(sig)
            sent = True
            break
        time.sleep(0.02)
    try:
        out, err_b = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return Outcome(case, "DEFECT", f"hang after {sig.name}", time.perf_counter() - t0)
    err = err_b.decode(errors="replace")
    secs = time.perf_counter() - t0
    left = _leftover_tmp(d)
    want = 130 if sig == signal.SIGINT else 143
    if "Traceback" in err or "internal error" in err:
        return Outcome(case, "DEFECT", f"traceback on {sig.name}: {err.strip().splitlines()[-1][:200]}", secs)
    if left:
        return Outcome(case, "DEFECT", f"{sig.name} left temporary files: {left[:3]}", secs)
    if case.check is not None and (why := case.check(d, out.decode(errors="replace"))):
        return Outcome(case, "DEFECT", why, secs)
    if not sent:
        return Outcome(
            case,
            "ok" if proc.returncode == 0 else "DEFECT",
            f"finished (exit {proc.returncode}) before any temporary output appeared",
            secs,
        )
    if proc.returncode == -sig and b"wrote" in out:  # the signal came as the finished command exited
        return Outcome(case, "ok", f"the output was complete; {sig.name} came during interpreter exit", secs)
    if proc.returncode == 0:  # the signal came after the command's own handling ended: a finished result
        return Outcome(case, "ok", f"finished (exit 0); {sig.name} came as it exited", secs)
    if proc.returncode not in (want, 0):
        return Outcome(
            case, "DEFECT", f"exit {proc.returncode} after {sig.name}, {want} expected: {err[-200:]!r}", secs
        )
    partial = [p for p in ("out", "out.csv") if (d / p).exists()]
    if proc.returncode == want and partial and not (d / "out" / "keep.txt").exists():
        return Outcome(case, "DEFECT", f"{sig.name}: a half-written output is left: {partial}", secs)
    return Outcome(
        case,
        "error",
        f"exit {proc.returncode}, nothing left behind: {(err.strip().splitlines() or [''])[-1][:120]}",
        secs,
    )


def run_http_case(case: Case, client: Any) -> Outcome:
    assert case.http is not None
    method, url, kw = case.http
    t0 = time.perf_counter()
    try:
        r = client.request(method, url, **kw)
    except Exception as exc:
        return Outcome(
            case, "DEFECT", f"exception: {type(exc).__name__}: {exc}"[:300], time.perf_counter() - t0
        )
    secs = time.perf_counter() - t0
    if secs > case.timeout:
        return Outcome(case, "DEFECT", f"answer took {secs:.0f} s", secs)
    if r.status_code >= 500:
        return Outcome(case, "DEFECT", f"HTTP {r.status_code}: {r.text[:200]}", secs)
    if r.status_code >= 400:
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("message"), str) or "\n" in body["message"]:
            return Outcome(
                case,
                "DEFECT",
                f"HTTP {r.status_code} without a one-line JSON message: {r.text[:200]!r}",
                secs,
            )
        if case.expect == "ok":
            return Outcome(
                case, "DEFECT", f"refused a valid request: {r.status_code} {body['message'][:200]}", secs
            )
        return Outcome(case, "error", f"{r.status_code} {body.get('error')}: {body['message'][:200]}", secs)
    if case.expect == "error":
        return Outcome(case, "DEFECT", f"silently accepted: HTTP {r.status_code} {r.text[:150]!r}", secs)
    return Outcome(case, "ok", f"HTTP {r.status_code}", secs)


def _warm_imports() -> None:
    """Import what the commands import, once, before any child is forked (a case costs milliseconds)."""
    import importlib.readers
    import importlib.resources.readers  # noqa: F401

    import avatargen.demo
    import avatargen.serve.main
    import avatargen.styles.experiment  # noqa: F401
    from avatargen.cli import app  # noqa: F401


@dataclass
class Bench:
    """Where cases run: the shared fixtures, one folder per case, the children's logs, their memory cap."""

    root: Path
    mem: int
    client: Any = None  # the HTTP cases' TestClient, made at the first one

    @property
    def fx(self) -> Path:
        return self.root / "fx"

    @property
    def crash(self) -> Path:
        return self.root / "crash"  # the cases' bug reports (a crash is seen on stderr as well)

    @classmethod
    def build(cls, root: Path) -> Bench:
        _warm_imports()
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        build_fixtures(root / "fx")
        for sub in ("cases", "logs"):
            (root / sub).mkdir()
        os.chmod(root / "cases", 0o755)
        return cls(root, _vm_size() + MEM_EXTRA)

    def run(self, i: int, case: Case) -> Outcome:
        """Run one case in its own folder ``cases/NNNN``; the caller points SHAREDCORE_CRASH_DIR at ``crash``."""
        d = self.root / "cases" / f"{i:04d}"
        d.mkdir()
        os.chmod(d, 0o755)
        try:
            if case.setup is not None:
                case.setup(d, self.fx)
        except Exception as exc:
            return Outcome(case, "SETUP", f"{type(exc).__name__}: {exc}")
        if case.http is not None:
            if self.client is None:
                from fastapi.testclient import TestClient

                from avatargen.serve.main import create_app
                from avatargen.serve.service import StyleService
                from avatargen.styles.model import StyleModel

                self.client = TestClient(
                    create_app(StyleService(StyleModel.load(self.fx / "m.json"))),
                    raise_server_exceptions=False,
                )
            return run_http_case(case, self.client)
        if case.signal_after is not None:
            return run_signal_case(case, d, self.fx)
        return run_cli_case(case, d, self.fx, self.root / "logs", self.mem)


def ordered_cases(select: str | None = None) -> list[Case]:
    """Every case (those whose 'class: name' holds ``select``): commands, then interruptions, then HTTP."""
    cases = [c for c in all_cases() if select is None or select.lower() in f"{c.cls}: {c.name}".lower()]
    return (
        [c for c in cases if c.argv and not c.signal_after]
        + [c for c in cases if c.signal_after]
        + [c for c in cases if c.http]
    )


def run_sweep(root: Path, select: str | None = None, verbose: bool = False) -> Sweep:
    """Run every case (those whose name holds ``select``) under ``root``; return the outcomes."""
    bench = Bench.build(root)
    crash_env = os.environ.get("SHAREDCORE_CRASH_DIR")
    os.environ["SHAREDCORE_CRASH_DIR"] = str(bench.crash)  # the cases' bug reports; restored below
    try:
        sweep = Sweep()
        for i, case in enumerate(ordered_cases(select)):
            o = bench.run(i, case)
            sweep.outcomes.append(o)
            with (root / "results.jsonl").open("a", encoding="utf-8") as fh:
                row = {"i": i, "kind": o.kind, "cls": case.cls, "name": case.name, "detail": o.detail}
                fh.write(json.dumps({**row, "s": round(o.seconds, 2)}, ensure_ascii=False) + "\n")
            if verbose or o.kind in ("DEFECT", "SETUP"):
                print(
                    f"[{i:4d}] {o.kind:6s} {o.seconds:6.1f}s {case.cls}: {case.name!r} -> {o.detail}",
                    flush=True,
                )
        return sweep
    finally:
        if crash_env is None:
            os.environ.pop("SHAREDCORE_CRASH_DIR", None)
        else:
            os.environ["SHAREDCORE_CRASH_DIR"] = crash_env


def table(sweep: Sweep) -> str:
    by: dict[str, Counter[str]] = {}
    for o in sweep.outcomes:
        by.setdefault(o.case.cls, Counter())[o.kind] += 1
    rows = ["| class | cases | ok | one-line error / JSON 4xx | DEFECT |", "|---|---|---|---|---|"]
    for cls, cnt in by.items():
        rows.append(
            f"| {cls} | {sum(cnt.values())} | {cnt['ok']} | {cnt['error']} | {cnt['DEFECT'] + cnt['SETUP']} |"
        )
    t = sweep.counts()
    rows.append(
        f"| **all** | {len(sweep.outcomes)} | {t['ok']} | {t['error']} | {t['DEFECT'] + t['SETUP']} |"
    )
    return "\n".join(rows)


# ========================================================================================= tests
# One test per case, named "class: name", so that each failing case is reported by its own name; the
# fixtures are built once per test process (each xdist worker has its own folder).

CASES = list(enumerate(ordered_cases()))


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    tmp = Path(tempfile.mkdtemp(prefix="avatargen-sweep-"))  # not tmp_path: uid 65534 must reach it
    os.chmod(tmp, 0o755)
    try:
        yield Bench.build(tmp / "sweep")
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(tmp)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_sweep_holds_several_hundred_cases() -> None:
    assert len(CASES) >= 400
    assert {c.cls for _, c in CASES} >= {
        "numbers out of range",
        "damaged model files",
        "interruption",
        "service",
    }


def _marks(case: Case) -> list[pytest.MarkDecorator]:
    # minutes in all (a forked command each, several hundred); the interruptions start a real
    # interpreter and wait for it to be mid-write: seconds each
    return [pytest.mark.slow, pytest.mark.subprocess] if case.signal_after else [pytest.mark.slow]


@pytest.mark.parametrize(
    ("i", "case"), [pytest.param(i, c, id=f"{c.cls}: {c.name}", marks=_marks(c)) for i, c in CASES]
)
def test_case(bench: Bench, i: int, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAREDCORE_CRASH_DIR", str(bench.crash))  # the cases' own bug reports
    o = bench.run(i, case)
    assert o.kind in ("ok", "error"), f"{o.kind} ({o.seconds:.1f} s): {o.detail}"


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", default=None, help="run only cases whose 'class: name' holds this text")
    ap.add_argument("-v", action="store_true", help="print every outcome, not only defects")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ns = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="avatargen-sweep-"))
    os.chmod(tmp, 0o755)  # the cases run as uid 65534 must reach the fixtures
    try:
        result = run_sweep(tmp / "sweep", ns.k, ns.v)
        print(table(result))
    finally:
        if ns.keep:
            print(f"kept {tmp}")
        else:
            subprocess.run(["chmod", "-R", "u+rwx", str(tmp)], check=False)
            shutil.rmtree(tmp, ignore_errors=True)
