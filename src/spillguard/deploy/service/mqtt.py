"""Verdicts to the line over MQTT (paho-mqtt): ``--mqtt mqtt://host:port/prefix``.

Publishing is driven from the store (an outbox): a verdict's outbox row is written in the same commit as
the verdict, the publisher thread sends the line's waiting verdicts (QoS 1) and takes them out of the
outbox once the broker acknowledged them. A broker that is down delays messages and loses none (they
wait in the database, retried on reconnect; the number waiting is ``spillguard_mqtt_waiting`` on
/metrics) and never blocks scoring. Delivery is at least once: after a crash or an outage a verdict may
be sent twice, with the same ``id``.

Topics: ``PREFIX/LINE/CAMERA/verdict`` (JSON: id, line, camera, score, threshold, verdict, model_id,
time) and ``PREFIX/LINE/status`` (retained JSON: online, healthy, model_id, last_verdict_at, waiting);
the last will sets the status to offline when the instance dies without saying goodbye.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from sharedcore.errors import UserError
from spillguard.deploy.service.store import Verdict

log = logging.getLogger("spillguard.mqtt")
STATUS_EVERY = 10.0  # seconds between status heartbeats (and at most one per second on verdicts)
ACK_TIMEOUT = 10.0  # seconds to wait for the broker's PUBACK of a batch


class Outbox(Protocol):
    """What the publisher needs from the store."""

    def unpublished(self, line: str, limit: int = 256) -> list[Verdict]: ...
    def mark_published(self, ids: list[int]) -> Any: ...  # a Future resolved after commit
    def waiting(self, line: str | None = None) -> int: ...


@dataclass(frozen=True)
class MqttTarget:
    """A broker and the topic prefix, from ``mqtt://host:port/prefix``."""

    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, url: str) -> MqttTarget:
        """``mqtt://host[:port][/prefix]`` (port 1883, prefix 'spillguard' by default); UserError else."""
        u = urlsplit(url)
        fix = "give e.g. mqtt://127.0.0.1:1883/plant"
        if u.scheme != "mqtt" or not u.hostname:
            raise UserError(f"--mqtt {url}: not an mqtt://host:port/prefix URL; {fix}")
        try:
            port = u.port or 1883
        except ValueError:
            raise UserError(f"--mqtt {url}: the port is not a number; {fix}") from None
        prefix = u.path.strip("/") or "spillguard"
        if any(c in prefix for c in "+#") or "//" in prefix or "#" in url or u.query:
            raise UserError(f"--mqtt {url}: the prefix '{prefix}' may not hold '+', '#' or '//'; {fix}")
        return cls(u.hostname, port, prefix)


def topic_level(name: str | None) -> str:
    """A line or camera name as one topic level ('/', '+', '#' and control characters -> '_'; none: '_')."""
    if not name:
        return "_"
    return "".join("_" if c in "/+#" or not c.isprintable() else c for c in name)


def verdict_message(v: Verdict) -> bytes:
    """The JSON payload of a verdict."""
    return json.dumps(
        {
            "id": v.id,
            "line": v.line,
            "camera": v.camera,
            "score": v.score,
            "threshold": v.threshold,
            "verdict": v.verdict,
            "model_id": v.model_id,
            "time": v.created_at,
        },
        separators=(",", ":"),
    ).encode()


class VerdictPublisher:
    """Publishes the outbox of one line to the broker from a thread; ``notify()`` wakes it after a
    commit, so that a verdict leaves within milliseconds of being answered."""

    def __init__(
        self,
        store: Outbox,
        target: MqttTarget,
        line: str,
        model_id: Callable[[], str],
        batch: int = 256,
        poll: float = 1.0,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.store, self.target, self.line = store, target, line
        self.model_id = model_id
        self.batch, self.poll = batch, poll
        self.base = f"{target.prefix}/{topic_level(line)}"
        self.status_topic = f"{self.base}/status"
        self.instance = f"spillguard-{topic_level(line)}-{socket.gethostname()}-{os.getpid()}"
        self.published = 0  # messages acknowledged by the broker
        self.healthy = True  # the last outbox read succeeded
        self.last_verdict_at: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._last_status = 0.0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.instance, protocol=mqtt.MQTTv311
        )
        self.client.will_set(self.status_topic, self._status(online=False), qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._thread = threading.Thread(target=self._loop, name="mqtt-publisher", daemon=True)

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up now."""
        return self._connected.is_set()

    def _status(self, online: bool = True) -> bytes:
        body: dict[str, Any] = {"line": self.line, "instance": self.instance, "online": online}
        if online:
            body.update(
                healthy=self.healthy,
                model_id=self.model_id(),
                last_verdict_at=self.last_verdict_at,
                time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
        else:
            body["healthy"] = False
        return json.dumps(body, separators=(",", ":")).encode()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("mqtt %s:%s refused the connection: %s", self.target.host, self.target.port, reason)
            return
        self._connected.set()
        client.publish(self.status_topic, self._status(), qos=1, retain=True)
        self._wake.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if self._connected.is_set():
            log.warning("mqtt %s:%s disconnected (%s)", self.target.host, self.target.port, reason)
        self._connected.clear()

    def start(self) -> None:
        """Connect in the background (a broker that is down is retried) and start publishing."""
        self.client.connect_async(self.target.host, self.target.port, keepalive=15)
        self.client.loop_start()
        self._thread.start()

    def notify(self) -> None:
        """New verdicts are in the outbox."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            while not self._stop.is_set() and self._connected.is_set() and self._publish_some():
                pass
            if self._connected.is_set() and time.monotonic() - self._last_status > STATUS_EVERY:
                self._send_status()

    def _send_status(self) -> None:
        self._last_status = time.monotonic()
        self.client.publish(self.status_topic, self._status(), qos=1, retain=True)

    def _publish_some(self) -> bool:
        """Send one batch of waiting verdicts; True when a full batch went out (more may wait)."""
        try:
            rows = self.store.unpublished(self.line, self.batch)
        except Exception as exc:  # the database is unreachable: try again at the next wake-up
            if self.healthy:
                log.warning("mqtt publisher cannot read the outbox: %s", exc)
                self.healthy = False
                self._send_status()
            return False
        if not self.healthy:
            self.healthy = True
            self._send_status()
        if not rows:
            return False
        infos = [
            (
                v,
                self.client.publish(
                    f"{self.base}/{topic_level(v.camera)}/verdict", verdict_message(v), qos=1
                ),
            )
            for v in rows
        ]
        done: list[int] = []
        t_end = time.monotonic() + ACK_TIMEOUT
        for v, info in infos:
            try:
                info.wait_for_publish(timeout=max(0.0, t_end - time.monotonic()))
            except (RuntimeError, ValueError):  # not queued (disconnected): retried later
                break
            if not info.is_published():
                break
            done.append(v.id)
        if done:
            try:
                self.store.mark_published(done).result(timeout=30)
            except Exception as exc:  # stays in the outbox: sent again later (same id)
                log.warning("mqtt publisher cannot mark %d verdicts as sent: %s", len(done), exc)
                return False
            self.published += len(done)
            self.last_verdict_at = rows[len(done) - 1].created_at
            if time.monotonic() - self._last_status > 1.0:
                self._send_status()
        return len(done) == len(rows) == self.batch

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is waiting (up to ``timeout`` seconds), mark the instance offline, disconnect."""
        t_end = time.monotonic() + timeout
        while self._connected.is_set() and time.monotonic() < t_end:
            try:
                if self.store.waiting(self.line) == 0:
                    break
            except Exception:
                break
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=max(1.0, t_end - time.monotonic()))
        if self._connected.is_set():
            info = self.client.publish(self.status_topic, self._status(online=False), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
