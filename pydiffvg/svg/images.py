"""The SVG ``image`` element -> a ``pydiffvg.Layer`` drawing a raster.

Placeholder: images are not implemented yet; ``emit_image`` warns once.
"""
from __future__ import annotations


def emit_image(loader, elem, style, ctm, viewport):
    """Appends what an ``<image>`` draws to ``loader.groups`` (the current
    container: a Layer, or nothing when the image cannot be drawn)."""
    loader.warn("image", f"SVG element <image> is not supported; skipped (first: {loader.describe(elem)})")
