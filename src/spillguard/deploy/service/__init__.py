"""The scoring service for the line: FastAPI app (``app``), verdict store (``store``), in-server
micro-batcher (``batching``), drift checks (``drift``), the review page and operator feedback export.

Importing this package pulls in no web dependency; ``app`` needs the ``serve`` extra.
"""
