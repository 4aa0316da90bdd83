"""Post-processing: anomaly scores from reconstruction errors (``scores``) and every threshold rule
(``thresholds``: fpr, balanced, prior, stream), each with one meaning."""
