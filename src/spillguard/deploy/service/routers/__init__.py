"""The service's routes by concern: ``scoring`` (score one or a batch), ``verdicts`` (a stored verdict,
its image, its explanation), ``feedback`` (an operator's label), ``admin`` (reload), ``probes``
(health, readiness, metrics) and ``review`` (the QC page and the drift figures)."""
