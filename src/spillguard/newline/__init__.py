"""Learning a new line's data with the defaults (issue 13): input size, schedule, generic synthetic
anomalies, the validation gate and the procedural surface domain."""
