"""SVG document structure and geometry -> pydiffvg shapes and groups.

What each element becomes
-------------------------
* ``circle`` -> Circle, ``ellipse`` -> Ellipse, ``rect`` -> Rect (or a Path of
  lines and cubics when rounded, and a closed Path of four lines when it is
  stroked with a miter or bevel join: the renderer strokes Rect shapes with
  round corners, as diffvg does; circles and ellipses have no corners, so
  their stroke is the same for every join), ``line``/``polyline`` -> open
  Polygon (stroked with the style's caps and joins),
  ``polygon`` -> closed Polygon, ``path`` -> one Path per subpath, all in one
  ShapeGroup so the group's fill rule applies across subpaths.
* Every shape gets one ShapeGroup (two when dashed or when ``paint-order``
  puts the stroke first). ``shape_to_canvas`` is the full current transform,
  viewBox mappings included; geometry and paints stay in user space.
* Degenerate shapes (zero radius, zero width or height) are skipped, as the
  SVG spec says.

Approximations
--------------
* Dashes are cut at load time into open subpaths; the pattern restarts at
  every subpath.
* A stroked path whose caps or joins are not both round has its flat
  curves (control points within sqrt(1e-5) of the curve's size from one
  line) replaced by lines, as Skia strokes them (``paths.
  straighten_flat_curves``); this fixes their end tangents, and so the caps
  and joins, and moves the fill by at most that tolerance.

Nested viewports
----------------
A nested ``svg`` (or a ``symbol``/``svg`` instantiated by ``use``) clips its
content to its viewport rectangle unless ``overflow`` is ``visible`` or
``auto``. Fills are clipped exactly: a shape entirely inside is kept as it is,
one entirely outside is dropped, and one that crosses the edge becomes the
Path of its fill region cut by the rectangle (see ``paths.clip_subpaths``).
A stroke entirely inside or outside is kept or dropped; a stroke that
crosses the edge becomes a Layer clipped to the viewport rectangles.

Layers
------
An element with ``opacity`` below 1, a ``clip-path``, a ``mask``, a
``filter``, a ``mix-blend-mode`` or ``isolation: isolate`` draws its content
into a ``pydiffvg.Layer`` (see masking.py and pydiffvg/layers.py); a single
shape with one paint is faded on its paint instead, which is exact.
``image`` elements go through images.py, ``filter`` through filters.py and
``pattern`` paints through patterns.py. ``text`` (with ``tspan``, ``tref``,
``textPath``) becomes glyph outline Paths: see pydiffvg/text/svg.py
(``emit_text``).

Unsupported elements (``foreignObject`` and the SVG 2 elements listed in
UNSUPPORTED) are skipped with one warning per kind per load ("... is not
supported"). Markers are drawn by ``markers.py``. ``switch`` renders its
first direct child whose conditional attributes (``systemLanguage``
against the ``languages`` argument, ``requiredExtensions``,
``requiredFeatures``) hold; the same attributes on any rendered element
decide whether it renders. An element SVG does not define is not rendered,
with its subtree, as SVG 1.1 prescribes (one warning per name).

The root element's ``background-color`` paints the whole canvas (CSS 2.1
14.2), as a canvas-sized Rect in the first group.

Hostile input: XML is parsed with ``defusedxml`` (external references and
parameter or nested entities refused; simple internal entities are expanded
up to ``xmlsource.MAX_ENTITY_EXPANSION`` bytes in all); ``use`` expansion is bounded in depth and in the total
number of elements instantiated; reference cycles are detected.
"""
from __future__ import annotations

import math
import re
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..layers import Layer
from ..scene_types import Scene
from ..shapes import Rect, ShapeGroup
from . import context, images, markers, masking
from .conditional import conditions_pass, switch_choice
from .colors import ColorSyntaxError, parse_color
from .drawing import _PAINT_URL, ShapeEmitter
from .errors import SVGError
from .style import (INHERITED_PROPERTIES, INITIAL_VALUES, parse_stylesheet, selector_matches,
                    cascade)
from .xmlsource import parse_xml, read_source, split_tag
from .units import (MEDIUM_FONT_PX, UnitError, parse_aspect_ratio, parse_font_size,
                    parse_length, parse_number_list, parse_transform, translate,
                    viewbox_transform)

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"

#: Limits against hostile documents.
MAX_USE_DEPTH = 32
MAX_ELEMENTS = 200_000          # elements in the document
MAX_USE_EXPANDED = 10_000       # elements instantiated through ``use``
MAX_NESTING = 256               # element nesting depth (keeps recursion bounded)

UNSUPPORTED = {"foreignObject",
               # SVG 2 and its drafts: known, but not implemented here
               "hatch", "hatchpath", "mesh", "meshgradient", "meshpatch", "meshrow",
               "solidcolor", "discard", "video", "audio", "iframe", "canvas"}
NOT_RENDERED = {"title", "desc", "metadata", "style", "defs", "linearGradient", "clipPath", "mask",
                "filter", "pattern",
                "radialGradient", "stop", "symbol", "script", "cursor", "font", "font-face",
                "view", "animate", "animateTransform", "animateMotion", "animateColor", "set",
                "marker",  # markers are drawn where shapes reference them (markers.py)
                "tspan", "tref", "textPath"}  # text content: drawn only inside <text>
SHAPES = {"circle", "ellipse", "rect", "line", "polyline", "polygon", "path"}


# ----------------------------------------------------------------------------
# The loader
# ----------------------------------------------------------------------------

class _Loader(ShapeEmitter):
    def __init__(self, root, strict: bool, languages=("en",)):
        self.root = root
        self.strict = strict
        self.languages = [str(lang).strip().lower() for lang in languages if str(lang).strip()]
        self.warned = set()
        self.shapes: List = []
        self.groups: List = []
        self.visited = 0
        self.use_depth = 0
        self.use_expanded = 0
        self.parent: Dict[int, object] = {}
        self.first_child: Dict[int, bool] = {}
        self.ids: Dict[str, object] = {}
        #: viewport clip rectangles in force: (matrix to canvas, width, height)
        self.clips: List[Tuple[np.ndarray, float, float]] = []
        #: computed font-size (px) of the root and of each element last styled,
        #: for em, ex and rem in its attributes
        self.root_font_px = MEDIUM_FONT_PX
        self._element_font_px: Dict[int, float] = {}
        #: (fill, stroke) of the use elements being instantiated, innermost last
        self.contexts: List[Tuple[Tuple[str, Dict[str, str]], Tuple[str, Dict[str, str]]]] = []
        self._specified: Dict[int, Dict[str, str]] = {}
        #: clip paths, masks and patterns being built (a reference to one of
        #: them from inside it is ignored), and how deep in clip paths we are
        self.active_refs: List[object] = []
        self.clip_depth = 0
        self._doc_style: Dict[int, Dict[str, str]] = {}
        rules_text = []
        depth = {id(root): 0}
        for elem in root.iter():
            self.visited += 1
            if self.visited > MAX_ELEMENTS:
                raise SVGError(f"document has more than {MAX_ELEMENTS} elements")
            first = True
            for child in elem:
                self.parent[id(child)] = elem
                depth[id(child)] = depth[id(elem)] + 1
                if depth[id(child)] > MAX_NESTING:
                    raise SVGError(f"{self.describe(child)}: elements nested deeper than "
                                   f"{MAX_NESTING}")
                if isinstance(child.tag, str):
                    self.first_child[id(child)] = first
                    first = False
            ident = elem.get("id")
            if ident is not None and ident not in self.ids:
                self.ids[ident] = elem
            if self.local_tag(elem) == "style" and self.is_svg(elem):
                kind = (elem.get("type") or "text/css").strip().lower()
                if kind in ("", "text/css"):
                    rules_text.append("".join(elem.itertext()))
        self.visited = 0
        self.rules = parse_stylesheet("\n".join(rules_text), self.warn) if rules_text else []

    # -- small helpers -------------------------------------------------------
    @staticmethod
    def local_tag(elem) -> str:
        return split_tag(elem.tag)[1]

    @staticmethod
    def is_svg(elem) -> bool:
        ns = split_tag(elem.tag)[0]
        return ns in (SVG_NS, None)

    @staticmethod
    def describe(elem) -> str:
        ident = elem.get("id")
        tag = split_tag(elem.tag)[1]
        return f"<{tag} id='{ident}'>" if ident else f"<{tag}>"

    def warn(self, kind: str, message: str):
        if kind not in self.warned:
            self.warned.add(kind)
            warnings.warn(message, stacklevel=4)

    def fail(self, elem, problem: str):
        """An error the SVG spec recovers from: raise in strict mode, else
        warn (once per kind) and let the caller skip."""
        message = f"{self.describe(elem)}: {problem}"
        if self.strict:
            raise SVGError(message)
        self.warn("error:" + problem.split(":")[0], message + " (skipped)")

    def count(self, elem):
        if self.use_depth == 0:
            return
        self.use_expanded += 1
        if self.use_expanded > MAX_USE_EXPANDED:
            raise SVGError(f"{self.describe(elem)}: more than {MAX_USE_EXPANDED} elements "
                           f"instantiated through <use> (expansion too large)")

    def href_target(self, elem):
        href = elem.get("href")
        if href is None:
            href = elem.get(XLINK_HREF)
        if href is None:
            return None
        href = href.strip()
        if not href.startswith("#"):
            return None
        return self.ids.get(href[1:])

    def _element_info(self, elem):
        attrs = {split_tag(k)[1]: v for k, v in elem.attrib.items()}
        parent = self.parent.get(id(elem))
        if parent is not None and not isinstance(parent.tag, str):
            parent = None
        return self.local_tag(elem), attrs, parent, self.first_child.get(id(elem), True)

    # -- style ---------------------------------------------------------------
    def specified(self, elem) -> Dict[str, str]:
        key = id(elem)
        if key not in self._specified:
            matched = [(rule.selector.specificity, rule.order, rule.declarations)
                       for rule in self.rules
                       if selector_matches(rule.selector, elem, self._element_info)]
            self._specified[key] = cascade(elem.attrib, matched, elem.get("style"))
        return self._specified[key]

    def compute_style(self, elem, parent_style: Dict[str, str]) -> Dict[str, str]:
        """Computed values: inherited properties from ``parent_style``, the
        others from their initial values, overridden by the cascade. Invalid
        colour values are ignored (CSS: an invalid declaration is dropped)."""
        style = {name: parent_style.get(name, INITIAL_VALUES.get(name))
                 for name in INHERITED_PROPERTIES if name in parent_style or name in INITIAL_VALUES}
        for name, value in INITIAL_VALUES.items():
            if name not in INHERITED_PROPERTIES:
                style[name] = value
        for name, value in self.specified(elem).items():
            if value.strip().lower() == "inherit":
                if name in parent_style:
                    style[name] = parent_style[name]
                continue
            if name in ("fill", "stroke") and not self._valid_paint(value):
                continue
            if name in ("color", "stop-color"):
                if value.strip().lower() == "currentcolor":
                    value = parent_style.get("color", "black") if name == "color" else value
                elif not self._valid_color(value):
                    continue
            if name == "font-size":  # computed to px against the parent's
                parent_px = self._font_px(parent_style)
                root_px = parent_px if elem is self.root else self.root_font_px
                size = parse_font_size(value, parent_px, root_px)
                if size is None:
                    continue
                value = repr(size)
            style[name] = value
        if elem is self.root:
            self.root_font_px = self._font_px(style)
        self._element_font_px[id(elem)] = self._font_px(style)
        if self.clip_depth:
            # clip path geometry: an opaque white fill with the clip rule,
            # no stroke, markers, opacity, mask or filter
            style.update({"fill": "#ffffff", "fill-opacity": "1", "stroke": "none", "opacity": "1",
                          "fill-rule": style.get("clip-rule", "nonzero"), "marker-start": "none",
                          "marker-mid": "none", "marker-end": "none", "mask": "none", "filter": "none",
                          "mix-blend-mode": "normal"})
        return style

    @staticmethod
    def _font_px(style) -> float:
        try:
            return float(style.get("font-size", MEDIUM_FONT_PX))
        except ValueError:
            return MEDIUM_FONT_PX

    def document_style(self, elem) -> Dict[str, str]:
        """Computed style of an element through its document ancestors
        (used for gradient stops, which inherit from the gradient)."""
        key = id(elem)
        if key not in self._doc_style:
            parent = self.parent.get(id(elem))
            parent_style = self.document_style(parent) if parent is not None else INITIAL_VALUES
            self._doc_style[key] = self.compute_style(elem, parent_style)
        return self._doc_style[key]

    @staticmethod
    def _valid_color(value: str) -> bool:
        try:
            parse_color(value)
            return True
        except ColorSyntaxError:
            return False

    def _valid_paint(self, value: str) -> bool:
        """<paint> (SVG 2 13.2): none, a colour, currentColor, context-fill,
        context-stroke, or url(#id) with an optional fallback colour."""
        low = value.strip().lower()
        if low in ("currentcolor", "context-fill", "context-stroke"):
            return True
        match = _PAINT_URL.match(value)
        if match:
            fallback = match.group(3).strip()
            return (not fallback or fallback.lower() in ("none", "currentcolor")
                    or self._valid_color(fallback))
        return self._valid_color(value)

    @staticmethod
    def resolve_color(value: str, style: Dict[str, str]):
        if value.strip().lower() == "currentcolor":
            value = style.get("color", "black")
        try:
            return parse_color(value)
        except ColorSyntaxError:
            return (0.0, 0.0, 0.0, 1.0)

    @staticmethod
    def opacity_value(text: str) -> float:
        text = (text or "1").strip()
        try:
            value = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            return 1.0
        return min(1.0, max(0.0, value)) if math.isfinite(value) else 1.0

    # -- traversal -----------------------------------------------------------
    def element_transform(self, elem, style, viewport) -> np.ndarray:
        text = self.specified(elem).get("transform")
        matrix = np.eye(3)
        if text is not None:
            try:
                matrix = parse_transform(text)
            except UnitError as exc:
                self.warn("transform", f"{self.describe(elem)}: invalid transform ignored: {exc}")
        origin = style.get("transform-origin")
        if origin and text is not None:
            ox, oy = self._transform_origin(origin, viewport)
            matrix = translate(ox, oy) @ matrix @ translate(-ox, -oy)
        return matrix

    @staticmethod
    def _transform_origin(text: str, viewport) -> Tuple[float, float]:
        keywords = {"left": ("x", 0.0), "right": ("x", 1.0), "top": ("y", 0.0),
                    "bottom": ("y", 1.0), "center": (None, 0.5)}
        words = text.split()[:2]
        values = {}
        pending = []
        for index, word in enumerate(words):
            if word.lower() in keywords:
                axis, frac = keywords[word.lower()]
                size = viewport[0] if (axis or ("x" if index == 0 else "y")) == "x" else viewport[1]
                value = frac * size
                if axis is None:
                    pending.append(value)
                    continue
                values[axis] = value
            else:
                axis = "x" if index == 0 else "y"
                try:
                    values[axis] = parse_length(word, viewport[0] if axis == "x" else viewport[1])
                except UnitError:
                    return 0.0, 0.0
        for value in pending:
            values.setdefault("x" if "x" not in values else "y", value)
        if len(words) == 1 and "y" not in values:
            values["y"] = 0.5 * viewport[1]
        if len(words) == 1 and "x" not in values:
            values["x"] = 0.5 * viewport[0]
        return values.get("x", 0.0), values.get("y", 0.0)

    def length(self, elem, name, percent_of, default="0") -> float:
        text = elem.get(name)
        if text is None or text.strip() == "":
            text = default
        font_px = self._element_font_px.get(id(elem), MEDIUM_FONT_PX)
        try:
            return parse_length(text, percent_of, font_px, self.root_font_px)
        except UnitError as exc:
            number = re.match(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", text)
            hostile = re.search(r"nan|inf", text, re.IGNORECASE) or (
                number and not (math.isfinite(float(number.group(0)))
                                and abs(float(number.group(0))) <= 1e15))
            if hostile:  # NaN, inf or out of range: invalid, so ignored as below
                self.fail(elem, f"attribute {name}: {exc}")
            # not a length (e.g. "auto", "10qwe"): SVG ignores the attribute
            return parse_length(default, percent_of, font_px) if default != "auto" else 0.0

    def walk(self, elem, parent_style, ctm, viewport, opacity, chain):
        if not isinstance(elem.tag, str) or not self.is_svg(elem):
            return
        tag = self.local_tag(elem)
        self.count(elem)
        if tag in NOT_RENDERED:
            return
        if tag in UNSUPPORTED:
            self.warn(tag, f"SVG element <{tag}> is not supported; skipped "
                           f"(first: {self.describe(elem)})")
            return
        if tag not in SHAPES and tag not in ("svg", "g", "a", "use", "image", "switch", "text"):
            # SVG 1.1 / SVG Tiny 1.2 (C.2): a subtree rooted at an unknown
            # element is not rendered (elements in it can still be used)
            self.warn("unknown:" + tag, f"<{tag}> is not an SVG element; it and its content "
                                        f"are not rendered (first: {self.describe(elem)})")
            return
        if not conditions_pass(elem, self.languages):
            return
        style = self.compute_style(elem, parent_style)
        if style.get("display", "inline").strip() == "none":
            return
        chain = chain + (elem,)

        def draw(opacity, ctm=ctm):
            first = len(self.groups)
            if tag == "svg" and elem is not self.root:
                self.nested_viewport(elem, elem, style, ctm, viewport, opacity, chain)
                return
            ctm = ctm @ self.element_transform(elem, style, viewport)
            if tag in ("g", "a", "svg"):
                for child in elem:
                    self.walk(child, style, ctm, viewport, opacity, chain)
            elif tag == "switch":  # only its first direct child whose conditions hold
                chosen = switch_choice(elem, self.languages)
                if chosen is not None:
                    self.walk(chosen, style, ctm, viewport, opacity, chain)
            elif tag == "use":
                self.expand_use(elem, style, ctm, viewport, opacity, chain)
            elif tag == "image":
                images.emit_image(self, elem, style, ctm, viewport)
            elif tag == "text":  # glyph outlines (pydiffvg/text/svg.py)
                from ..text.svg import emit_text
                emit_text(self, elem, style, ctm, viewport, opacity)
            else:
                self.emit_shape(elem, tag, style, ctm, viewport, opacity)
            if _crisp(tag, style) and len(self.groups) > first:
                # shape-rendering crispEdges / optimizeSpeed: no anti-aliasing
                # (markers below inherit from their own ancestors, not this)
                self.groups[first:] = [Layer(self.groups[first:], antialias=False)]
            if tag in SHAPES:
                markers.draw_markers(self, elem, tag, style, ctm, viewport, opacity, chain, first)

        user = ctm if tag == "svg" and elem is not self.root else ctm @ self.element_transform(
            elem, style, viewport)
        self.layered(elem, style, user, viewport, opacity, draw)

    def layered(self, elem, style, ctm, viewport, opacity, draw):
        """Draws an element through ``draw(opacity)``: directly, or into a
        Layer of its own when it has opacity, a clip path, a mask, a filter,
        a blend mode or isolation (see masking.py). ``ctm`` is the
        element's user space (its transform included)."""
        fx = masking.effects(self, elem, style)
        if fx is None:
            draw(opacity)
            return
        saved = self.groups
        self.groups = []
        try:
            draw(1.0)
            content = self.groups
        finally:
            self.groups = saved
        if fx.clip is None and fx.mask is None and fx.filter is None and fx.blend == "normal" \
                and not fx.isolate and _fold_opacity(content, fx.opacity * opacity):
            self.groups.extend(content)  # one paint: the fade is exact on the paint itself
            return
        layer = masking.wrap(self, elem, style, ctm, viewport, content, fx)
        if layer is not None:
            if opacity < 1.0:
                layer.opacity = layer.opacity * opacity
            self.groups.append(layer)

    def nested_viewport(self, elem, source, style, ctm, viewport, opacity, chain,
                        size_from=None):
        """A nested ``svg`` (or a ``symbol``/``svg`` instantiated by ``use``):
        translate to x, y, then map the viewBox onto width × height."""
        vw, vh = viewport
        size_from = size_from if size_from is not None else elem
        if source is elem:
            ctm = ctm @ self.element_transform(elem, style, viewport)
            ctm = ctm @ translate(self.length(elem, "x", vw), self.length(elem, "y", vh))
        width = self.length(size_from, "width", vw, "100%")
        height = self.length(size_from, "height", vh, "100%")
        if size_from is not elem and size_from.get("width") is None:
            width = self.length(elem, "width", vw, "100%")
        if size_from is not elem and size_from.get("height") is None:
            height = self.length(elem, "height", vh, "100%")
        if width < 0 or height < 0:
            self.fail(elem, f"negative width/height {width} x {height}")
            return
        if width == 0 or height == 0:
            return
        # The viewport [0, width] x [0, height] in the coordinates of ``ctm``
        # clips the content unless overflow is visible (the UA style sheet
        # of SVG 2 gives nested svg and symbol 'overflow: hidden').
        clips = style.get("overflow", "hidden").strip().lower() not in ("visible", "auto")
        viewport_origin = ctm
        box = self.viewbox(elem)
        if box is not None:
            ctm = ctm @ viewbox_transform(box, width, height,
                                          parse_aspect_ratio(elem.get("preserveAspectRatio")))
            inner = (box[2], box[3])
        else:
            inner = (width, height)
        if clips:
            self.clips.append((viewport_origin, width, height))
        try:
            for child in elem:
                self.walk(child, style, ctm, inner, opacity, chain)
        finally:
            if clips:
                self.clips.pop()

    def viewbox(self, elem):
        return self.viewbox_of(elem.get("viewBox"), elem)

    def viewbox_of(self, text, elem):
        """A viewBox attribute's (x, y, w, h), or None (absent, or disabled)."""
        if text is None:
            return None
        try:
            numbers = parse_number_list(text)
        except UnitError as exc:
            self.fail(elem, f"viewBox: {exc}")  # an invalid viewBox is ignored
            return None
        if len(numbers) != 4 or numbers[2] <= 0 or numbers[3] <= 0:
            if len(numbers) == 4 and (numbers[2] < 0 or numbers[3] < 0):
                self.fail(elem, f"viewBox '{text}' has a negative size")
            return None  # SVG: a zero-size or malformed viewBox disables it
        return tuple(numbers)

    def expand_use(self, elem, style, ctm, viewport, opacity, chain):
        target = self.href_target(elem)
        if target is None:
            self.warn("use-unresolved", f"{self.describe(elem)}: reference not found, skipped")
            return
        ancestor = self.parent.get(id(elem))
        while ancestor is not None:
            if ancestor is target:
                break
            ancestor = self.parent.get(id(ancestor))
        if target in chain or ancestor is not None:
            self.fail(elem, f"reference cycle through '#{target.get('id')}'")
            return
        if sum(1 for e in chain if self.local_tag(e) == "use") > MAX_USE_DEPTH:
            raise SVGError(f"{self.describe(elem)}: use nesting deeper than {MAX_USE_DEPTH}")
        self.use_depth += 1
        # SVG 2 13.2: inside a use element's shadow tree, context-fill and
        # context-stroke are the use element's own fill and stroke.
        self.contexts.append((self.context_paint(style.get("fill", "black"), style),
                              self.context_paint(style.get("stroke", "none"), style)))
        context.push(self, ctm)
        try:
            self._instantiate(elem, target, style, ctm, viewport, opacity, chain)
        finally:
            self.use_depth -= 1
            self.contexts.pop()
            context.pop(self)

    def context_paint(self, value: str, style) -> Tuple[str, Dict[str, str]]:
        """(paint value, style to resolve currentColor with) with context-fill
        and context-stroke replaced by the context element's paint; outside
        any context element they are none."""
        low = value.strip().lower()
        if low in ("context-fill", "context-stroke"):
            if not self.contexts:
                return "none", style
            return self.contexts[-1][0 if low == "context-fill" else 1]
        return value, style

    def _instantiate(self, elem, target, style, ctm, viewport, opacity, chain):
        vw, vh = viewport
        ctm = ctm @ translate(self.length(elem, "x", vw), self.length(elem, "y", vh))
        target_tag = self.local_tag(target)
        if not self.is_svg(target):
            return
        if target_tag in ("symbol", "svg"):
            self.count(target)
            target_style = self.compute_style(target, style)
            if target_style.get("display", "inline").strip() == "none":
                return
            if target_tag == "svg":
                ctm = ctm @ translate(self.length(target, "x", vw), self.length(target, "y", vh))
            else:
                ctm = ctm @ self.element_transform(target, target_style, viewport)

            def draw(opacity):
                self.nested_viewport(target, elem, target_style, ctm, viewport, opacity,
                                     chain + (target,), size_from=elem)
            self.layered(target, target_style, ctm, viewport, opacity, draw)
            return
        self.walk(target, style, ctm, viewport, opacity, chain)

    # -- shapes --------------------------------------------------------------


def _crisp(tag, style) -> bool:
    """Whether a shape (shape-rendering) or text (text-rendering) is drawn
    without anti-aliasing."""
    if tag in SHAPES:
        return (style.get("shape-rendering") or "auto").strip() in ("crispEdges", "optimizeSpeed")
    if tag == "text":
        return (style.get("text-rendering") or "auto").strip() == "optimizeSpeed"
    return False


def _fold_opacity(content, opacity) -> bool:
    """When ``content`` is one group with one paint, fades that paint by
    ``opacity`` in place (exact: nothing below it can overlap), or when it is
    one layer, multiplies that layer's opacity; returns whether it did."""
    if len(content) != 1:
        return False
    group = content[0]
    if isinstance(group, Layer):
        if group.blend_mode != "normal":
            return False  # it blends with nothing inside this layer; folding would change that
        group.opacity = group.opacity * opacity
        return True
    if (group.fill_color is None) == (group.stroke_color is None):
        return False
    name = "fill_color" if group.fill_color is not None else "stroke_color"
    paint = getattr(group, name)
    if isinstance(paint, torch.Tensor):
        setattr(group, name, paint * torch.tensor([1.0, 1.0, 1.0, opacity]))
    else:
        paint.stop_colors = paint.stop_colors * torch.tensor([1.0, 1.0, 1.0, opacity])
    return True


def _root_size(loader: _Loader, root) -> Tuple[float, float, Optional[tuple]]:
    box = loader.viewbox(root)
    defaults = (box[2], box[3]) if box is not None else (100.0, 100.0)
    sizes = []
    for name, default in zip(("width", "height"), defaults):
        text = root.get(name)
        if text is None or text.strip() in ("", "auto"):
            sizes.append(default)
            continue
        try:
            value = parse_length(text, default)
        except UnitError as exc:
            loader.fail(root, f"{name}: {exc}")  # ignored: the default size
            value = default
        if not math.isfinite(value) or abs(value) > 1e15:
            raise SVGError(f"{loader.describe(root)}: {name} {value} out of range")
        sizes.append(value)
    disabled = False
    if sizes[0] < 0 or sizes[1] < 0:
        # an invalid size: nothing is rendered, on a canvas of the default size
        loader.fail(root, f"negative size {sizes[0]} x {sizes[1]}")
        disabled = True
    elif sizes[0] == 0 or sizes[1] == 0:
        loader.fail(root, f"zero size {sizes[0]} x {sizes[1]} (rendering disabled)")
        disabled = True
    if disabled:
        sizes = [default if size <= 0 else size for size, default in zip(sizes, defaults)]
    return sizes[0], sizes[1], box, disabled


def _canvas_background(loader: _Loader, root, width: float, height: float):
    """CSS 2.1 14.2: the root element's background-color paints the whole
    canvas, below everything else. Added as a canvas-sized Rect."""
    value = loader.specified(root).get("background-color")
    if value is None:
        return
    try:
        color = parse_color(value)
    except ColorSyntaxError:
        return
    if color is None or color[3] <= 0.0:
        return
    loader.shapes.append(Rect(torch.tensor([0.0, 0.0]), torch.tensor([width, height],
                                                                      dtype=torch.float32)))
    loader.groups.append(ShapeGroup(torch.tensor([len(loader.shapes) - 1], dtype=torch.int32),
                                    torch.tensor(color, dtype=torch.float32),
                                    use_even_odd_rule=False, id="background"))


def _source_dir(path_or_text):
    """[images] The folder of an SVG given by filename, else None."""
    import os
    import pathlib
    if isinstance(path_or_text, pathlib.PurePath) or (
            isinstance(path_or_text, str) and not path_or_text.lstrip().startswith("<")):
        return os.path.dirname(os.path.abspath(str(path_or_text)))
    return None


def svg_to_scene(path_or_text, strict: bool = False, languages=("en",), font_dirs=None,
                 base_dir=None):
    """Read an SVG into diffvg's scene lists.

    path_or_text: a filename (str), a pathlib.Path, bytes, or SVG text that
        starts with '<'.
    strict: when False (default), errors that browsers recover from are
        recovered from as they do, with one warning per kind: path data is
        drawn up to the first error, an element with an invalid required
        attribute (a negative radius or size) is not drawn, a ``use`` cycle
        drops the cyclic reference, and the rest renders. When True each of
        these raises SVGError. A file that is not XML, or is hostile (entity
        expansion, size limits), raises SVGError in both modes.
    languages: the user's languages for ``systemLanguage`` (a sequence of
        BCP 47 tags; default ``["en"]``): "en" matches "en-US" and back.
    font_dirs: folders of fonts for ``<text>``, searched before
        PYDIFFVG_FONT_DIRS and the system folders (see pydiffvg/text/fonts.py).
    base_dir: folder that relative image references resolve against
        (default: the file's folder, or the working directory for text).

    Returns (canvas_width: int, canvas_height: int, shapes: list,
    shape_groups: list). Geometry is in each element's user units; each
    group's ``shape_to_canvas`` (3, 3) float32 maps it to canvas pixels.
    Colours are straight RGBA float32 in [0, 1] (sRGB values as written).
    Raises SVGError for malformed, hostile or unusable input.
    """
    root = parse_xml(read_source(path_or_text))
    if split_tag(root.tag) != (SVG_NS, "svg") and split_tag(root.tag) != (None, "svg"):
        raise SVGError(f"root element is <{split_tag(root.tag)[1]}>, expected <svg>")
    if isinstance(languages, str):
        languages = [languages]
    try:
        languages = [str(lang) for lang in languages]
    except TypeError:
        raise TypeError(f"svg_to_scene(): languages must be a sequence of language tags such as "
                        f"['en'], got {type(languages).__name__}") from None
    loader = _Loader(root, strict, languages)
    width, height, box, disabled = _root_size(loader, root)
    loader.font_dirs = font_dirs  # read by pydiffvg/text/svg.py
    # [images] relative hrefs of <image>/feImage resolve against base_dir
    loader.base_dir = base_dir if base_dir is not None else _source_dir(path_or_text)
    ctm = np.eye(3)
    viewport = (width, height)
    if box is not None:
        ctm = viewbox_transform(box, width, height,
                                parse_aspect_ratio(root.get("preserveAspectRatio")))
        viewport = (box[2], box[3])
    if not disabled:
        _canvas_background(loader, root, width, height)
        loader.walk(root, INITIAL_VALUES, ctm, viewport, 1.0, ())
    canvas_width = max(1, int(round(width)))
    canvas_height = max(1, int(round(height)))
    return canvas_width, canvas_height, loader.shapes, loader.groups


def load_svg(path_or_text, strict: bool = False, languages=("en",), font_dirs=None,
             base_dir=None) -> Scene:
    """Like :func:`svg_to_scene`, returning a :class:`pydiffvg.scene_types.Scene`."""
    return Scene(*svg_to_scene(path_or_text, strict=strict, languages=languages, font_dirs=font_dirs,
                               base_dir=base_dir))
