"""The Scene container returned by load_svg and accepted by render."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Scene:
    """A canvas size plus shapes and shape groups (diffvg's 4-tuple).

    Iterating yields ``canvas_width, canvas_height, shapes, shape_groups`` so
    ``w, h, shapes, groups = scene`` works like diffvg's ``svg_to_scene``.
    """
    canvas_width: int
    canvas_height: int
    shapes: list = field(default_factory=list)
    shape_groups: list = field(default_factory=list)

    def __iter__(self):
        return iter((self.canvas_width, self.canvas_height, self.shapes, self.shape_groups))
