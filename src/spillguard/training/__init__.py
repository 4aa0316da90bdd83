"""Training: one loop (``loop``) shared by three objectives: reconstruction of normals
(``reconstruction``), the supervised spill head by outlier exposure (``spill_head``), and the
decoder fitted with the encoder frozen (``decoder``)."""
