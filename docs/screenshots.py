"""Regenerate the documentation's screenshots and result plots in a real browser (Debian's headless
chromium through Playwright; never ``playwright install``), from the repository root:

    .venv/bin/python docs/screenshots.py [--quick] [--images 400] [-o docs/images]

1. Trains the shipped default (``spillguard train DATA -o RUN --seed 0``) on ../shared/data/spills when
   present (else on ``spillguard synth`` pits) and evaluates it on the test half
   (``spillguard evaluate RUN DATA/test``); ``--quick`` trains 2 epochs on at most 3,000 normals.
2. ``run_report.png``: the top of that run's report.html.
3. ``review.png``: ``spillguard serve RUN`` (in-process, a free loopback port) after scoring ``--images``
   test images as two line cameras would, two flagged pits labelled, the /review page.
4. ``avatargen_explore.png``: ``avatargen serve example`` with hair_color=blonde and clothes=hoodie pinned.
5. ``results/*.png``: the run's own plots (only for the full default on the real pits: the figures of
   the Results page).

Screenshots and plots are saved as 256-colour PNGs (small to commit), each under a temporary
name and renamed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))  # tests.browser: the page tests' chromium and its flags
sys.path.insert(0, str(REPO / "src"))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

#: The run's plots shown on the Results page: (file in the run folder, name under results/).
RESULT_PLOTS = [
    ("evaluation/test_roc.png", "test_roc.png"),
    ("evaluation/test_hist.png", "test_hist.png"),
    ("evaluation/test_grid.png", "test_grid.png"),
    ("plots/loss.png", "loss.png"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on uvicorn in a thread on a free loopback port; yields its URL; stopped at the end."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def save_png(source: Path, out: Path, colours: int | None = 256) -> None:
    """``source`` -> ``out`` (temporary name, then rename); a screenshot becomes a palette PNG."""
    from PIL import Image

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with Image.open(source) as im:
        img = im.convert("RGB").quantize(colours) if colours else im.copy()
        img.save(tmp, format="PNG", optimize=True)
    tmp.replace(out)


def train_and_evaluate(work: Path, quick: bool) -> tuple[Path, Path, bool]:
    """The run folder, its data and whether it is the full default on the real pits."""
    from spillguard.config import TrainConfig
    from spillguard.data.synthetic import SynthSpec, write_synth
    from spillguard.pipelines.evaluate import evaluate_run
    from spillguard.pipelines.train import train_run

    real = SHARED / "data" / "spills"
    data = (
        real
        if (real / "train").is_dir()
        else write_synth(work / "data", seed=0, spec=SynthSpec(600, 40, 360, 40))
    )
    config = TrainConfig(epochs=2, max_train=3000, seed=0) if quick else TrainConfig(seed=0)
    run = train_run(data, work / "default", config).run
    evaluate_run(run, data / "test")
    return run, data, data == real and not quick


def shoot_report(browser: Any, run: Path, out: Path, work: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto((run / "report.html").as_uri())
    page.wait_for_function("[...document.images].every(i => i.complete)")
    page.screenshot(path=str(work / "report.png"))
    page.close()
    save_png(work / "report.png", out)


def shoot_review(browser: Any, run: Path, data: Path, n_images: int, out: Path, work: Path) -> str:
    import httpx

    from spillguard.data import labelled_sources
    from spillguard.deploy.service.config import ServiceConfig
    from spillguard.deploy.service.main import create_app

    paths = labelled_sources(data / "test").paths[:n_images]
    cfg = ServiceConfig(run=run, db=work / "verdicts.sqlite", token="demo")
    with serving(create_app(cfg)) as url, httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/readyz").status_code == 200:
                    break
            time.sleep(0.1)
        flagged = []
        for i, path in enumerate(paths):
            answer = client.post(
                f"/v1/score?camera=pour-{1 + i % 2}&source={path.name}", content=path.read_bytes()
            ).json()
            if answer["verdict"] == "spill":
                flagged.append(answer["id"])
        # two flagged pits labelled (one each way), the rest left waiting for the page to show
        for vid, label in zip(
            flagged[: max(0, min(2, len(flagged) - 3))], ("spill", "no_spill"), strict=False
        ):
            client.post(
                f"/v1/verdicts/{vid}/feedback",
                json={"label": label, "operator": "olga"},
                headers={"Authorization": "Bearer demo"},
            )
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(url + "/review")
        page.fill("#operator", "olga")
        page.fill("#token", "demo")
        page.wait_for_load_state("networkidle")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        page.screenshot(path=str(work / "review.png"))
        page.close()
    save_png(work / "review.png", out)
    return f"scored {len(paths)} test images of {data}, {len(flagged)} flagged"


def shoot_explore(browser: Any, out: Path, work: Path) -> None:
    from avatargen.serve.main import create_app
    from avatargen.serve.service import StyleService, load_model

    with serving(create_app(StyleService(load_model("example")))) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "/")
        page.wait_for_function("document.body.dataset.state === 'ready'")
        page.select_option('select[data-attr="hair_color"]', "blonde")
        page.select_option('select[data-attr="clothes"]', "hoodie")
        page.wait_for_function(
            "document.body.dataset.state === 'ready' && document.body.dataset.pins.includes('clothes')"
        )
        page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(work / "explore.png"), full_page=True)
        page.close()
    save_png(work / "explore.png", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=REPO / "docs" / "images", help="image folder")
    ap.add_argument("--images", type=int, default=400, help="test images scored for the review page")
    ap.add_argument("--quick", action="store_true", help="train 2 epochs (no result plots)")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("screenshots: Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from spillguard.compute import limit_threads

    limit_threads()  # an entry point: torch's thread count, once
    work = Path(tempfile.mkdtemp(prefix="screenshots."))
    try:
        run, data, full = train_and_evaluate(work, args.quick)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                shoot_report(browser, run, args.out / "run_report.png", work)
                said = shoot_review(browser, run, data, args.images, args.out / "review.png", work)
                shoot_explore(browser, args.out / "avatargen_explore.png", work)
            finally:
                browser.close()
        if full:
            for name, shown in RESULT_PLOTS:
                save_png(run / name, args.out / "results" / shown)
        print(f"{args.out}: run_report.png, review.png ({said}), avatargen_explore.png", end="")
        print(", results/*.png" if full else " (no result plots: not the full default on the real pits)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
