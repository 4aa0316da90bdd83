"""The verdict store: every verdict a row, operator feedback its own table, kept images as
content-addressed files. ``base.Store`` is the database-neutral interface the service uses and
``records`` its records; ``sqlite.SQLiteStore`` implements it, ``postgres.PostgresStore`` too (a plant) (``schema``: tables and migrations,
``writer``: the group-commit thread, ``queries``: the reads, ``images``: the image files).
"""

from spillguard.deploy.service.store.base import READABLE_VERSIONS, SCHEMA_VERSION, Store, StoreUnavailable
from spillguard.deploy.service.store.images import ImageFiles
from spillguard.deploy.service.store.records import (
    LABELS,
    Feedback,
    LabelledVerdict,
    ModelRecord,
    NewVerdict,
    Recent,
    ReviewCounts,
    Verdict,
    VerdictFields,
)
from spillguard.deploy.service.store.sqlite import SQLiteStore, open_readonly

__all__ = [
    "LABELS",
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "Feedback",
    "ImageFiles",
    "LabelledVerdict",
    "ModelRecord",
    "NewVerdict",
    "Recent",
    "ReviewCounts",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
    "Verdict",
    "VerdictFields",
    "open_readonly",
]
