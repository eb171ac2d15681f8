"""Alias module for code that does ``import diffvg`` to reach the enums."""
from pydiffvg.shapes import FilterType, LineCap, LineJoin, OutputType  # noqa: F401
