"""Data: layouts and loading (``loading``), the network's input (``preprocess``), training
augmentation (``augmentation``), simulated camera shift (``camera_shift``), procedural spill looks
and occluders (``spill_looks``) and the synthetic pit data set (``synthetic``).

The loading API is re-exported here: ``from spillguard.data import decode_image, load_sources``.
"""

from spillguard.data.loading import (
    LABEL_WORDS,
    LAYOUT_HELP,
    ImageSet,
    Skip,
    Sources,
    check_skips,
    decode_image,
    expand_inputs,
    input_folders,
    labelled_sources,
    list_images,
    load_images,
    load_sources,
    read_annotation,
    read_manifest,
    report_skips,
    resize_to_input,
    training_sources,
)

__all__ = [
    "LABEL_WORDS",
    "LAYOUT_HELP",
    "ImageSet",
    "Skip",
    "Sources",
    "check_skips",
    "decode_image",
    "expand_inputs",
    "input_folders",
    "labelled_sources",
    "list_images",
    "load_images",
    "load_sources",
    "read_annotation",
    "read_manifest",
    "report_skips",
    "resize_to_input",
    "training_sources",
]
