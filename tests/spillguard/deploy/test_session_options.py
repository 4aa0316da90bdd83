"""The onnxruntime session spillguard creates: thread count from SPILLGUARD_THREADS, no inter-op pool,
thread-pool spinning off; scoring in small batches gives the scores of one whole-array call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from spillguard.deploy.runtime import ONNX_BATCH, OnnxDetector


@pytest.mark.parametrize("threads", ["1", "2"])
def test_loaded_session_has_spillguard_options(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, threads: str
) -> None:
    monkeypatch.setenv("SPILLGUARD_THREADS", threads)
    opts = OnnxDetector.load(tiny_onnx).session_.get_session_options()
    assert opts.intra_op_num_threads == int(threads)
    assert opts.inter_op_num_threads == 1
    assert opts.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def test_small_batches_give_the_scores_of_one_call(
    tiny_onnx: Path, synth_images: tuple[list[Path], np.ndarray]
) -> None:
    _, images = synth_images
    n = min(len(images), 3 * ONNX_BATCH + 5)  # a partial last batch
    assert n > ONNX_BATCH
    det = OnnxDetector.load(tiny_onnx)
    small = det.score_samples(images[:n])
    whole = det.score_samples(images[:n], batch=n)
    assert small.shape == (n,) and small.dtype == np.float32
    np.testing.assert_allclose(small, whole, rtol=1e-6, atol=0)
