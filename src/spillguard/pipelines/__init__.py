"""Pipelines: compose the stages and return result objects that the reports render: ``train``
(a run folder), ``evaluate`` (a run on labelled images), ``predict`` (verdicts for new images),
``experiment`` (several configs compared) and ``demo``."""
