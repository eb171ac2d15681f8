from pydiffvg.shapes import FilterType, OutputType  # noqa: F401
