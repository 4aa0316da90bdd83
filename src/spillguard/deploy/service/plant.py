"""One instance of a plant: the store ``--db`` names (a SQLite file, or a PostgreSQL URL shared by
every ``serve --line NAME``), the live model of the line kept in the database and followed by polling
(every ``--model-poll`` seconds; a promotion on any instance reaches the others without a restart),
the MQTT publisher of ``--mqtt``, and the store-wide figures on /metrics (verdicts of every line, the
number waiting for the broker)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sharedcore.errors import UserError
from sharedcore.extras import require
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.store import SQLiteStore, Store

if TYPE_CHECKING:
    from spillguard.deploy.service.model import LoadedModel, ModelHolder
    from spillguard.deploy.service.mqtt import VerdictPublisher

log = logging.getLogger("spillguard.plant")


def open_store(cfg: ServiceConfig) -> Store:
    """The store ``cfg.db`` names; the outbox is on when verdicts go to a broker."""
    outbox = cfg.mqtt is not None
    if cfg.postgres:
        require("spillguard serve --db postgresql://...", "plant", packages=["psycopg", "psycopg_pool"])
        from spillguard.deploy.service.store.postgres import PostgresStore

        return PostgresStore(str(cfg.db), outbox=outbox)
    return SQLiteStore(cfg.db, cfg.image_dir, outbox=outbox)


class LiveModel:
    """Follows the line's live model in the database: a thread polls ``store.live_model(line)`` and
    swaps in a promoted model (loaded from its recorded run path); ``promote`` makes a model live."""

    def __init__(
        self,
        store: Store,
        holder: ModelHolder,
        cfg: ServiceConfig,
        on_swap: Callable[[LoadedModel, LoadedModel], None],
    ) -> None:
        assert cfg.line is not None
        self.store, self.holder, self.cfg, self.line = store, holder, cfg, cfg.line
        self.on_swap = on_swap
        self.failed: dict[str, str] = {}  # model id -> why it could not be loaded here
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-model", daemon=True)

    def adopt_or_promote(self) -> None:
        """At start: serve the line's live model when the database has one (RUN is the fallback when
        it cannot be loaded here), else make the model of RUN the line's live model."""
        live = self.store.live_model(self.line)
        current = self.holder.current.info.model_id
        if live is None:
            self.promote(current)
        elif live.model_id != current:
            self.check()
            if self.holder.current.info.model_id != live.model_id:
                log.warning(
                    "line %s: the live model %s does not load here; serving RUN", self.line, live.model_id
                )

    def promote(self, model_id: str) -> None:
        """Make the (recorded) ``model_id`` live on this line; raises when the store refuses."""
        self.store.set_live_model(self.line, model_id).result(timeout=30)

    def check(self) -> None:
        """One poll: swap in the line's live model when it is another one than the current."""
        live = self.store.live_model(self.line)
        if live is None or live.model_id == self.holder.current.info.model_id or live.model_id in self.failed:
            return
        if not live.run_path:
            self.failed[live.model_id] = "no run path recorded"
            return

        def same_model(m: LoadedModel) -> None:  # raised before the swap: the current model stays
            if m.info.model_id != live.model_id:
                raise UserError(f"its run path {live.run_path} now holds model {m.info.model_id}")

        try:
            old, new = self.holder.reload(live.run_path, self.cfg.rule, self.cfg.loader, same_model)
        except UserError as exc:
            self.failed[live.model_id] = str(exc)
            log.warning(
                "line %s: the promoted model %s does not load here: %s", self.line, live.model_id, exc
            )
            return
        self.on_swap(old, new)
        log.warning("line %s: promoted model %s -> %s", self.line, old.info.model_id, new.info.model_id)

    def _loop(self) -> None:
        while not self._stop.wait(self.cfg.model_poll):
            try:
                self.check()
            except Exception as exc:  # the database is down: the current model stays
                log.warning("line %s: cannot check the live model: %s", self.line, exc)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class StoreFigures(Collector):
    """/metrics figures read from the store at scrape time: verdicts of every line (all instances on
    the database) and, with --mqtt, the verdicts waiting for the broker and the broker connection."""

    def __init__(self, store: Store, publisher: VerdictPublisher | None, line: str | None) -> None:
        self.store, self.publisher, self.line = store, publisher, line

    def collect(self) -> Iterator[Any]:
        try:
            counts = self.store.line_counts()
            waiting = self.store.waiting(self.line) if self.publisher is not None else None
        except Exception:  # the database is down: /metrics still answers with the process's own figures
            return
        g = GaugeMetricFamily(
            "spillguard_store_verdicts", "Verdict rows in the database by line and class (every instance)",
            labels=["line", "verdict"],
        )  # fmt: skip
        for line, verdict, n in counts:
            g.add_metric([line, verdict], n)
        yield g
        if self.publisher is not None and waiting is not None:
            yield GaugeMetricFamily(
                "spillguard_mqtt_waiting", "Verdicts of this line waiting to be published", value=waiting
            )
            yield GaugeMetricFamily(
                "spillguard_mqtt_connected",
                "1 when the broker connection is up",
                value=int(self.publisher.connected),
            )
            yield GaugeMetricFamily(
                "spillguard_mqtt_published", "Verdicts this instance published (acknowledged)",
                value=self.publisher.published,
            )  # fmt: skip


def make_publisher(cfg: ServiceConfig, store: Store, model_id: Callable[[], str]) -> VerdictPublisher | None:
    """The MQTT publisher of ``--mqtt`` (not started), or None."""
    if cfg.mqtt is None:
        return None
    require("spillguard serve --mqtt", "plant", packages=["paho"])
    from spillguard.deploy.service.mqtt import MqttTarget, VerdictPublisher

    assert cfg.line is not None
    return VerdictPublisher(store, MqttTarget.parse(cfg.mqtt), cfg.line, model_id)
