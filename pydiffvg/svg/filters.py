"""SVG filters -> filter objects for ``pydiffvg.Layer`` (see pydiffvg/layers.py).

``build_filter`` reads an element's ``filter`` property: ``url(#id)``
references to ``<filter>`` elements and CSS filter functions (blur(),
drop-shadow(), grayscale(), sepia(), saturate(), hue-rotate(), invert(),
opacity(), brightness(), contrast()), and returns a
:class:`pydiffvg.filters.FilterGraph` (or a chain of them) whose parameters
are in canvas units.

Conversions (as resvg, whose PNGs are the reference): the filter region and
the primitive subregions are user-space rectangles mapped through the
element's ctm to their canvas bounding box; lengths (stdDeviation, dx, dy,
radius, scale) scale by the norms of the ctm's rows (resvg's get_scale); in primitiveUnits
objectBoundingBox they first scale by the element's bbox size.

Bad input, as browsers and resvg do: an unknown ``in`` (including a result
defined later, so no cycle can form) is the previous result; a reference
to a missing or invalid filter hides the element; a zero-sized region
hides it; a malformed filter function list leaves the element unfiltered;
a primitive with invalid parameters yields a transparent result. A filter
region larger than ``pydiffvg.filters.MAX_FILTER_PIXELS`` after clipping to
the canvas (extended by two canvas sizes each way), or one whose
primitives times pixels exceed ``MAX_FILTER_WORK``, is refused: SVGError
in strict mode, else a warning and the element drawn unfiltered.
feConvolveMatrix kernels over MAX_KERNEL_ENTRIES give a transparent result;
numOctaves is capped at MAX_OCTAVES.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .. import filters as fx
from ..layers import BLEND_MODES
from .colors import ColorSyntaxError, parse_color
from .errors import SVGError
from .units import UnitError, parse_length, parse_number_list

MAX_KERNEL_ENTRIES = 1024   # feConvolveMatrix order x order; larger -> transparent + warning
MAX_OCTAVES = 32             # feTurbulence numOctaves cap

_FUNC = re.compile(r"\s*([a-zA-Z-]+)\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*")
_URL = re.compile(r"\s*url\(\s*(['\"]?)#([^'\")]*)\1\s*\)\s*")
_STANDARD_INPUTS = {"SourceGraphic": "SourceGraphic", "SourceAlpha": "SourceAlpha",
                    "BackgroundImage": "SourceGraphic", "BackgroundAlpha": "SourceGraphic",
                    "FillPaint": "SourceGraphic", "StrokePaint": "SourceGraphic"}


class FilterChain:
    """Several filters applied in turn (``filter: url(#a) blur(2px)``); the
    region is the union of theirs. Follows the filter protocol."""

    def __init__(self, filters):
        self.filters = list(filters)
        regions = [f.region for f in self.filters]
        if any(r is None for r in regions):
            self.region = None
        else:
            self.region = (min(r[0] for r in regions), min(r[1] for r in regions),
                           max(r[2] for r in regions), max(r[3] for r in regions))

    def apply(self, source, origin=(0.0, 0.0), scale=(1.0, 1.0), render_layer=None):
        out = source
        for f in self.filters:
            out = f.apply(out, origin, scale, render_layer)
        return out

    def to_svg(self, ident: str) -> str:
        """One ``<filter>`` for save_svg: the graphs' primitives in turn, each
        graph's SourceGraphic renamed to the previous graph's output and its
        SourceAlpha to that output's alpha (the graphs' own regions are
        replaced by their union)."""
        import copy
        from .filter_writer import filter_to_svg
        primitives, last = [], None
        for k, graph in enumerate(self.filters):
            rename = {}
            if last is not None:
                alpha = fx.ColorMatrix(np.eye(4, 5) * np.array([[0], [0], [0], [1]]),
                                       inputs=(last,), result=f"chain{k}_alpha")
                primitives.append(alpha)
                rename = {"SourceGraphic": last, "SourceAlpha": alpha.result}
            for j, prim in enumerate(graph.primitives):
                prim = copy.copy(prim)
                names = [None if n is None and j == 0 and last is not None else n for n in prim.inputs]
                prim.inputs = [last if (n is None and j == 0 and last is not None)
                               else (rename.get(n, f"chain{k}_{n}" if n and n not in rename
                                                and n not in ("SourceGraphic", "SourceAlpha") else n))
                               for n in names]
                prim.result = f"chain{k}_{prim.result or j}"
                primitives.append(prim)
            last = primitives[-1].result
        return filter_to_svg(fx.FilterGraph(primitives, region=self.region), ident)


def _local(elem) -> str:
    tag = elem.tag if isinstance(elem.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def _float(text, default):
    if text is None:
        return default
    try:
        value = float(text.strip())
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def _numbers(text):
    if text is None:
        return None
    try:
        return parse_number_list(text)
    except UnitError:
        return None


def _canvas_box(ctm, x, y, w, h):
    corners = np.array([[x, y, 1.0], [x + w, y, 1.0], [x, y + h, 1.0], [x + w, y + h, 1.0]])
    pts = corners @ ctm.T
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()),
            float(pts[:, 1].max()))


class _Env:
    """What converting one filtered element needs."""

    def __init__(self, loader, elem, bbox, ctm, viewport):
        self.loader, self.elem, self.bbox, self.ctm, self.viewport = loader, elem, bbox, ctm, viewport
        # resvg's Transform::get_scale: the norms of the matrix rows
        self.sx = math.hypot(ctm[0, 0], ctm[0, 1])
        self.sy = math.hypot(ctm[1, 0], ctm[1, 1])

    # -- properties that the style module does not list ----------------------
    def prop(self, elem, name, inherited=False):
        node = elem
        while node is not None and isinstance(node.tag, str):
            value = self.loader.specified(node).get(name, node.get(name))
            if value is not None and value.strip() != "inherit":
                return value.strip()
            if not inherited and value is None:
                return None
            node = self.loader.parent.get(id(node))
        return None

    def color(self, elem, name, opacity_name, default):
        text = self.prop(elem, name)
        rgba = default
        if text is not None:
            if text.lower() == "currentcolor":
                text = self.prop(elem, "color", inherited=True) or "black"
            try:
                parsed = parse_color(text)
                rgba = parsed if parsed is not None else (0.0, 0.0, 0.0, 0.0)
            except ColorSyntaxError:
                rgba = default
        opacity = 1.0
        if opacity_name:
            opacity = self.loader.opacity_value(self.prop(elem, opacity_name) or "1")
        return (rgba[0], rgba[1], rgba[2], rgba[3] * opacity)

    def user_length(self, text, axis):
        """A CSS length (filter functions) in user units; None if invalid."""
        font_px = getattr(self.loader, "_element_font_px", {}).get(id(self.elem), 16.0)
        try:
            return parse_length(text, self.viewport[0] if axis == 0 else self.viewport[1], font_px,
                                getattr(self.loader, "root_font_px", 16.0))
        except UnitError:
            return None


# ----------------------------------------------------------------------------
# <filter> elements
# ----------------------------------------------------------------------------

def _href_chain(loader, elem):
    chain, seen = [], set()
    node = elem
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        chain.append(node)
        node = loader.href_target(node)
    return chain


def _filter_attr(chain, name):
    for node in chain:
        if _local(node) != "filter":
            return None
        value = node.get(name)
        if value is not None:
            return value
    return None


def _units(text, default):
    text = (text or "").strip()
    return text if text in ("userSpaceOnUse", "objectBoundingBox") else default


def _number_or_fraction(text):
    """objectBoundingBox units: '0.1' or '10%' -> 0.1; None when invalid."""
    if text is None:
        return None
    text = text.strip()
    try:
        value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _resolve(env, elem, text, axis, units, default_text=None):
    """A coordinate of x/y/width/height in ``units``; None if unset/invalid."""
    if text is None:
        text = default_text
        if text is None:
            return None
    if units == "objectBoundingBox":
        return _number_or_fraction(text)
    percent_of = env.viewport[0] if axis == 0 else env.viewport[1]
    try:
        return parse_length(text.strip(), percent_of)
    except UnitError:
        if default_text is not None and text is not default_text:
            return parse_length(default_text, percent_of)
        return None


def _filter_element(env, target):
    """FilterGraph for a <filter>, or None when it is invalid (hide)."""
    loader = env.loader
    chain = _href_chain(loader, target)
    units = _units(_filter_attr(chain, "filterUnits"), "objectBoundingBox")
    prim_units = _units(_filter_attr(chain, "primitiveUnits"), "userSpaceOnUse")
    defaults = ("-10%", "-10%", "120%", "120%")
    values = [_resolve(env, target, _filter_attr(chain, n), k % 2, units, d)
              for k, (n, d) in enumerate(zip(("x", "y", "width", "height"), defaults))]
    if any(v is None for v in values) or values[2] <= 0 or values[3] <= 0:
        loader.warn("filter:region", f"{loader.describe(target)}: invalid filter region; "
                                     f"the filtered element is not drawn")
        return None
    x, y, w, h = values
    bbox = env.bbox
    if units == "objectBoundingBox":
        if bbox is None or bbox[2] - bbox[0] <= 0 or bbox[3] - bbox[1] <= 0:
            return None
        bw, bh = bbox[2] - bbox[0], bbox[3] - bbox[1]
        x, y, w, h = bbox[0] + x * bw, bbox[1] + y * bh, w * bw, h * bh
    user_region = (x, y, w, h)
    holder = None
    for node in chain:
        if _local(node) != "filter":
            loader.warn("filter:href", f"{loader.describe(target)}: href to a non-filter element")
            return None
        if any(isinstance(c.tag, str) for c in node):
            holder = node
            break
    if holder is None:
        return None
    region = _canvas_box(env.ctm, *user_region)   # rounded to pixels where it is drawn
    primitives = _primitives(env, holder, prim_units, user_region)
    if not primitives:
        return None
    return fx.FilterGraph(primitives, region=region)


def _subregion(env, child, tag, prim_units, region):
    """resvg's resolve_primitive_region (user space), None when empty."""
    get = {n: child.get(n) for n in ("x", "y", "width", "height")}
    vals = {}
    for k, n in enumerate(("x", "y", "width", "height")):
        vals[n] = None if get[n] is None else _resolve(env, child, get[n], k % 2, prim_units)
    rx, ry, rw, rh = region
    if tag in ("feFlood", "feImage") and prim_units == "objectBoundingBox":
        if env.bbox is None:
            return None
        b = env.bbox
        bw, bh = b[2] - b[0], b[3] - b[1]
        fx_, fy_ = vals["x"] if vals["x"] is not None else 0.0, vals["y"] if vals["y"] is not None else 0.0
        fw = vals["width"] if vals["width"] is not None else 1.0
        fh = vals["height"] if vals["height"] is not None else 1.0
        if fw <= 0 or fh <= 0:
            return None
        return (b[0] + fx_ * bw, b[1] + fy_ * bh, fw * bw, fh * bh)
    if prim_units == "objectBoundingBox":
        fx_ = vals["x"] if vals["x"] is not None else 0.0
        fy_ = vals["y"] if vals["y"] is not None else 0.0
        fw = vals["width"] if vals["width"] is not None else 1.0
        fh = vals["height"] if vals["height"] is not None else 1.0
        if fw <= 0 or fh <= 0:
            return None
        # resvg maps the filter region through the fractions (its known quirk)
        out = (rx * fw + fx_, ry * fh + fy_, rw * fw, rh * fh)
    else:
        out = (vals["x"] if vals["x"] is not None else rx, vals["y"] if vals["y"] is not None else ry,
               vals["width"] if vals["width"] is not None else rw,
               vals["height"] if vals["height"] is not None else rh)
    if out[2] <= 0 or out[3] <= 0:
        return None
    return out


def _primitives(env, holder, prim_units, user_region):
    loader = env.loader
    out = []
    names = set()
    counter = [1]
    if prim_units == "objectBoundingBox":
        if env.bbox is None:
            return []
        obb = (env.bbox[2] - env.bbox[0], env.bbox[3] - env.bbox[1])
    else:
        obb = (1.0, 1.0)

    def resolve_input(child, attr):
        text = child.get(attr)
        if text is None:
            return out[-1].result if out else "SourceGraphic"
        text = text.strip()
        if text in _STANDARD_INPUTS:
            return _STANDARD_INPUTS[text]
        if text in names:
            return text
        return out[-1].result if out else "SourceGraphic"

    for child in holder:
        if not isinstance(child.tag, str):
            continue
        tag = _local(child)
        if not tag.startswith("fe") or tag in ("feFuncR", "feFuncG", "feFuncB", "feFuncA",
                                               "feMergeNode", "feDistantLight", "fePointLight",
                                               "feSpotLight"):
            continue
        sub = _subregion(env, child, tag, prim_units, user_region)
        if sub is None:
            break
        space = env.prop(child, "color-interpolation-filters", inherited=True)
        space = space if space in ("sRGB", "linearRGB") else "linearRGB"
        common = dict(subregion=_canvas_box(env.ctm, *sub), color_space=space)
        try:
            prim = _primitive(env, child, tag, common, resolve_input, obb, sub)
        except (ValueError, TypeError, IndexError) as exc:
            loader.warn("filter:primitive", f"{loader.describe(child)}: {exc}; transparent result")
            prim = _dummy(common)
        if prim is None:
            loader.warn("filter:unknown:" + tag, f"<{tag}> is not a filter primitive; skipped")
            continue
        result = child.get("result")
        if result is None:
            while f"result{counter[0]}" in names:
                counter[0] += 1
            result = f"result{counter[0]}"
        counter[0] += 1
        prim.result = result
        names.add(result)
        out.append(prim)
    return out


def _dummy(common):
    return fx.Flood((0.0, 0.0, 0.0, 0.0), **common)


def _std_dev(child, default):
    values = _numbers(child.get("stdDeviation", default))
    if values is None or not 1 <= len(values) <= 2:
        return 0.0, 0.0
    sx, sy = (values[0], values[0]) if len(values) == 1 else values
    return max(sx, 0.0), max(sy, 0.0)


def _primitive(env, child, tag, common, resolve_input, obb, sub):
    sx, sy = env.sx, env.sy
    one = lambda: dict(inputs=(resolve_input(child, "in"),), **common)
    two = lambda: dict(inputs=(resolve_input(child, "in"), resolve_input(child, "in2")), **common)
    if tag == "feGaussianBlur":
        a, b = _std_dev(child, "0 0")
        return fx.GaussianBlur(a * obb[0] * sx, b * obb[1] * sy, **one())
    if tag == "feOffset":
        return fx.Offset(_float(child.get("dx"), 0.0) * obb[0] * sx,
                         _float(child.get("dy"), 0.0) * obb[1] * sy, **one())
    if tag == "feFlood":
        return fx.Flood(env.color(child, "flood-color", "flood-opacity", (0, 0, 0, 1)), **common)
    if tag == "feBlend":
        mode = (child.get("mode") or "normal").strip()
        return fx.Blend(mode if mode in BLEND_MODES else "normal", **two())
    if tag == "feComposite":
        op = (child.get("operator") or "over").strip()
        op = op if op in fx.Composite.OPERATORS else "over"
        k = [_float(child.get(f"k{i}"), 0.0) for i in range(1, 5)]
        return fx.Composite(op, k, **two())
    if tag == "feMerge":
        inputs = [resolve_input(node, "in") for node in child
                  if isinstance(node.tag, str) and _local(node) == "feMergeNode"]
        return fx.Merge(inputs, **common)
    if tag == "feTile":
        return fx.Tile(**one())
    if tag == "feImage":
        from .images import feimage_painter
        painter = feimage_painter(env, child, sub)
        return fx.Image(painter, **common) if painter is not None else _dummy(common)
    if tag == "feComponentTransfer":
        funcs = [None] * 4
        for node in child:
            if not isinstance(node.tag, str):
                continue
            channel = {"feFuncR": 0, "feFuncG": 1, "feFuncB": 2, "feFuncA": 3}.get(_local(node))
            if channel is None:
                continue
            kind = (node.get("type") or "").strip()
            if kind == "identity":
                funcs[channel] = None
            elif kind in ("table", "discrete"):
                funcs[channel] = (kind, _numbers(node.get("tableValues")) or [])
            elif kind == "linear":
                funcs[channel] = ("linear", _float(node.get("slope"), 1.0),
                                  _float(node.get("intercept"), 0.0))
            elif kind == "gamma":
                funcs[channel] = ("gamma", _float(node.get("amplitude"), 1.0),
                                  _float(node.get("exponent"), 1.0), _float(node.get("offset"), 0.0))
        funcs = [f if f is None or f[0] not in ("table", "discrete") or f[1] else None for f in funcs]
        return fx.ComponentTransfer(funcs, **one())
    if tag == "feColorMatrix":
        kind = (child.get("type") or "matrix").strip()
        values = _numbers(child.get("values"))
        matrix = fx.color_matrix_for("matrix", np.eye(4, 5).reshape(-1).tolist())
        if kind == "saturate" and values is not None:
            matrix = fx.color_matrix_for("saturate", min(1.0, max(0.0, values[0])) if values else 1.0)
        elif kind == "hueRotate" and values is not None:
            matrix = fx.color_matrix_for("hueRotate", values[0] if values else 0.0)
        elif kind == "luminanceToAlpha":
            matrix = fx.color_matrix_for("luminanceToAlpha")
        elif kind not in ("saturate", "hueRotate") and values is not None and len(values) == 20:
            matrix = fx.color_matrix_for("matrix", values)
        return fx.ColorMatrix(matrix, **one())
    if tag == "feConvolveMatrix":
        return _convolve(child, common, one)
    if tag == "feMorphology":
        op = "dilate" if (child.get("operator") or "").strip() == "dilate" else "erode"
        rx, ry = 1.0, 1.0
        values = _numbers(child.get("radius"))
        if child.get("radius") is not None:
            values = values or []
            a, b = (values[0], values[0]) if len(values) == 1 else (tuple(values) if len(values) == 2
                                                                     else (0.0, 0.0))
            if a == 0 and b == 0:
                a = b = 1.0
            a = 1.0 if a == 0 else a
            b = 1.0 if b == 0 else b
            if a >= 0 and b >= 0:
                rx, ry = a, b
        return fx.Morphology(op, rx * obb[0] * sx, ry * obb[1] * sy, **one())
    if tag == "feDisplacementMap":
        scale = _float(child.get("scale"), 0.0) * (obb[0] + obb[1]) / 2.0
        pick = lambda n: (child.get(n) or "A").strip() if (child.get(n) or "A").strip() in "RGBA" else "A"
        prim = fx.DisplacementMap(scale * sx, pick("xChannelSelector"), pick("yChannelSelector"),
                                  **two())
        return prim
    if tag == "feTurbulence":
        freq = _numbers(child.get("baseFrequency")) or []
        fxy = (freq[0], freq[0]) if len(freq) == 1 else (tuple(freq) if len(freq) == 2 else (0.0, 0.0))
        if fxy[0] < 0 or fxy[1] < 0:
            fxy = (0.0, 0.0)
        # octaves past 32 add less than 2^-32 each: capped (a 1e9 would hang)
        octaves = min(MAX_OCTAVES, max(0.0, _float(child.get("numOctaves"), 1.0)))
        seed = int(math.trunc(_float(child.get("seed"), 0.0)))
        kind = (child.get("type") or "turbulence").strip() == "fractalNoise"
        stitch = (child.get("stitchTiles") or "").strip() == "stitch"
        # canvas -> user as resvg maps it: (X - tx) / sx, (Y - ty) / sy
        ctm = env.ctm
        to_user = np.array([[1.0 / env.sx, 0.0, -ctm[0, 2] / env.sx],
                            [0.0, 1.0 / env.sy, -ctm[1, 2] / env.sy], [0.0, 0.0, 1.0]])
        return fx.Turbulence(fxy, int(round(octaves)), seed, stitch, kind,
                             canvas_to_user=to_user, inputs=(), **common)
    if tag == "feDropShadow":
        a, b = _std_dev(child, "2 2")
        color = env.color(child, "flood-color", "flood-opacity", (0, 0, 0, 1))
        return fx.DropShadow(_float(child.get("dx"), 2.0) * obb[0] * sx,
                             _float(child.get("dy"), 2.0) * obb[1] * sy,
                             a * obb[0] * sx, b * obb[1] * sy, color, **one())
    if tag in ("feDiffuseLighting", "feSpecularLighting"):
        return _lighting(env, child, tag, common, one)
    return None


def _convolve(child, common, one):
    order = _numbers(child.get("order"))
    ox, oy = 3, 3
    if child.get("order") is not None and order:
        a = int(order[0])
        b = int(order[1]) if len(order) > 1 else a
        if a > 0 and b > 0:
            ox, oy = a, b
    values = _numbers(child.get("kernelMatrix")) or []
    if len(values) != ox * oy:
        return _dummy(common)
    if ox * oy > MAX_KERNEL_ENTRIES:
        raise ValueError(f"kernel of {ox} x {oy} exceeds {MAX_KERNEL_ENTRIES} entries")
    total = round(sum(values) * 1e6) / 1e6
    if abs(total) < 1e-12:
        total = 1.0
    divisor = _float(child.get("divisor"), total)
    if abs(divisor) < 1e-12:
        return _dummy(common)

    def target(name, n):
        value = child.get(name)
        t = int(_float(value, float(n // 2))) if value is not None else n // 2
        return t if 0 <= t < n else None

    tx, ty = target("targetX", ox), target("targetY", oy)
    if tx is None or ty is None:
        return _dummy(common)
    edge = (child.get("edgeMode") or "duplicate").strip()
    edge = edge if edge in ("none", "wrap", "duplicate") else "duplicate"
    kernel = np.array(values, dtype=np.float32).reshape(oy, ox)
    return fx.ConvolveMatrix(kernel, divisor, _float(child.get("bias"), 0.0), (tx, ty), edge,
                             (child.get("preserveAlpha") or "").strip() == "true", **one())


def _lighting(env, child, tag, common, one):
    light_node = None
    for node in child:
        if isinstance(node.tag, str) and _local(node) in ("feDistantLight", "fePointLight",
                                                          "feSpotLight"):
            light_node = node
            break
    if light_node is None:
        return _dummy(common)
    kind = _local(light_node)
    get = lambda n, d=0.0: _float(light_node.get(n), d)
    ctm = env.ctm
    zscale = math.sqrt((ctm[0, 0] ** 2 + ctm[1, 1] ** 2) / 2.0)

    def point(x, y):
        p = ctm @ np.array([x, y, 1.0])
        return float(p[0]), float(p[1])

    if kind == "feDistantLight":
        light = fx.DistantLight(get("azimuth"), get("elevation"))
    elif kind == "fePointLight":
        px, py = point(get("x"), get("y"))
        light = fx.PointLight(px, py, get("z") * zscale)
    else:
        px, py = point(get("x"), get("y"))
        ax, ay = point(get("pointsAtX"), get("pointsAtY"))
        exponent = get("specularExponent", 1.0)
        exponent = exponent if exponent > 0 else 1.0
        cone = light_node.get("limitingConeAngle")
        light = fx.SpotLight(px, py, get("z") * zscale, ax, ay, get("pointsAtZ") * zscale,
                             exponent, None if cone is None else _float(cone, 90.0))
    text = env.prop(child, "lighting-color")
    color = (1.0, 1.0, 1.0)
    if text is not None:
        if text.lower() == "currentcolor":
            text = env.prop(child, "color", inherited=True) or "black"
        try:
            parsed = parse_color(text)
            color = tuple(parsed[:3]) if parsed is not None else (0.0, 0.0, 0.0)
        except ColorSyntaxError:
            color = (1.0, 1.0, 1.0)
    surface = _float(child.get("surfaceScale"), 1.0)
    if tag == "feDiffuseLighting":
        return fx.DiffuseLighting(light, surface, _float(child.get("diffuseConstant"), 1.0), color,
                                  **one())
    exponent = _float(child.get("specularExponent"), 1.0)
    if not 1.0 <= exponent <= 128.0:
        return _dummy(common)
    return fx.SpecularLighting(light, surface, _float(child.get("specularConstant"), 1.0), exponent,
                               color, **one())


# ----------------------------------------------------------------------------
# CSS filter functions
# ----------------------------------------------------------------------------

def _amount(args, default=1.0):
    text = args.strip()
    if not text:
        return default
    value = _number_or_fraction(text)
    if value is None or value < 0:
        raise ValueError(f"bad amount '{args}'")
    return value


def _angle(args):
    text = args.strip()
    if not text:
        return 0.0
    m = re.fullmatch(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(deg|grad|rad|turn)?", text)
    if not m:
        raise ValueError(f"bad angle '{args}'")
    value = float(m.group(1))
    unit = m.group(2) or ("deg" if value == 0 else None)
    if unit is None:
        raise ValueError(f"angle needs a unit: '{args}'")
    return {"deg": 1.0, "grad": 0.9, "rad": 180.0 / math.pi, "turn": 360.0}[unit] * value


def _function_primitive(env, name, args, common):
    if name == "blur":
        text = args.strip()
        std = 0.0
        if text:
            if text.endswith("%"):
                raise ValueError("blur() takes a length")
            std = env.user_length(text, 0)
            if std is None or std < 0:
                raise ValueError(f"bad blur radius '{args}'")
        return fx.GaussianBlur(std * env.sx, std * env.sy, **common)
    if name == "drop-shadow":
        color = None
        words = re.findall(r"[a-zA-Z]+\([^)]*\)|\S+", args)
        lengths = []
        for word in words:
            length = None if word.endswith("%") else env.user_length(word, 0)
            if length is not None and not re.fullmatch(r"[a-zA-Z]+", word):
                lengths.append(length)
                continue
            if color is not None:
                raise ValueError(f"bad drop-shadow '{args}'")
            try:
                color = parse_color(word) or (0.0, 0.0, 0.0, 0.0)
            except ColorSyntaxError:
                raise ValueError(f"bad drop-shadow '{args}'") from None
        if len(lengths) not in (0, 2, 3):
            raise ValueError(f"bad drop-shadow '{args}'")
        dx, dy, std = (lengths + [0.0, 0.0, 0.0])[:3] if lengths else (0.0, 0.0, 0.0)
        if std < 0:
            raise ValueError("negative drop-shadow blur")
        if color is None:
            color = env.color(env.elem, "color", None, (0, 0, 0, 1))
            text = env.prop(env.elem, "color", inherited=True)
            color = (parse_color(text) if text and text.lower() != "currentcolor" else None) or \
                (0.0, 0.0, 0.0, 1.0)
        return fx.DropShadow(dx * env.sx, dy * env.sy, std * env.sx, std * env.sy, color, **common)
    if name == "hue-rotate":
        return fx.ColorMatrix(fx.color_matrix_for("hueRotate", _angle(args)), **common)
    amount = _amount(args)
    if name in ("grayscale", "sepia"):
        a = min(amount, 1.0)
        r = 1.0 - a
        if name == "grayscale":
            rows = [[0.2126 + 0.7874 * r, 0.7152 - 0.7152 * r, 0.0722 - 0.0722 * r],
                    [0.2126 - 0.2126 * r, 0.7152 + 0.2848 * r, 0.0722 - 0.0722 * r],
                    [0.2126 - 0.2126 * r, 0.7152 - 0.7152 * r, 0.0722 + 0.9278 * r]]
        else:
            rows = [[0.393 + 0.607 * r, 0.769 - 0.769 * r, 0.189 - 0.189 * r],
                    [0.349 - 0.349 * r, 0.686 + 0.314 * r, 0.168 - 0.168 * r],
                    [0.272 - 0.272 * r, 0.534 - 0.534 * r, 0.131 + 0.869 * r]]
        m = np.zeros((4, 5))
        m[:3, :3] = rows
        m[3, 3] = 1.0
        return fx.ColorMatrix(m.astype(np.float32), **common)
    if name == "saturate":
        return fx.ColorMatrix(fx.color_matrix_for("saturate", amount), **common)
    if name == "invert":
        a = min(amount, 1.0)
        table = ("table", [a, 1.0 - a])
        return fx.ComponentTransfer([table, table, table, None], **common)
    if name == "opacity":
        return fx.ComponentTransfer([None, None, None, ("table", [0.0, min(amount, 1.0)])], **common)
    if name == "brightness":
        lin = ("linear", amount, 0.0)
        return fx.ComponentTransfer([lin, lin, lin, None], **common)
    if name == "contrast":
        lin = ("linear", amount, 0.5 - 0.5 * amount)
        return fx.ComponentTransfer([lin, lin, lin, None], **common)
    raise ValueError(f"unknown filter function {name}()")


def _function_filter(env, name, args):
    if env.bbox is None:
        env.loader.warn("filter:function-bbox", f"{env.loader.describe(env.elem)}: filter "
                                                f"function on an element without a bounding box")
        return None
    x0, y0, x1, y1 = env.bbox
    bw, bh = x1 - x0, y1 - y0
    if bw <= 0 or bh <= 0:
        return None
    frac = (-0.5, -0.5, 2.0, 2.0) if name in ("blur", "drop-shadow") else (-0.1, -0.1, 1.2, 1.2)
    user = (x0 + frac[0] * bw, y0 + frac[1] * bh, frac[2] * bw, frac[3] * bh)
    box = _canvas_box(env.ctm, *user)
    common = dict(subregion=box, color_space="sRGB", inputs=("SourceGraphic",))
    if name in ("blur", "drop-shadow", "hue-rotate"):
        prim = _function_primitive(env, name, args, common)
    else:
        prim = _function_primitive(env, name, args, common)
    return fx.FilterGraph([prim], region=box)


def _parse_list(text):
    """[('url', id) | (name, args)] or None when the list does not parse."""
    items, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _URL.match(text, pos)
        if m:
            items.append(("url", m.group(2)))
            pos = m.end()
            continue
        m = _FUNC.match(text, pos)
        if not m:
            return None
        items.append((m.group(1).lower(), m.group(2)))
        pos = m.end()
    return items


# ----------------------------------------------------------------------------
# The hook
# ----------------------------------------------------------------------------

def _canvas_size(loader):
    size = getattr(loader, "_filter_canvas_size", None)
    if size is None:
        from .parser import _root_size
        try:
            w, h = _root_size(loader, loader.root)[:2]
        except SVGError:
            w, h = 100.0, 100.0
        size = (w, h)
        loader._filter_canvas_size = size
    return size


def _limit(loader, elem, graph):
    """Clip the region to the canvas (extended by two canvas sizes each way,
    as resvg does) and refuse regions over MAX_FILTER_PIXELS, or graphs whose
    primitives times region pixels exceed MAX_FILTER_WORK (each primitive's
    image is kept for the backward pass)."""
    w, h = _canvas_size(loader)
    x0, y0, x1, y1 = graph.region
    x0, y0 = max(x0, -2 * math.ceil(w)), max(y0, -2 * math.ceil(h))
    x1, y1 = min(x1, 3 * math.ceil(w)), min(y1, 3 * math.ceil(h))
    if x1 <= x0 or y1 <= y0:
        return "hide"
    pixels = math.ceil(x1 - x0) * math.ceil(y1 - y0)
    work = pixels * len(graph.primitives)
    message = None
    if pixels > fx.MAX_FILTER_PIXELS:
        message = (f"{loader.describe(elem)}: filter region of {x1 - x0:g} x {y1 - y0:g} px exceeds "
                   f"MAX_FILTER_PIXELS = {fx.MAX_FILTER_PIXELS}")
    elif work > fx.MAX_FILTER_WORK:
        message = (f"{loader.describe(elem)}: {len(graph.primitives)} primitives over "
                   f"{x1 - x0:g} x {y1 - y0:g} px exceed MAX_FILTER_WORK = {fx.MAX_FILTER_WORK} "
                   f"pixel-primitives")
    if message is not None:
        if loader.strict:
            raise SVGError(message)
        loader.warn("filter:too-large", message + "; drawn unfiltered")
        return None
    graph.region = (float(x0), float(y0), float(x1), float(y1))
    return graph


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
    text = (value or "").strip()
    if not text or text == "none":
        return None
    from .images import _ELEMENT_DEPTH
    if _ELEMENT_DEPTH[0] > 0:   # drawn by feImage: filters are ignored there (resvg)
        return None
    items = _parse_list(text)
    if items is None:
        loader.warn("filter:syntax", f"{loader.describe(elem)}: cannot parse filter '{text}'; "
                                     f"ignored")
        return None
    ctm = np.asarray(ctm, dtype=np.float64)
    env = _Env(loader, elem, bbox, ctm, viewport)
    graphs, invalid = [], False
    for kind, arg in items:
        if kind == "url":
            target = loader.ids.get(arg)
            if target is None or _local(target) != "filter":
                loader.warn("filter:missing", f"{loader.describe(elem)}: filter reference "
                                              f"#{arg} is missing or not a <filter>; the element "
                                              f"is not drawn")
                invalid = True
                continue
            graph = _filter_element(env, target)
            if getattr(env, "self_reference", False):
                loader.warn("filter:self-reference", f"{loader.describe(elem)}: feImage draws the "
                                                     f"filtered element itself; drawn unfiltered")
                return None
            if graph is None:
                invalid = True
                continue
            graphs.append(graph)
        else:
            try:
                graph = _function_filter(env, kind, arg)
            except ValueError as exc:
                loader.warn("filter:function", f"{loader.describe(elem)}: {exc}; filter ignored")
                return None
            if graph is not None:
                graphs.append(graph)
    if not graphs:
        return "hide" if invalid else None
    limited = []
    for graph in graphs:
        result = _limit(loader, elem, graph)
        if result == "hide":
            return "hide"
        if result is not None:
            limited.append(result)
    if not limited:
        return None
    return limited[0] if len(limited) == 1 else FilterChain(limited)
