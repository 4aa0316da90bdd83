"""The Store contract: the same tests against every store (SQLite, PostgreSQL). The PostgreSQL runs
get a new database each, dropped afterwards; they skip (or fail, see servers.py) without a server."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spillguard.deploy.service.store import ModelRecord, NewVerdict, SQLiteStore, Store

from ..servers import fresh_database, pg_reachable, unavailable

MakeStore = Callable[..., Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """make_store(outbox=False) -> a store on a new database; a second call opens the same database
    (a second instance); all are closed (and the PostgreSQL database dropped) at teardown."""
    opened: list[Store] = []
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":

            def make(outbox: bool = False) -> Store:
                st = SQLiteStore(tmp_path / "v.sqlite", tmp_path / "img", outbox=outbox)
                opened.append(st)
                return st

        else:
            why = pg_reachable()
            if why:
                unavailable(why)
            from spillguard.deploy.service.store.postgres import PostgresStore

            url = stack.enter_context(fresh_database())

            def make(outbox: bool = False) -> Store:
                st = PostgresStore(url, outbox=outbox)
                opened.append(st)
                return st

        try:
            yield make
        finally:
            for st in opened:
                st.close()


def _row(
    i: int, verdict: str = "spill", image: bytes | None = b"img", camera: str = "c", line: str | None = "a"
) -> NewVerdict:
    return NewVerdict(
        created_ts=time.time(), camera=camera, source=f"s{i}", image_sha256=f"{i:064x}", image_format="JPEG",
        image=image, score=0.1 * i, threshold=0.5, rule="prior", verdict=verdict, model_id="m@1",
        brightness=0.5, saturation=0.25, line=line,
    )  # fmt: skip


MODEL = ModelRecord("m@1", "m", "/runs/m", "run", "plain_ae", "2026-01-01", "0.1.0")


def test_rows_feedback_and_counts(make_store: MakeStore) -> None:
    st = make_store()
    futs = [
        st.add_verdicts([_row(i, "spill" if i % 2 else "no_spill", camera="a" if i < 6 else "b")])
        for i in range(1, 11)
    ]
    ids = [f.result(timeout=10)[0] for f in futs]
    assert ids == list(range(1, 11)) and st.count() == 10
    assert [v.id for v in st.pending()] == [9, 7, 5, 3, 1]  # flagged, highest score first
    assert [v.id for v in st.pending(camera="a")] == [5, 3, 1]
    assert st.pending(limit=0) == []
    st.add_feedback(9, "spill", "ann").result(timeout=10)
    st.add_feedback(7, "spill", "ann").result(timeout=10)
    fb = st.add_feedback(7, "no_spill", "bob", "glare").result(timeout=10)  # the latest label counts
    assert (fb.verdict_id, fb.label, fb.operator, fb.note) == (7, "no_spill", "bob", "glare")
    c = st.counts()
    assert (c.waiting, c.confirmed_today, c.false_alarms_today, c.scored_today, c.flagged_today) == (
        3, 1, 1, 10, 5,
    )  # fmt: skip
    cb = st.counts(camera="b")  # 7 and 9: both labelled
    assert (cb.waiting, cb.scored_today, cb.flagged_today, cb.confirmed_today) == (0, 5, 2, 1)
    v = st.get(7)
    assert v is not None and v.feedback is not None and v.feedback.operator == "bob"
    assert (v.camera, v.source, v.line, v.verdict, v.model_id) == ("b", "s7", "a", "spill", "m@1")
    assert v.score == pytest.approx(0.7) and v.brightness == 0.5 and v.saturation == 0.25
    assert v.image_kept is True and st.get(12345) is None
    with pytest.raises(KeyError):
        st.add_feedback(999, "spill", "ann").result(timeout=10)
    assert st.cameras() == ["a", "b"]
    rec = st.recent(4)
    assert rec.scores == pytest.approx([1.0, 0.9, 0.8, 0.7]) and rec.flagged == [False, True, False, True]
    assert sum(n for _, n, _ in st.hourly(24)) == 10 and sum(f for _, _, f in st.hourly(24)) == 5


def test_time_filters(make_store: MakeStore) -> None:
    st = make_store()
    now = time.time()
    rows = [NewVerdict(created_ts=now - 3600 * k, camera="c", source=None, image_sha256=f"{k:064x}",
                       image_format="PNG", image=None, score=1.0, threshold=0.5, rule="prior", verdict="spill",
                       model_id="m@1", brightness=0.5, saturation=0.2) for k in range(3)]  # fmt: skip
    st.add_verdicts(rows).result(timeout=10)
    assert len(st.pending(since=now - 1800)) == 1
    assert len(st.pending(since=now - 5400, until=now - 1800)) == 1
    assert st.counts(until=now - 1800).waiting == 2


def test_images_kept_once_per_digest(make_store: MakeStore) -> None:
    st = make_store()
    a, b = st.add_verdicts([_row(1, image=b"\xff\xd8jpeg"), _row(1, image=b"\xff\xd8jpeg")]).result(10)
    n = st.add_verdicts([_row(2, "no_spill", image=None)]).result(10)[0]
    va, vb, vn = st.get(a), st.get(b), st.get(n)
    assert va is not None and vb is not None and vn is not None
    assert st.image_bytes(va) == st.image_bytes(vb) == b"\xff\xd8jpeg"
    assert st.image_state(va) == "kept" and st.image_state(vn) == "not_kept"
    assert st.image_bytes(vn) is None


def test_one_bad_write_in_a_group_commit_fails_alone(make_store: MakeStore) -> None:
    st = make_store()
    futs = [st.add_verdicts([_row(1)]), st.add_feedback(12345, "spill", "x"), st.add_verdicts([_row(2)])]
    assert futs[0].result(timeout=10) == [1] and futs[2].result(timeout=10) == [2]
    with pytest.raises(KeyError):
        futs[1].result(timeout=10)
    assert st.count() == 2


def test_models_and_the_live_model_per_line(make_store: MakeStore) -> None:
    st = make_store()
    first = st.add_model(MODEL).result(timeout=10)
    assert first.model_id == "m@1" and first.first_served_at
    again = st.add_model(ModelRecord(**{**MODEL.__dict__, "run_path": "/moved/m"})).result(timeout=10)
    assert again.first_served_at == first.first_served_at and again.run_path == "/moved/m"
    assert st.model("m@1") == again and st.model("nope") is None
    assert st.live_model("a") is None
    st.set_live_model("a", "m@1").result(timeout=10)
    other = make_store()  # a second instance on the same database sees the promotion
    live = other.live_model("a")
    assert live is not None and live.model_id == "m@1" and other.live_model("b") is None
    with pytest.raises(Exception):  # noqa: B017 - an unrecorded model cannot be live (foreign key)
        st.set_live_model("b", "never-recorded").result(timeout=10)


def test_outbox_until_published(make_store: MakeStore) -> None:
    st = make_store(outbox=True)
    ids = st.add_verdicts([_row(i, line="a") for i in range(1, 5)]).result(timeout=10)
    ids += st.add_verdicts([_row(9, line="b")]).result(timeout=10)
    assert st.waiting() == 5 and st.waiting("a") == 4 and st.waiting("b") == 1
    first = st.unpublished("a", limit=3)
    assert [v.id for v in first] == ids[:3] and all(v.line == "a" for v in first)
    st.mark_published([v.id for v in first]).result(timeout=10)
    assert [v.id for v in st.unpublished("a")] == [ids[3]] and st.waiting() == 2
    quiet = make_store(outbox=False)  # an instance without --mqtt queues nothing
    quiet.add_verdicts([_row(20)]).result(timeout=10)
    assert st.waiting() == 2


def test_two_instances_share_verdicts_feedback_and_counts(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    ia = a.add_verdicts([_row(1, line="a"), _row(3, line="a")]).result(timeout=10)
    ib = b.add_verdicts([_row(5, "no_spill", line="b")]).result(timeout=10)
    assert len(set(ia + ib)) == 3 and a.count() == b.count() == 3
    b.add_feedback(ia[0], "no_spill", "eve").result(timeout=10)  # given on b, seen on a
    seen = a.get(ia[0])
    assert seen is not None and seen.feedback is not None and seen.feedback.operator == "eve"
    assert a.line_counts() == b.line_counts() == [("a", "spill", 2), ("b", "no_spill", 1)]


def test_ping_write(make_store: MakeStore) -> None:
    st = make_store()
    assert st.ping_write().result(timeout=10) is None
