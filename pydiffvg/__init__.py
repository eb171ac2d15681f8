"""pydiffvg: differentiable vector graphics for PyTorch."""
from .shapes import (Circle, Ellipse, Rect, Polygon, Path, ShapeGroup, LinearGradient,
                     RadialGradient, PixelFilter, FilterType, OutputType, LineCap, LineJoin)
