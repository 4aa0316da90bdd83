"""The validation gate's verdicts and the --require-auc rule."""

from __future__ import annotations

from spillguard.metrics.gate import MIN_KNOWN, gate_lines, requirement_failure, validation_gate

GOOD = {"roc_auc": 0.97, "roc_auc_ci": (0.93, 0.99)}
SYN = {"roc_auc": 0.95, "roc_auc_ci": (0.92, 0.98)}


def test_passes_with_enough_known_and_strong_aucs() -> None:
    g = validation_gate(GOOD, 20, SYN)
    assert g["passed"] and g["auc"] == 0.95 and not g["warnings"]
    assert "passed" in gate_lines(g)[0]
    assert requirement_failure(g, 0.9) is None
    assert "0.950" in str(requirement_failure(g, 0.96))


def test_too_few_known_anomalies_warns_and_fails_any_requirement() -> None:
    g = validation_gate(GOOD, MIN_KNOWN - 1, SYN)
    assert not g["passed"] and g["auc"] is None
    assert f"only {MIN_KNOWN - 1} known anomalies" in g["warnings"][0]
    assert "add known defect images" in g["advice"]
    assert "cannot be measured" in str(requirement_failure(g, 0.5))
    assert gate_lines(g)[0].startswith("WARNING")


def test_weak_known_or_synthetic_auc_warns() -> None:
    weak = validation_gate({"roc_auc": 0.7, "roc_auc_ci": (0.6, 0.8)}, 30, SYN)
    assert not weak["passed"] and "0.700 [0.600, 0.800] < 0.9" in weak["warnings"][0]
    assert weak["auc"] == 0.7
    syn = validation_gate(GOOD, 30, {"roc_auc": 0.8})
    assert not syn["passed"] and "synthetic" in syn["warnings"][0]
