"""SVG filters -> filter objects for ``pydiffvg.Layer`` (see pydiffvg/layers.py).

Placeholder: filters are not implemented yet; ``build_filter`` warns and
returns None, which leaves the element unfiltered.
"""
from __future__ import annotations


def build_filter(loader, value, elem, bbox, ctm, viewport):
    """The filter object for an element's ``filter`` property.

    loader: the SVG loader (``parser._Loader``): ids, styles, lengths, warn.
    value: the property's text (``url(#f)``, or CSS filter functions).
    elem: the filtered element; bbox: its user-space bounding box
    (x0, y0, x1, y1) or None when it has none; ctm: its 3x3 user-to-canvas
    matrix (numpy); viewport: (width, height) of its viewport in user units.

    Returns a filter object, None to draw the element unfiltered, or the
    string "hide" when the element must not be drawn (a reference to a
    missing or invalid filter, as browsers do).
    """
    loader.warn("property:filter", f"{loader.describe(elem)}: property filter is not supported "
                                   f"and is ignored")
    return None
