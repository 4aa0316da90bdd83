"""Metrics: rates with Wilson CIs and ranking metrics with bootstrap CIs (``detection``), and the
robustness suite that needs no test labels (``robustness``)."""
