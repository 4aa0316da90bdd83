"""Screenshot of the explore page (README): `avatargen serve example` in-process on a free loopback port,
Debian's headless Chromium through Playwright, two pins; writes docs/images/avatargen_explore.png.

    python docs/screenshot_explore.py [-o docs/images/avatargen_explore.png]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from avatargen.serve.main import create_app
from avatargen.serve.service import StyleService, load_model

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, default=Path("docs/images/avatargen_explore.png"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(StyleService(load_model("example")))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=[*ARGS, "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("document.body.dataset.state === 'ready'")
            page.select_option('select[data-attr="hair_color"]', "blonde")
            page.select_option('select[data-attr="clothes"]', "hoodie")
            page.wait_for_function(
                "document.body.dataset.state === 'ready' && document.body.dataset.pins.includes('clothes')"
            )
            page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.out.with_suffix(".tmp.png")
            page.screenshot(path=str(tmp), full_page=True)
            tmp.replace(args.out)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
