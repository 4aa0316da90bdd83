"""`avatargen styles ...`: outputs, and bad input -> one line, exit code 2, nothing written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from avatargen.cli import main
from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["avatargen", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def model(tmp_path: Path, capsys, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.json"
    code, out, err = run(
        ["styles", "fit", str(EXAMPLE_STYLES), "--rules", str(EXAMPLE_RULES), "-o", str(path)],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert "wrote" in out
    return path


def test_sample_formats_and_seed(model: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        ["styles", "sample", str(model), "-n", "5", "--format", "json", "--seed", "3"], capsys, monkeypatch
    )
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 5 and "probability" in rows[0]
    _, again, _ = run(
        ["styles", "sample", str(model), "-n", "5", "--format", "json", "--seed", "3"], capsys, monkeypatch
    )
    assert again == out
    code, out, _ = run(
        [
            "styles",
            "sample",
            str(model),
            "-n",
            "4",
            "--given",
            "hair_color=blonde",
            "--unique",
            "--format",
            "csv",
        ],
        capsys,
        monkeypatch,
    )
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 5 and all(",blonde," in line for line in lines[1:])


def test_prob_breakdown_marginal_and_query(model: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    style = "hairstyle=bob hair_color=blonde accessory=none clothes=hoodie clothes_color=black facial_hair=none eyes=happy mouth=smile skin=light".split()
    code, out, _ = run(["styles", "prob", str(model), *style, "--format", "json"], capsys, monkeypatch)
    res = json.loads(out)
    assert code == 0 and len(res["breakdown"]) == 9
    prod = 1.0
    for r in res["breakdown"]:
        prod *= r["probability"]
    assert prod == pytest.approx(res["probability"])
    code, out, _ = run(
        ["styles", "prob", str(model), "hair_color=blonde", "--query", "hairstyle", "--format", "json"],
        capsys,
        monkeypatch,
    )
    assert code == 0 and sum(json.loads(out)["posterior"].values()) == pytest.approx(1.0)


def test_explain_prints_tables(model: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["styles", "explain", str(model)], capsys, monkeypatch)
    assert code == 0
    for title in [
        "== Model",
        "== Consistency report",
        "== P(hair_color | hairstyle)",
        "by Bayes' rule",
        "== Mutual information",
    ]:
        assert title in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample", "{model}", "--given", "hat=red"], "--given: unknown attribute 'hat'"),
        (["sample", "{model}", "--given", "hair_color=blnde"], "attribute 'hair_color' has no value 'blnde'"),
        (["sample", "{model}", "--given", "hair_color"], "is not attribute=value"),
        (
            ["sample", "{model}", "--given", "hair_color=black", "--given", "hair_color=red"],
            "--given: attribute 'hair_color' is given twice",
        ),
        (["prob", "{model}", "skin=light", "skin=pale"], "style: attribute 'skin' is given twice"),
        (["sample", "{model}", "--format", "xml"], "--format 'xml' is unknown"),
        (["sample", "{model}", "-n", "-1"], "-n: -1 is out of range"),
        (["prob", "{model}", "skin=green"], "attribute 'skin' has no value 'green'"),
        (["prob", "{model}", "hat=x"], "unknown attribute 'hat'"),
        (["sample", "{tmp}/none.json"], "no such model file"),
        (
            ["fit", "{tmp}/bad.json", "-o", "{tmp}/out.json"],
            "bad.json: attribute 'hair', value 'bob': -1 is out of range",
        ),
        (["fit", "{tmp}/bad.csv", "-o", "{tmp}/out.json"], "bad.csv: row 1 (line 2), column 'b': empty cell"),
        (
            ["fit", str(EXAMPLE_STYLES), "-o", "{tmp}/out.json", "--alpha", "-1"],
            "--alpha: -1.0 is out of range",
        ),
        (
            ["fit", str(EXAMPLE_STYLES), "-o", "{tmp}/out.json", "--structure", "magic"],
            "structure 'magic' is unknown",
        ),
        (["fit", str(EXAMPLE_STYLES), "-o", "{model}"], "already exists"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    args: list[str],
    message: str,
    model: Path,
    tmp_path: Path,
    capsys,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "bad.json").write_text('{"attributes": {"hair": {"bob": -1}}}', encoding="utf-8")
    (tmp_path / "bad.csv").write_text("a,b\nx,\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["styles", *(a.format(model=model, tmp=tmp_path) for a in args)]
    code, _, err = run(argv, capsys, monkeypatch)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("avatargen: error: ")
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sample_most_probable_is_sorted(model: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        ["styles", "sample", str(model), "-n", "5", "--most-probable", "--format", "json"],
        capsys,
        monkeypatch,
    )
    probs = [r["probability"] for r in json.loads(out)]
    assert code == 0 and len(probs) == 5 and probs == sorted(probs, reverse=True)


def test_experiment_refuses_non_empty_folder(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "exp"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    code, _, err = run(["styles", "experiment", str(EXAMPLE_STYLES), "-o", str(out)], capsys, monkeypatch)
    assert code == 2 and "not empty" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.slow
def test_experiment_command_end_to_end(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "exp"
    args = [
        "styles",
        "experiment",
        str(EXAMPLE_STYLES),
        "--rules",
        str(EXAMPLE_RULES),
        "-o",
        str(out),
        "--seed",
        "2",
    ]
    code, stdout, err = run(args, capsys, monkeypatch)
    assert code == 0, err
    assert (out / "report.html").is_file() and "wrote" in stdout
    assert "declared" in (out / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "cmd",
    [
        ["styles", "fit", "{data}", "-o", "{data}", "--force"],
        ["styles", "sample", "{model}", "-o", "{model}", "--force"],
        ["styles", "explain", "{model}", "-o", "{model}", "--force"],
        ["styles", "experiment", "{data}", "-o", "{dir}", "--force"],
        ["demo", "--styles", "{data}", "-o", "{dir}", "--force"],
    ],
    ids=["fit", "sample", "explain", "experiment", "demo"],
)
def test_output_that_would_replace_an_input_is_refused(
    model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cmd: list[str],
) -> None:
    # the hunt: `styles fit t.csv -o t.csv --force` replaced the data with the model, exit 0
    data = tmp_path / "t.csv"
    data.write_bytes(EXAMPLE_STYLES.read_bytes())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    args = [a.format(data=data, model=model, dir=tmp_path) for a in cmd]
    code, _out, err = run(args, capsys, monkeypatch)
    assert code == 2 and "which writing the output would destroy" in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_output_onto_a_fifo_is_refused_with_force(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _out, err = run(["styles", "sample", str(model), "-o", str(fifo), "--force"], capsys, monkeypatch)
    assert code == 2 and "not a regular file" in err and stat.S_ISFIFO(fifo.lstat().st_mode)
