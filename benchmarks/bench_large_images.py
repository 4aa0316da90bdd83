"""Peak memory of loading a folder of large PNGs (12000x12000, under Pillow's bomb limit) at a small size.

Makes the folder itself (a temporary directory), then measures each loader in a fresh subprocess
(peak RSS: VmHWM after resetting it via /proc/self/clear_refs, minus the RSS before loading;
Linux only):

- baseline ``full decode`` (what sharedcore.images did before issue 10): decode, copy, convert the
  whole image, then resize -- one image at a time;
- baseline ``keep all`` (what ``pixels fit`` did): every image decoded at full size and kept, then
  resized to the common size;
- ``load_array(size=)``: declared size checked, decoded, reduced band by band, converted, resized;
- ``decode_array`` (spillguard's decode path) on the encoded bytes;
- the CLI ``avatargen pixels fit FOLDER --size 264x280`` (whole command, peak RSS of the process).

Usage: .venv/bin/python benchmarks/bench_large_images.py [--n 3] [--side 12000] [--mode RGBA]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_MEASURE = r"""
import json, sys, time
from pathlib import Path
import numpy as np
from PIL import Image
from sharedcore import images
Image.MAX_IMAGE_PIXELS = None if {nobomb} else Image.MAX_IMAGE_PIXELS
paths = sorted(Path({folder!r}).glob("*.png"))
size = (264, 280)

def old_open(p, mode):  # sharedcore.images.open_image before issue 10
    with Image.open(p) as im:
        im.load()
        img = im.copy()
    return images.convert_mode(img, mode)

def run():
    method = {method!r}
    if method == "full decode":
        return [np.asarray(old_open(p, "RGB").resize(size, Image.Resampling.BILINEAR)) for p in paths]
    if method == "keep all":
        pil = [old_open(p, "RGBA") for p in paths]
        return [np.asarray(im.resize(size, Image.Resampling.BILINEAR)) for im in pil]
    if method == "load_array":
        return [images.load_array(p, "RGB", size=size) for p in paths]
    if method == "decode_array":
        return [images.decode_array(p.read_bytes(), size, "RGB") for p in paths]
    raise SystemExit(method)

def status(key):  # kB figures of this process from /proc (VmHWM is the peak since clear_refs)
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS")
t0 = time.perf_counter()
arrays = run()
seconds = time.perf_counter() - t0
peak = status("VmHWM")
print(json.dumps({{"before_mb": before / 1024, "peak_mb": peak / 1024, "seconds": seconds,
                  "shape": list(arrays[0].shape)}}))
"""


def make_folder(folder: Path, n: int, side: int, mode: str) -> None:
    """``n`` PNGs of side x side in ``mode``, a smooth picture with some structure (fast to encode)."""
    import numpy as np
    from PIL import Image

    x = np.arange(side, dtype=np.uint16)
    row = (x % 256).astype(np.uint8)
    for k in range(n):
        arr = np.empty((side, side, 4), dtype=np.uint8)
        arr[..., 0] = row[None, :]
        arr[..., 1] = row[:, None]
        arr[..., 2] = ((x[:, None] // 64 + x[None, :] // 64 + 40 * k) % 256).astype(np.uint8)
        arr[..., 3] = np.where((x[:, None] // 500 + x[None, :] // 500) % 2 == 0, 255, 0).astype(np.uint8)
        im = Image.fromarray(arr, "RGBA")
        del arr
        (im if mode == "RGBA" else im.convert(mode)).save(folder / f"big_{k}.png", compress_level=1)


def measure(folder: Path, method: str, nobomb: bool) -> dict[str, float]:
    code = _MEASURE.format(folder=str(folder), method=method, nobomb=nobomb)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure_cli(folder: Path) -> dict[str, float]:
    """Peak RSS of the whole command, read by a wrapper process that starts only that command."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "avatargen", "-q", "pixels", "fit", str(folder), "--size", "264x280"]
        cmd += ["-o", str(Path(out) / "m.npz")]
        wrapper = (
            "import resource, subprocess, sys, time; t0 = time.perf_counter(); "
            f"subprocess.run({cmd!r}, check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t0)"
        )
        res = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
    peak_kb, secs = res.stdout.split()
    return {"peak_mb": int(peak_kb) / 1024, "seconds": float(secs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3, help="number of images")
    ap.add_argument("--side", type=int, default=12000, help="image side in pixels")
    ap.add_argument("--mode", default="RGBA", choices=["RGBA", "RGB"], help="PNG colour mode")
    args = ap.parse_args()
    nobomb = args.side * args.side > 2 * 89_478_485
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        make_folder(folder, args.n, args.side, args.mode)
        mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(
            f"folder: {args.n} {args.mode} PNGs of {args.side}x{args.side} ({mb:.0f} MB on disk), "
            f"made in {time.perf_counter() - t0:.0f} s; target size 264x280"
        )
        rows = []
        for method in ("full decode", "keep all", "load_array", "decode_array"):
            r = measure(folder, method, nobomb)
            rows.append((method, r["peak_mb"] - r["before_mb"], r["peak_mb"], r["seconds"]))
        base = rows[0][1]
        print(f"{'loader':<34}{'extra peak MB':>14}{'peak RSS MB':>13}{'seconds':>9}{'vs full decode':>16}")
        for method, extra, peak, secs in rows:
            print(f"{method:<34}{extra:>14.0f}{peak:>13.0f}{secs:>9.1f}{extra / base:>16.2f}")
        if not nobomb:
            c = measure_cli(folder)
            print(f"{'CLI avatargen pixels fit --size':<34}{'':>14}{c['peak_mb']:>13.0f}{c['seconds']:>9.1f}")


if __name__ == "__main__":
    main()
