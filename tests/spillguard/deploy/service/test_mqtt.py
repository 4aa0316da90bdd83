"""Verdicts to the line over the real MQTT broker: every stored verdict published once (QoS 1) from the
outbox, the retained status and the last will, and a broker outage (cut off by a proxy) that delays
messages and loses none."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sharedcore.errors import UserError
from spillguard.deploy.service.store import NewVerdict, SQLiteStore

from .servers import MQTT_URL, TcpProxy, mqtt_reachable, unavailable, unique_prefix

mqtt = pytest.importorskip("paho.mqtt.client", reason="the plant extra (paho-mqtt) is not installed")

from spillguard.deploy.service.mqtt import (  # noqa: E402
    MqttTarget,
    VerdictPublisher,
    topic_level,
    verdict_message,
)

BROKER = urlsplit(MQTT_URL)


class Listener:
    """A subscriber to PREFIX/# on the broker: the messages it got, by topic."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"listener-{prefix[-12:]}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect(BROKER.hostname or "127.0.0.1", BROKER.port or 1883)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/#", qos=1)
        assert subscribed.wait(10), "the broker did not confirm the subscription"

    def _on_message(self, client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    def verdicts(self) -> list[dict[str, object]]:
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith("/verdict")]

    def statuses(self) -> list[dict[str, object]]:
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith("/status") and p]

    def wait_for(self, cond: Callable[[], bool], timeout: float = 15.0) -> bool:
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if cond():
                return True
            time.sleep(0.02)
        return cond()

    def close(self) -> None:
        """Clear the retained status under the prefix, then disconnect."""
        with self.lock:
            topics = {t for t, _, _ in self.messages if t.endswith("/status")}
        for t in topics:
            self.client.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def listener() -> Iterator[Listener]:
    why = mqtt_reachable()
    if why:
        unavailable(why)
    lst = Listener(unique_prefix())
    try:
        yield lst
    finally:
        lst.close()


def _row(i: int, camera: str | None = "cam/1") -> NewVerdict:
    verdict = "spill" if i % 2 else "no_spill"
    return NewVerdict(
        created_ts=time.time(), camera=camera, source=None, image_sha256=f"{i:064x}", image_format="JPEG",
        image=None, score=0.1 * i, threshold=0.5, rule="prior", verdict=verdict, model_id="m@1",
        brightness=0.5, saturation=0.2, line="line a",
    )  # fmt: skip


def test_targets_and_topic_levels() -> None:
    assert MqttTarget.parse("mqtt://broker:1884/plant/west") == MqttTarget("broker", 1884, "plant/west")
    assert MqttTarget.parse("mqtt://broker") == MqttTarget("broker", 1883, "spillguard")
    for bad in ("http://broker/x", "mqtt:///x", "mqtt://b:port/x", "mqtt://b/a/#"):
        with pytest.raises(UserError, match="--mqtt"):
            MqttTarget.parse(bad)
    assert topic_level("cam/1+#") == "cam_1__" and topic_level(None) == "_" and topic_level("a b") == "a b"


def test_every_verdict_published_once_with_status_and_will(tmp_path: Path, listener: Listener) -> None:
    st = SQLiteStore(tmp_path / "v.sqlite", tmp_path / "img", outbox=True)
    proxy = TcpProxy(BROKER.hostname or "127.0.0.1", BROKER.port or 1883).start()
    pub = VerdictPublisher(st, MqttTarget("127.0.0.1", proxy.port, listener.prefix), "line a", lambda: "m@1")
    try:
        pub.start()
        assert listener.wait_for(lambda: any(s["online"] for s in listener.statuses()))
        ids = st.add_verdicts([_row(i) for i in range(1, 41)]).result(timeout=10)
        pub.notify()
        assert listener.wait_for(lambda: len(listener.verdicts()) >= 40)
        got = listener.verdicts()
        assert sorted(int(v["id"]) for v in got) == ids  # type: ignore[call-overload]
        first = got[0]
        assert first == json.loads(verdict_message(st.get(int(first["id"])) or pytest.fail("no row")))  # type: ignore[call-overload]
        assert {t for t, _, _ in listener.messages if t.endswith("/verdict")} == {
            f"{listener.prefix}/line a/cam_1/verdict"
        }
        assert first["verdict"] == "spill" and first["model_id"] == "m@1" and first["threshold"] == 0.5
        assert listener.wait_for(lambda: st.waiting() == 0) and pub.published == 40

        proxy.stop()  # the broker is gone: the last will marks the line offline
        assert listener.wait_for(lambda: listener.statuses()[-1]["online"] is False, timeout=30)
        more = st.add_verdicts([_row(i) for i in range(41, 51)]).result(timeout=10)  # scoring goes on
        pub.notify()
        time.sleep(0.5)
        assert st.waiting() == 10 and len(listener.verdicts()) == 40  # they wait in the store
        proxy.start()  # back: the waiting verdicts go out, none lost
        assert listener.wait_for(lambda: len(listener.verdicts()) >= 50, timeout=30)
        assert sorted(int(v["id"]) for v in listener.verdicts()) == ids + more  # type: ignore[call-overload]
        assert listener.wait_for(lambda: st.waiting() == 0)
        status = listener.statuses()[-1]
        assert status["online"] is True and status["model_id"] == "m@1" and status["healthy"] is True
    finally:
        pub.stop()
        proxy.stop()
        st.close()
    assert listener.wait_for(lambda: listener.statuses()[-1]["online"] is False)  # a clean goodbye
