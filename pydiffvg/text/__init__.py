"""Text as differentiable glyph outlines.

* :func:`text_to_paths` (also ``pydiffvg.text_to_paths``): a string -> closed
  Paths, one per glyph contour, whose points are torch expressions of the
  position, size and spacing (see ``api``).
* ``svg.emit_text``: SVG ``<text>`` for the loader (see ``svg`` and ``layout``).
* :func:`font_database`: the fonts found in ``font_dirs``,
  ``PYDIFFVG_FONT_DIRS`` and the system folders (see ``fonts``).

Needs ``uharfbuzz`` and ``fontTools`` (``pip install pydiffvg[text]``).
"""
from .api import MAX_TEXT_CHARS, GlyphPlacement, TextPaths, text_to_paths
from .fonts import FontDatabase, font_database

__all__ = ["text_to_paths", "TextPaths", "GlyphPlacement", "font_database", "FontDatabase",
           "MAX_TEXT_CHARS"]
