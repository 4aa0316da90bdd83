"""``avatargen serve`` on uvicorn: the model and mapping loaded and checked, then one listening socket
opened (``sharedcore.web.listen``: a mistake is one line, not a traceback; port 0 is a free port,
printed), then one process or several workers serving on that socket."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from avatargen.serve.config import ServeConfig
from avatargen.serve.main import MAPPING_ENV, MODEL_ENV, SUPERVISOR_ENV, create_app
from avatargen.serve.service import StyleService, load_model
from sharedcore.web import listen


def _resolved(spec: str) -> str:
    """A path the worker processes find from any working directory (a built-in name as it is)."""
    return str(Path(spec).resolve()) if Path(spec).exists() else spec


def run_server(cfg: ServeConfig) -> None:
    """Load and check the model and mapping, open the socket (errors before listening), then serve."""
    import uvicorn

    service = StyleService(load_model(cfg.model), cfg.mapping)
    sock = listen(cfg.host, cfg.port)
    # Workers get the listening socket through multiprocessing, where asyncio no longer recognises it as
    # TCP and skips TCP_NODELAY: Nagle + delayed ACKs then add ~40 ms to every answer. Accepted
    # connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = sock.getsockname()[1]
    print(
        f"avatargen serve: {len(service.attributes)} attributes, mapping {service.mapping.name}; "
        f"http://{cfg.host}:{port}/ (page), http://{cfg.host}:{port}/docs (API)",
        flush=True,
    )
    options = {"host": cfg.host, "port": port, "access_log": cfg.access_log, "log_level": "warning"}
    if cfg.workers == 1:
        uvicorn.Server(uvicorn.Config(create_app(service), **options)).run(sockets=[sock])
        return
    os.environ[MODEL_ENV] = _resolved(cfg.model)
    if cfg.mapping:
        os.environ[MAPPING_ENV] = _resolved(cfg.mapping)
    os.environ[SUPERVISOR_ENV] = str(os.getpid())  # each worker ends with this process (no orphans)
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("avatargen.serve.main:app_from_env", factory=True, workers=cfg.workers, **options)
    Multiprocess(config, sockets=[sock]).run()
