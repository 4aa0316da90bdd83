"""The named choices avatargen's command line offers (style structures, built-in mappings, pixel
methods), in a module that imports nothing, so that the CLI shell and its help start on the core
dependencies; the library modules that implement them import their names from here."""

from __future__ import annotations

#: How `styles fit` links attributes (avatargen.styles.structure).
STRUCTURES = ("chow-liu", "independent", "declared")

#: Mappings shipped in avatargen/render/mappings/ (avatargen.render.mapping).
BUILTIN_MAPPINGS = ("english", "course_ru")

#: Pixel models (avatargen.pixels.methods.METHODS has one class per name) and the coherent default.
PIXEL_METHODS = ("literal", "joint", "parts")
DEFAULT_PIXEL_METHOD = "parts"
