"""The exception raised for SVG input that cannot be read."""


class SVGError(ValueError):
    """Malformed or hostile SVG input.

    The message names the element (tag and id when it has one) or the offset
    in the path data, and the problem.
    """
