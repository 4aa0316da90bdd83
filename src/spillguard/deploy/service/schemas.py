"""Typed requests and responses of the API (pydantic models; they make the OpenAPI docs at /docs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from spillguard.deploy.service.model import LoadedModel
    from spillguard.deploy.service.store.records import Verdict as StoredVerdict

Verdict = Literal["spill", "no_spill"]


class ModelOut(BaseModel):
    """The model that made a verdict."""

    id: str = Field(description="run folder name @ first 12 hex digits of the checkpoint's sha256")
    run: str
    config: str = Field(description="architecture/score, e.g. conv_ae_head/head")
    trained_at: str = Field(description="when the checkpoint was written (ISO 8601, UTC)")
    spillguard_version: str


class ScoreOut(BaseModel):
    """One scored image."""

    id: int = Field(description="stored verdict id (GET /v1/verdicts/{id})")
    verdict: Verdict
    score: float
    threshold: float
    rule: str = Field(description="threshold rule of the verdict (e.g. prior, fpr, balanced)")
    model: ModelOut
    latency_ms: float = Field(description="time in the server, from request to stored verdict")
    camera: str | None = None
    source: str | None = None
    image_sha256: str


class BatchOut(BaseModel):
    """Many scored images, in the order they were sent."""

    count: int
    latency_ms: float
    results: list[ScoreOut]


class FeedbackIn(BaseModel):
    """An operator's label for a verdict: ``spill`` (a real spill) or ``no_spill`` (a false alarm)."""

    label: Verdict
    operator: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=500)


class FeedbackOut(BaseModel):
    """A stored label."""

    id: int
    verdict_id: int
    label: Verdict
    operator: str
    created_at: str
    note: str


class VerdictOut(BaseModel):
    """A stored verdict with its latest operator label."""

    id: int
    created_at: str
    camera: str | None
    source: str | None
    image_sha256: str
    image_kept: bool = Field(description="image kept on disk (every flagged pit, a sample of normals)")
    score: float
    threshold: float
    rule: str
    verdict: Verdict
    model_id: str
    brightness: float
    saturation: float
    feedback: FeedbackOut | None = None


class ReloadIn(BaseModel):
    """A run folder (or checkpoint file) on the server to load and swap in."""

    run: str = Field(min_length=1, max_length=1000)


class ReloadOut(BaseModel):
    """The model now in use and the one it replaced."""

    model: ModelOut
    previous: ModelOut


class ReadyOut(BaseModel):
    """Readiness: model loaded and the database writable."""

    ready: bool
    model: ModelOut | None = None
    database: str


class ErrorOut(BaseModel):
    """Every error: a short code and a one-line message naming the problem."""

    error: str
    message: str
    part: int | None = Field(None, description="batch: 0-based index of the rejected file part")
    filename: str | None = Field(None, description="batch: the rejected part's file name (a label)")
    model_id: str | None = Field(None, description="explain: the model the error is about")


def model_out(model: LoadedModel) -> ModelOut:
    """The response form of a model's description."""
    i = model.info
    return ModelOut(
        id=i.model_id,
        run=i.run,
        config=i.config,
        trained_at=i.trained_at,
        spillguard_version=i.spillguard_version,
    )


def verdict_out(v: StoredVerdict) -> VerdictOut:
    """The response form of a stored verdict (its fields read by name, the latest label nested)."""
    return VerdictOut.model_validate(v, from_attributes=True)
