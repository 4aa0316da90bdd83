"""Reporting: figures (``plots``), the run's HTML report (``run_report``), the experiment's error
analysis (``error_analysis``) and tracking to local files / Weights & Biases (``tracking``)."""
