"""Speed of `avatargen serve` over loopback: avatars and style queries per second with 8 concurrent clients.

Targets (issue 14): >= 50 uncached PNGs/s at 264x280 with p99 < 200 ms; repeated URLs (served from the
cache) >= 1,000/s; `/v1/style` >= 1,000 requests/s. The server is a real `avatargen serve` process on
127.0.0.1 (a free port) serving the built-in example model; the clients are asyncio + httpx keep-alive
connections in this process, sending a bounded number of requests, then the server is stopped.
Baseline, measured in the same run: the library alone in one thread, on the path the service took
before its fast path (StyleModel.sample(1, ...) + breakdown DataFrame; style_svg + svg_to_png), i.e.
what the service adds or gains over calling the library directly; the library's one-style fast path
(StyleModel.sample_one + breakdown_records, the same draws) is timed beside it.
Client and server share the machine's cores, so the figures include the client's own cost; the CPU
columns (server process tree from /proc, and this client) say what each request costs whatever else runs.

    python benchmarks/bench_serve_avatars.py [--workers 2] [--clients 8] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np

from avatargen.render.draw import resolve_mapping, sized_svg, style_svg, svg_to_png
from avatargen.serve.service import load_model

SIZE = "264x280"
PINS = [{}, {"hair_color": "blonde"}, {"clothes": "hoodie", "skin": "pale"}, {"hairstyle": "bob"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _connection(port: int, urls: list[str], lat: list[float], errors: list[int]) -> None:
    """One keep-alive HTTP/1.1 connection sending GETs until ``urls`` is empty (responses carry
    Content-Length)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while urls:
            u = urls.pop()
            t = time.perf_counter()
            writer.write(f"GET {u} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            errors[0] += head[9:12] != b"200"
    finally:
        writer.close()


async def load(port: int, urls: list[str], clients: int) -> tuple[float, np.ndarray, int]:
    """Send every URL once over ``clients`` concurrent keep-alive connections: (wall s, latencies s, errors).

    A minimal asyncio client: httpx's AsyncClient costs more CPU per request than the server's cached
    path, and on a 2-core machine it would measure the client.
    """
    todo = list(reversed(urls))
    lat: list[float] = []
    errors = [0]
    t0 = time.perf_counter()
    await asyncio.gather(*(_connection(port, todo, lat, errors) for _ in range(clients)))
    return time.perf_counter() - t0, np.asarray(lat), errors[0]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants so far, from /proc (Linux;
    0 elsewhere). Under a busy machine this is the load-independent cost of the requests."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.0


def url(path: str, seed: int, pins: dict[str, str], **extra: str) -> str:
    return f"{path}?" + urlencode({"seed": seed, **extra, **pins})


def library_rate(fn: Callable[[int], object], n: int) -> float:
    t = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the server")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client connections")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the request counts")
    args = ap.parse_args()
    n_png, n_cached, n_style = (int(args.scale * k) for k in (400, 4000, 4000))

    model = load_model("example")
    mapping = resolve_mapping(None, model.values_)

    # the baseline: the library in this process, one thread, on the same (seed, pins) mix
    def lib_style(i: int) -> object:
        df = model.sample(1, np.random.default_rng(10_000 + i), given=PINS[i % len(PINS)])
        return model.breakdown({a: str(df[a].iloc[0]) for a in model.attributes_})

    def lib_png(i: int) -> bytes:
        df = model.sample(1, np.random.default_rng(20_000 + i), given=PINS[i % len(PINS)])
        st = {a: str(df[a].iloc[0]) for a in model.attributes_}
        return svg_to_png(sized_svg(style_svg(st, mapping), (264, 280)), (264, 280))

    def lib_style_fast(i: int) -> object:
        style, _p = model.sample_one(np.random.default_rng(10_000 + i), given=PINS[i % len(PINS)])
        return model.breakdown_records(style)

    base_style = library_rate(lib_style, 300)
    fast_style = library_rate(lib_style_fast, 3000)
    base_png = library_rate(lib_png, 60)
    # where a PNG's time goes: building the SVG (ours) vs rasterising and encoding it (resvg)
    styles = [model.sample_one(np.random.default_rng(30_000 + i), PINS[i % len(PINS)])[0] for i in range(60)]
    t = time.perf_counter()
    svgs = [sized_svg(style_svg(st, mapping), (264, 280)) for st in styles]
    svg_ms = 1e3 * (time.perf_counter() - t) / len(styles)
    t = time.perf_counter()
    for svg_text in svgs:
        svg_to_png(svg_text, (264, 280))
    resvg_ms = 1e3 * (time.perf_counter() - t) / len(svgs)

    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "example.json"
        model.save(model_file)
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "avatargen",
                "serve",
                str(model_file),
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start in 60 s")
                time.sleep(0.2)
            time.sleep(1.0)  # let every worker finish loading
            asyncio.run(load(port, [url("/v1/style", 1, {})] * 50, args.clients))  # warm up connections

            pins = lambda i: PINS[i % len(PINS)]  # noqa: E731
            rows = []

            def measure(name: str, urls: list[str], target: str, baseline: float | None) -> None:
                load1 = os.getloadavg()[0]
                cpu0, client0 = tree_cpu_seconds(proc.pid), time.process_time()
                wall, lat, errors = asyncio.run(load(port, urls, args.clients))
                server_ms = 1e3 * (tree_cpu_seconds(proc.pid) - cpu0) / len(urls)
                client_ms = 1e3 * (time.process_time() - client0) / len(urls)
                rate = len(urls) / wall
                rows.append(
                    (
                        name,
                        len(urls),
                        rate,
                        1e3 * float(np.percentile(lat, 50)),
                        1e3 * float(np.percentile(lat, 99)),
                        errors,
                        target,
                        f"{rate / baseline:.2f}x" if baseline else "",
                        server_ms,
                        client_ms,
                        load1,
                    )
                )

            png = [url("/v1/avatar.png", 100_000 + i, pins(i), size=SIZE) for i in range(n_png)]
            measure("PNG 264x280, uncached (distinct seeds)", png, ">= 50/s, p99 < 200 ms", base_png)
            hot = [url("/v1/avatar.png", 100_000 + i, pins(i), size=SIZE) for i in range(64)]
            measure(
                "PNG 264x280, repeated URLs (cache)",
                [hot[i % 64] for i in range(n_cached)],
                ">= 1,000/s",
                base_png,
            )
            style = [url("/v1/style", 500_000 + i, pins(i)) for i in range(n_style)]
            measure("/v1/style, distinct seeds (uncached)", style, ">= 1,000/s", base_style)
            measure(
                "/v1/style, repeated URLs (cache)",
                [style[i % 64] for i in range(n_style)],
                ">= 1,000/s",
                base_style,
            )
            svg = [url("/v1/avatar.svg", 700_000 + i, pins(i), size=SIZE) for i in range(n_png)]
            measure("SVG, uncached (distinct seeds)", svg, "", None)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    print(
        f"avatargen serve, built-in example model, {args.workers} worker(s), {args.clients} concurrent clients, "
        f"loopback; {os.cpu_count()} CPUs; load average before each row in the last column"
    )
    print(
        f"baseline (library, this process, 1 thread): style+breakdown {base_style:.0f}/s "
        f"(sample(1) + breakdown DataFrame), PNG 264x280 {base_png:.1f}/s; "
        f"library fast path sample_one + breakdown_records {fast_style:,.0f}/s ({fast_style / base_style:.0f}x)"
    )
    print(
        f"one PNG 264x280 in the library: SVG built {svg_ms:.2f} ms, resvg (raster + PNG) {resvg_ms:.2f} ms"
    )
    print()
    print(
        "| requests | n | req/s | p50 ms | p99 ms | errors | target | vs library | server CPU ms/req "
        "| client CPU ms/req | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, n, rate, p50, p99, errors, target, ratio, server_ms, client_ms, load1 in rows:
        print(
            f"| {name} | {n} | {rate:,.0f} | {p50:.1f} | {p99:.1f} | {errors} | {target} | {ratio} "
            f"| {server_ms:.2f} | {client_ms:.2f} | {load1:.1f} |"
        )


if __name__ == "__main__":
    main()
