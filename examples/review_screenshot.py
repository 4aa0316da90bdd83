"""Screenshot of the review page (docs/images/review.png) in headless Chromium (Debian's package).

Trains a short run of the default model (2 epochs, at most 3,000 normals) on the real pit images of
../shared/data/spills when present (else on synthetic pits), serves it on a free loopback port, scores
the test images of that data set as a line camera would (two camera names), labels two pits, and
photographs /review. Run: ``.venv/bin/python examples/review_screenshot.py [-o docs/images/review.png]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from spillguard.config import TrainConfig
from spillguard.data import labelled_sources
from spillguard.data.synthetic import SynthSpec, write_synth
from spillguard.deploy.service.app import ServiceConfig, create_app
from spillguard.pipelines.train import train_run

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=REPO / "docs" / "images" / "review.png")
    ap.add_argument("--images", type=int, default=400, help="test images to score")
    args = ap.parse_args()
    from spillguard.compute import limit_threads

    limit_threads()  # an entry point: torch's thread count, once
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="review_shot."))
    try:
        real = SHARED / "data" / "spills"
        data = (
            real
            if (real / "train").is_dir()
            else write_synth(tmp / "data", seed=0, spec=SynthSpec(600, 40, 360, 40))
        )
        run = train_run(data, tmp / "run", TrainConfig(epochs=2, max_train=3000, seed=0)).run
        test = labelled_sources(data / "test")
        paths = test.paths[: args.images]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cfg = ServiceConfig(run=run, db=tmp / "v.sqlite", token="demo")
        server = uvicorn.Server(
            uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            flagged = []
            with httpx.Client(base_url=url) as c:
                for i, p in enumerate(paths):
                    r = c.post(
                        f"/v1/score?camera=pour-{1 + i % 2}&source={p.name}", content=p.read_bytes()
                    ).json()
                    if r["verdict"] == "spill":
                        flagged.append(r["id"])
                for vid, label in zip(flagged[:2], ("spill", "no_spill"), strict=False):
                    c.post(f"/v1/verdicts/{vid}/feedback", json={"label": label, "operator": "olga"},
                           headers={"Authorization": "Bearer demo"})  # fmt: skip
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
                )
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.goto(url + "/review")
                page.fill("#operator", "olga")
                page.fill("#token", "demo")
                page.wait_for_load_state("networkidle")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=False)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=30)
        print(
            f"{args.out}: /review after scoring {len(paths)} test images of {data} ({len(flagged)} flagged)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
