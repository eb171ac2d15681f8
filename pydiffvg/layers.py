"""The scene as a tree: ``Layer`` nodes composited in torch.

A scene's ``shape_groups`` list may hold ``Layer`` objects beside
``ShapeGroup`` objects. A list of plain groups is the fast path: one kernel
call draws it. A ``Layer`` draws its children (groups and layers, in order)
into an image of its own, isolated from what lies below, and then
composites that image onto its parent:

    content = children composited with "over" (and their blend modes)
    content = filter(content)                    (a torch op on the image)
    content = content * clip coverage * mask value * opacity
    parent  = blend(parent, content)             (mix-blend-mode)

Runs of consecutive ``ShapeGroup`` children are drawn by the kernel as one
image each, premultiplied, at the output size; all the runs of a tree (clip
and mask content included) are drawn in one batched kernel call. The kernel
supplies the exact boundary gradients inside each image (clip and mask
edges too, since it draws them), and autograd carries the gradients through
the compositing below.

Coordinates: every group keeps its ``shape_to_canvas``; a clip path or a
mask is itself a ``Layer`` in canvas coordinates (the SVG importer resolves
clipPathUnits, maskUnits and the element's transform into it).

Filters: ``Layer.filter`` is any object with

* ``region``: ``(x0, y0, x1, y1)`` in canvas units, the filter region (the
  content is drawn over it, and nothing outside it survives), or ``None``
  for the whole canvas;
* ``apply(source, origin, scale, render_layer)``: ``source`` is the
  layer's content, a premultiplied sRGB float tensor (H, W, 4) covering the
  region, whose pixel (0, 0) has its top-left corner at canvas point
  ``origin`` and which has ``scale = (sx, sy)`` pixels per canvas unit;
  ``render_layer(layer, origin, scale, size)`` draws another layer (for
  feImage) the same way. It returns a tensor of the same shape.
"""
from __future__ import annotations

BLEND_MODES = ("normal", "multiply", "screen", "overlay", "darken", "lighten", "color-dodge",
               "color-burn", "hard-light", "soft-light", "difference", "exclusion", "hue",
               "saturation", "color", "luminosity")

__all__ = ["Layer", "BLEND_MODES"]


class Layer:
    """A node of the scene tree.

    children: list of ShapeGroup and Layer, drawn in order (shape ids index
        the scene's shape list, as for top-level groups).
    opacity: float or float tensor () in [0, 1]; the layer is drawn opaque,
        then faded as a whole (overlapping children do not double-darken).
    clip_path: None or a Layer whose alpha (coverage) multiplies this one.
    mask: None or a Layer; its luminance times its alpha (``mask_type``
        "luminance", SVG's default) or its alpha ("alpha") multiplies this
        layer. Luminance uses sRGB values with the linearRGB coefficients, as
        browsers do with color-interpolation sRGB.
    filter: None or a filter object (see the module docstring).
    blend_mode: one of BLEND_MODES (CSS mix-blend-mode).
    isolate: accepted for CSS ``isolation``; every Layer is already drawn
        isolated, so it only makes a plain group a layer.
    id: the SVG id, kept for export.
    """

    def __init__(self, children, opacity=1.0, clip_path=None, mask=None, mask_type="luminance",
                 filter=None, blend_mode="normal", isolate=False, id=""):
        self.children = list(children)
        self.opacity = opacity
        self.clip_path = clip_path
        self.mask = mask
        self.mask_type = mask_type
        self.filter = filter
        self.blend_mode = blend_mode
        self.isolate = bool(isolate)
        self.id = id
        self.check()

    def check(self):
        from .shapes import ShapeGroup
        if self.blend_mode not in BLEND_MODES:
            raise ValueError(f"Layer: blend_mode must be one of {', '.join(BLEND_MODES)}, "
                             f"got {self.blend_mode!r}")
        if self.mask_type not in ("luminance", "alpha"):
            raise ValueError(f"Layer: mask_type must be 'luminance' or 'alpha', got {self.mask_type!r}")
        for k, child in enumerate(self.children):
            if not isinstance(child, (ShapeGroup, Layer)):
                raise TypeError(f"Layer: children[{k}] must be a ShapeGroup or a Layer, "
                                f"got {type(child).__name__}")
        for name in ("clip_path", "mask"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Layer):
                raise TypeError(f"Layer: {name} must be None or a Layer, got {type(value).__name__}")
        if self.filter is not None and not hasattr(self.filter, "apply"):
            raise TypeError(f"Layer: filter must have an apply() method, got {type(self.filter).__name__}")

    def groups(self):
        """Every ShapeGroup below this layer, clip and mask content included."""
        for child in self.children:
            if isinstance(child, Layer):
                yield from child.groups()
            else:
                yield child
        for sub in (self.clip_path, self.mask):
            if sub is not None:
                yield from sub.groups()

    def __repr__(self):
        extras = [f"{n}=..." for n in ("clip_path", "mask", "filter") if getattr(self, n) is not None]
        if self.blend_mode != "normal":
            extras.append(f"blend_mode={self.blend_mode!r}")
        return f"Layer({len(self.children)} children, opacity={self.opacity}{', ' if extras else ''}" \
               f"{', '.join(extras)})"
