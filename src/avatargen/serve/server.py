"""``avatargen serve`` on uvicorn: the model and mapping loaded and checked and the address tried
before listening (so a mistake is one line, not a traceback), then one process or several workers."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from avatargen.serve.main import MAPPING_ENV, MODEL_ENV, create_app
from avatargen.serve.service import StyleService, load_model
from sharedcore.errors import UserError


def check_port(host: str, port: int) -> None:
    """UserError when ``host:port`` cannot be bound (in use, or not a local address)."""
    if not 0 < port < 65536:
        raise UserError(f"--port {port}: give a port 1..65535")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise UserError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror}); pick another port"
        ) from None


def run_server(
    model: str,
    mapping: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8001,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    """Load and check the model and mapping (errors before listening), then serve on uvicorn."""
    import uvicorn

    if workers < 1:
        raise UserError(f"--workers {workers}: give 1 or more")
    service = StyleService(load_model(model), mapping)
    check_port(host, port)
    print(
        f"avatargen serve: {len(service.attributes)} attributes, mapping {service.mapping.name}; "
        f"http://{host}:{port}/ (page), http://{host}:{port}/docs (API)",
        flush=True,
    )
    if workers == 1:
        uvicorn.run(create_app(service), host=host, port=port, access_log=access_log, log_level="warning")
        return
    os.environ[MODEL_ENV] = str(Path(model).resolve()) if Path(model).exists() else model
    if mapping:
        os.environ[MAPPING_ENV] = str(Path(mapping).resolve()) if Path(mapping).exists() else mapping
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "avatargen.serve.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="warning",
    )
    sock = config.bind_socket()
    # Workers get the listening socket through multiprocessing, where asyncio no longer recognises it as
    # TCP and skips TCP_NODELAY: Nagle + delayed ACKs then add ~40 ms to every answer. Accepted
    # connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
