"""W&B logging through the real CLI (`spillguard train --wandb`) in offline mode: the offline run folder
exists inside the run, and its transaction log (.wandb) holds the per-epoch metrics of epochs.jsonl."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2

_BLOCK = 32768  # the .wandb file is a LevelDB-style log: 32 KiB blocks of 7-byte-header chunks
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def read_wandb_records(path: Path) -> list[Any]:
    """Every record of a .wandb transaction log, parsed with wandb's own protobuf schema."""
    data = path.read_bytes()
    assert data[:4] == b":W&B" and struct.unpack("<HB", data[4:7]) == (0xBEE1, 0), "not a .wandb log"
    records, pending, pos = [], b"", 7
    while pos + 7 <= len(data):
        if _BLOCK - pos % _BLOCK < 7:  # block trailer too small for a header: padding
            pos += _BLOCK - pos % _BLOCK
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (_FULL, _FIRST) else pending + chunk
        if kind in (_FULL, _LAST):
            rec = wandb_internal_pb2.Record()
            rec.ParseFromString(pending)
            records.append(rec)
            pending = b""
    return records


def _history(records: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for rec in records:
        if rec.WhichOneof("record_type") == "history":
            rows.append(
                {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in rec.history.item
                }
            )
    return rows


def test_train_with_wandb_offline_logs_the_epochs(tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "SPILLGUARD_THREADS": "1"}
    env.pop("WANDB_DIR", None)
    cli = [sys.executable, "-m", "spillguard", "-q"]
    data, run = tmp_path / "data", tmp_path / "run"
    subprocess.run(
        [*cli, "synth", "-o", str(data), "--n-train", "64", "--n-proliv", "8", "--n-test", "20"],
        check=True,
        env=env,
        cwd=tmp_path,
    )
    res = subprocess.run(
        [*cli, "train", str(data), "-o", str(run), "--epochs", "2", "--seed", "0", "--wandb"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    offline = sorted((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 1, list((run / "wandb").iterdir())
    logs = list(offline[0].glob("run-*.wandb"))
    assert len(logs) == 1
    records = read_wandb_records(logs[0])
    kinds = {rec.WhichOneof("record_type") for rec in records}
    assert {"run", "history", "summary", "exit"} <= kinds, kinds

    epochs = [json.loads(line) for line in (run / "epochs.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs if "epoch" in e][:2] == [1, 2]
    logged = [row for row in _history(records) if "train_loss" in row]
    assert len(logged) == len([e for e in epochs if "train_loss" in e]) >= 2
    for row, epoch in zip(logged, [e for e in epochs if "train_loss" in e], strict=True):
        for key in ("epoch", "train_loss", "val_loss"):
            assert row[key] == pytest.approx(epoch[key], rel=1e-12), key
    # the final figures go to W&B too, as media files of the offline run
    assert list((offline[0] / "files" / "media" / "images").glob("*.png"))
    # the run's config (TrainConfig) is logged: the seed given on the command line
    run_rec = next(rec.run for rec in records if rec.WhichOneof("record_type") == "run")
    values = {item.key: json.loads(item.value_json) for item in run_rec.config.update}
    assert values["seed"] in (0, {"value": 0}) and values["epochs"] in (2, {"value": 2}), values
    summary = {}
    for rec in records:
        if rec.WhichOneof("record_type") == "summary":
            summary.update({item.key: json.loads(item.value_json) for item in rec.summary.update})
    assert summary["train_seconds"] > 0, summary  # Tracker.finish: the run's final numbers
