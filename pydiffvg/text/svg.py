"""``<text>``, ``<tspan>``, ``<tref>``, ``<textPath>`` (and ``<a>`` inside
text) -> glyph outline Paths, for the SVG loader.

Entry point: :func:`emit_text`, called by ``_Loader.walk`` for a ``text``
element. It builds the element's content tree, processes white space
(xml:space), resolves per-character x/y/dx/dy/rotate, splits the text into
chunks and spans (see ``layout``), lays them out, and appends one
ShapeGroup per span (fill and stroke, in paint-order) with one closed Path
per glyph contour, in user space under the text's current transform.
Decorations are filled rectangles painted with the fill and stroke of the
element that declares them: overline and underline before the span's
glyphs, line-through after them.

Limits: a text element with more than ``MAX_TEXT_CHARS`` characters, or a
document with more than ``MAX_DOCUMENT_CHARS`` characters of text, raises
SVGError (bounded time and memory). ``tref`` takes the character data of
the element it references without expanding references inside it, so a
``tref`` cycle cannot recurse. Glyphs of OpenType-SVG colour fonts are
drawn from their SVG documents (read by our own loader); COLR, sbix and
CBDT glyphs are drawn with their plain outlines, where they have any.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np
import torch

from ..shapes import Path, ShapeGroup
from ..svg.errors import SVGError
from ..svg.paths import parse_path_data, subpath_segments
from .arclength import ResvgPath
from ..svg.units import UnitError, parse_length
from .fonts import FontDatabase, font_database, stretch_class
from .layout import Chunk, PathFlow, Span, glyph_contours, layout_text

MAX_TEXT_CHARS = 20_000
MAX_DOCUMENT_CHARS = 100_000

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
TEXT_CHILDREN = ("tspan", "tref", "textPath", "a")


@dataclass
class _Node:
    """An element of the text's content tree (text, tspan, tref, textPath)."""
    elem: Any
    tag: str
    style: Dict[str, str]
    parent: Optional["_Node"]
    preserve: bool
    weight: int
    children: List[Any] = field(default_factory=list)  # _Node or _TextRun
    path: Optional[PathFlow] = None
    bad_path: bool = False


@dataclass
class _TextRun:
    text: str
    parent: _Node
    depth: int


# ----------------------------------------------------------------------------
# Content tree and white space
# ----------------------------------------------------------------------------

def _collapse(text: str, preserve: bool) -> str:
    """New lines and tabs become spaces (as Chrome and resvg do); without
    xml:space="preserve" runs of spaces collapse to one."""
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if not preserve:
        text = re.sub(" {2,}", " ", text)
    return text


def _weight(value: Optional[str], parent: int) -> int:
    value = (value or "").strip().lower()
    if value in ("normal", ""):
        return 400 if value else parent
    if value == "bold":
        return 700
    if value == "bolder":  # Chrome's steps, as resvg
        return min(900, parent + (300 if parent == 400 else 100))
    if value == "lighter":
        return max(100, parent - (200 if parent == 400 else 100))
    try:
        number = int(float(value))
    except ValueError:
        return parent
    return min(1000, max(1, number))


class _Builder:
    def __init__(self, loader, root_elem, viewport, database):
        self.loader = loader
        self.viewport = viewport
        self.database = database
        self.root_elem = root_elem
        self.runs: List[_TextRun] = []

    def build(self, elem, style, parent: Optional[_Node], preserve: bool, depth: int) -> _Node:
        loader = self.loader
        tag = loader.local_tag(elem)
        space = elem.get(XML_SPACE)
        if space is not None:
            preserve = space.strip() == "preserve"
        parent_weight = parent.weight if parent is not None else _inherited_weight(loader, elem)
        style = font_shorthand(loader, elem, style)
        own_weight = loader.specified(elem).get("font-weight")
        if "font" in loader.specified(elem) and own_weight is None:
            own_weight = style.get("font-weight")
        node = _Node(elem, tag, style, parent, preserve, _weight(own_weight, parent_weight))
        if tag == "tref":
            target = loader.href_target(elem)
            # only an SVG element's character data (resvg and Batik agree)
            text = "".join(target.itertext()) if target is not None and _known_svg(
                loader, target) else ""
            if text:
                self._add_text(node, text, depth)
            return node
        if elem.text:
            self._add_text(node, elem.text, depth)
        for child in elem:
            if isinstance(child.tag, str) and loader.is_svg(child):
                child_tag = loader.local_tag(child)
                allowed = child_tag in TEXT_CHILDREN and not (
                    child_tag == "textPath" and tag != "text")
                if allowed:
                    child_style = loader.compute_style(child, style)
                    node.children.append(self.build(child, child_style, node, preserve,
                                                    depth + 1))
            if child.tail:
                self._add_text(node, child.tail, depth)
        return node

    def _add_text(self, node: _Node, text: str, depth: int):
        run = _TextRun(_collapse(text, node.preserve), node, depth)
        node.children.append(run)
        self.runs.append(run)


def _conditions_pass(loader, elem) -> bool:
    """systemLanguage (a language matches exactly, or its prefix before '-'
    does; the list is ``loader.languages``, default ["en"]) and
    requiredExtensions (none supported), as SVG 1.1 5.8 says."""
    if elem.get("requiredExtensions") is not None:
        return False
    value = elem.get("systemLanguage")
    if value is None:
        return True
    languages = getattr(loader, "languages", None) or ["en"]
    for lang in (part.strip() for part in value.split(",")):
        if lang in languages or lang.split("-")[0] in languages and "-" in lang:
            return True
    return False


def _known_svg(loader, elem) -> bool:
    from ..svg import parser
    tag = loader.local_tag(elem)
    return loader.is_svg(elem) and (tag in parser.SHAPES or tag in parser.UNSUPPORTED
                                    or tag in parser.NOT_RENDERED
                                    or tag in ("svg", "g", "a", "use", "text"))


_FONT_STYLES = ("italic", "oblique")
_FONT_WEIGHTS = ("bold", "bolder", "lighter") + tuple(str(w) for w in range(100, 1000, 100))
_FONT_STRETCHES = ("ultra-condensed", "extra-condensed", "condensed", "semi-condensed",
                   "semi-expanded", "expanded", "extra-expanded", "ultra-expanded")


def font_shorthand(loader, elem, style: Dict[str, str]) -> Dict[str, str]:
    """CSS ``font``: [style || variant || weight || stretch]? size[/line-height]
    family-list. Every font longhand it does not give is reset to its
    initial value; longhands the element itself declares win."""
    value = loader.specified(elem).get("font")
    if not value:
        return style
    match = re.match(r"^\s*((?:[-\w]+\s+)*?)([-+.\w%]+)(?:\s*/\s*[-+.\w%]+)?\s+(.+)$",
                     value.strip())
    if not match:
        return style
    out = dict(style)
    out.update({"font-style": "normal", "font-variant": "normal", "font-weight": "normal",
                "font-stretch": "normal", "font-kerning": "auto",
                "font-variation-settings": "normal"})
    for word in match.group(1).split():
        low = word.lower()
        if low in _FONT_STYLES:
            out["font-style"] = low
        elif low == "small-caps":
            out["font-variant"] = low
        elif low in _FONT_WEIGHTS:
            out["font-weight"] = low
        elif low in _FONT_STRETCHES:
            out["font-stretch"] = low
    parent = loader.parent.get(id(elem))
    parent_px = loader._element_font_px.get(id(parent), 16.0) if parent is not None else 16.0
    from ..svg.units import parse_font_size
    size = parse_font_size(match.group(2), parent_px, loader.root_font_px)
    if size is not None:
        out["font-size"] = repr(size)
    out["font-family"] = match.group(3).strip()
    own = loader.specified(elem)
    for name in ("font-style", "font-variant", "font-weight", "font-stretch", "font-kerning",
                 "font-family"):
        if name in own and own[name].strip() != "inherit":
            out[name] = own[name]
    loader._element_font_px[id(elem)] = loader._font_px(out)
    return out


def _inherited_weight(loader, elem) -> int:
    chain = []
    ancestor = loader.parent.get(id(elem))
    while ancestor is not None and isinstance(ancestor.tag, str):
        chain.append(ancestor)
        ancestor = loader.parent.get(id(ancestor))
    weight = 400
    for ancestor in reversed(chain):
        weight = _weight(loader.specified(ancestor).get("font-weight"), weight)
    return weight


def _trim_runs(runs: List[_TextRun], text_preserve: bool):
    """Spaces at the borders of text runs, as Chrome (and resvg) treat them:
    a space that starts a deeper run after a space is dropped, as is the
    first of two spaces meeting at a border; the text's first leading and
    last trailing space go. Runs in xml:space="preserve" keep theirs."""
    if len(runs) == 1:
        run = runs[0]
        if not run.parent.preserve:
            if run.text == " ":
                run.text = ""
            else:
                if run.text.startswith(" "):
                    run.text = run.text[1:]
                if run.text.endswith(" "):
                    run.text = run.text[:-1]
        return
    last_non_empty = None
    count = len(runs) - 1
    for i in range(count):
        first, second = runs[i], runs[i + 1]
        if not first.text and last_non_empty is not None:
            first = last_non_empty
        keep1, keep2 = first.parent.preserve, second.parent.preserve
        c1 = first.text[:1]
        c2 = first.text[-1:]
        c3 = second.text[:1]
        c4 = second.text[-1:]
        if first.depth < second.depth:
            if c3 == " " and not keep2:
                second.text = second.text[1:]
        elif c2 == " " and c3 == " ":
            if not keep1 and not keep2:
                first.text = first.text[:-1]
            elif keep1 and not keep2:
                second.text = second.text[1:]
        if i == 0 and c1 == " " and not keep1 and first.text:
            first.text = first.text[1:]
        elif i == count - 1 and c4 == " " and second.text and not keep2:
            second.text = second.text[:-1]
        if (i == count - 1 and c2 == " " and first.text and not second.text
                and first.text.endswith(" ")):
            first.text = first.text[:-1]
        if first.text.strip():
            last_non_empty = first


def _count(node) -> int:
    if isinstance(node, _TextRun):
        return len(node.text)
    return sum(_count(child) for child in node.children)


# ----------------------------------------------------------------------------
# Positions
# ----------------------------------------------------------------------------

def _length_list(loader, node: _Node, name: str, percent_of: float) -> Optional[List[float]]:
    text = node.elem.get(name)
    if text is None:
        return None
    font_px = loader._font_px(node.style)
    out = []
    for token in re.split(r"[\s,]+", text.strip()):
        if not token:
            continue
        try:
            out.append(parse_length(token, percent_of, font_px, loader.root_font_px))
        except UnitError:
            return out or None  # the list up to the first bad value
    return out


def _positions(loader, root: _Node, total: int, viewport):
    xs: List[Optional[float]] = [None] * total
    ys: List[Optional[float]] = [None] * total
    dxs = [0.0] * total
    dys = [0.0] * total
    rotations = [0.0] * total
    vw, vh = viewport

    def visit(node: _Node, offset: int) -> int:
        count = _count(node)
        if node.tag in ("text", "tspan", "tref", "a"):
            for name, target, ref in (("x", xs, vw), ("y", ys, vh), ("dx", dxs, vw),
                                      ("dy", dys, vh)):
                values = _length_list(loader, node, name, ref)
                if values:
                    for i in range(min(len(values), count)):
                        target[offset + i] = values[i]
        text = node.elem.get("rotate")
        if text is not None:
            try:
                angles = [float(v) for v in re.split(r"[\s,]+", text.strip()) if v]
            except ValueError:
                angles = []
            angles = [a for a in angles if math.isfinite(a)]
            if angles:
                last = 0.0
                for i in range(count):
                    if i < len(angles):
                        last = angles[i]
                    rotations[offset + i] = last
        position = offset
        for child in node.children:
            if isinstance(child, _TextRun):
                position += len(child.text)
            else:
                position = visit(child, position)
        return offset + count

    visit(root, 0)
    return xs, ys, dxs, dys, rotations


# ----------------------------------------------------------------------------
# Spans
# ----------------------------------------------------------------------------

_FAMILY_TOKEN = re.compile(r"\s*(?:\"([^\"]*)\"|'([^']*)'|([^,]+))\s*(?:,|$)")


def parse_families(text: str) -> List[str]:
    out = []
    for match in _FAMILY_TOKEN.finditer(text or ""):
        name = next(g for g in match.groups() if g is not None).strip()
        if name:
            out.append(" ".join(name.split()))
    return out


def _node_length(loader, node: _Node, value: Optional[str], percent_of: float) -> Optional[float]:
    if value is None:
        return None
    value = value.strip()
    if value in ("normal", ""):
        return 0.0
    try:
        return parse_length(value, percent_of, loader._font_px(node.style), loader.root_font_px)
    except UnitError:
        return None


def _own_or_parent(loader, node: _Node, name: str) -> Optional[str]:
    """A non-inherited property: the element's own value or its parent's."""
    value = loader.specified(node.elem).get(name)
    if value is not None and value.strip() == "inherit":
        value = None
    if value is None:
        parent = node.parent.elem if node.parent is not None else loader.parent.get(id(node.elem))
        if parent is not None and isinstance(parent.tag, str):
            value = loader.specified(parent).get(name)
    return value


def _variations(node: _Node, face, weight: int, stretch: int, font_size: float
                ) -> Dict[str, float]:
    out: Dict[str, float] = {}
    text = node.style.get("font-variation-settings", "normal").strip()
    if text and text != "normal":
        for part in text.split(","):
            match = re.match(r"\s*[\"']([^\"']{4})[\"']\s+([-+0-9.eE]+)\s*$", part)
            if match:
                try:
                    out[match.group(1)] = float(match.group(2))
                except ValueError:
                    pass
    out.setdefault("wght", float(weight))
    width = [50.0, 62.5, 75.0, 87.5, 100.0, 112.5, 125.0, 150.0, 200.0][stretch - 1]
    if width != 100.0:
        out.setdefault("wdth", width)
    style = node.style.get("font-style", "normal").strip()
    if style == "italic":
        out.setdefault("ital", 1.0)
    elif style.startswith("oblique"):
        out.setdefault("slnt", -12.0)
    if (node.style.get("font-optical-sizing", "auto").strip() != "none"
            and "opsz" in face.axes):
        out.setdefault("opsz", font_size)
    return out


class _SpanFactory:
    def __init__(self, loader, builder: _Builder, viewport):
        self.loader = loader
        self.database = builder.database
        self.viewport = viewport
        self.cache: Dict[int, Optional[Span]] = {}

    def span_for(self, node: _Node) -> Optional[Span]:
        key = id(node)
        if key not in self.cache:
            self.cache[key] = self._make(node)
        return self.cache[key]

    def _make(self, node: _Node) -> Optional[Span]:
        loader, style = self.loader, node.style
        if style.get("display", "inline").strip() == "none":
            return None
        walker = node
        while walker is not None:  # conditional processing on text content elements
            if not _conditions_pass(loader, walker.elem):
                return None
            walker = walker.parent
        font_size = loader._font_px(style)
        if not font_size > 0 or not math.isfinite(font_size):
            return None
        families = parse_families(style.get("font-family", "")) or ["serif"]
        font_style = style.get("font-style", "normal").strip().lower()
        font_style = "oblique" if font_style.startswith("oblique") else font_style
        stretch = stretch_class(style.get("font-stretch", "normal"))
        face = self.database.match(families, node.weight, font_style, stretch, warn=loader.warn)
        if face is None:
            loader.warn("font-none", "no fonts were found (set PYDIFFVG_FONT_DIRS or pass "
                                     "font_dirs); text is not drawn")
            return None
        vw = self.viewport[0]
        features = {}
        if style.get("font-variant", "normal").strip() == "small-caps":
            features["smcp"] = True
        kerning = style.get("kerning", "").strip()
        if kerning == "0" or style.get("font-kerning", "auto").strip() == "none":
            features["kern"] = False
        shifts: List[Any] = []
        walker = node
        while walker is not None and walker.tag != "text":
            value = loader.specified(walker.elem).get("baseline-shift")
            if value is not None:
                value = value.strip()
                if value in ("sub", "super"):
                    shifts.append(value)
                elif value == "baseline":
                    shifts.append(0.0)
                else:
                    number = _node_length(loader, walker, value, loader._font_px(walker.style))
                    if number is not None:
                        shifts.append(number)
            walker = walker.parent
        if all(s == 0.0 for s in shifts):
            shifts = []
        text_length = _node_length(loader, node, node.elem.get("textLength"), vw)
        if text_length is not None and text_length < 0:
            text_length = None
        dominant = (_own_or_parent(loader, node, "dominant-baseline") or "auto").strip()
        if dominant == "no-change" and node.parent is not None:
            dominant = (_own_or_parent(loader, node.parent, "dominant-baseline") or "auto").strip()
        span = Span(
            0, 0, face, font_size,
            variations=_variations(node, face, node.weight, stretch, font_size),
            features=features,
            letter_spacing=_node_length(loader, node, style.get("letter-spacing"), vw) or 0.0,
            word_spacing=_node_length(loader, node, style.get("word-spacing"), vw) or 0.0,
            baseline_shift=shifts,
            dominant_baseline=dominant,
            alignment_baseline=(_own_or_parent(loader, node, "alignment-baseline")
                                or "auto").strip(),
            text_length=text_length,
            length_adjust=(node.elem.get("lengthAdjust") or "spacing").strip(),
            visible=style.get("visibility", "visible").strip() not in ("hidden", "collapse"),
            decorations=self._decorations(node),
            payload=node,
        )
        return span

    def _decorations(self, node: _Node) -> Dict[str, Any]:
        """text-decoration: a line is drawn when the span or any ancestor
        (also outside the text) declares it, in the paint of the nearest
        declaring element inside the text (else the text's)."""
        loader = self.loader
        out = {}
        for name in ("underline", "overline", "line-through"):
            declares = False
            ancestor = node.elem
            while ancestor is not None and isinstance(ancestor.tag, str):
                if name in loader.specified(ancestor).get("text-decoration", "").split():
                    declares = True
                    break
                ancestor = loader.parent.get(id(ancestor))
            if not declares:
                continue
            walker = node
            while walker is not None:
                if (name in loader.specified(walker.elem).get("text-decoration", "").split()
                        or walker.tag == "text"):
                    break
                walker = walker.parent
            out[name] = walker or node
        return out


# ----------------------------------------------------------------------------
# textPath
# ----------------------------------------------------------------------------

def _text_path(loader, node: _Node, viewport) -> Optional[PathFlow]:
    from ..svg.units import UnitError as _UnitError
    elem = node.elem
    subpaths = None
    inline = elem.get("path")
    if inline is not None:
        subpaths, _ = parse_path_data(inline)
        matrix = np.eye(3)
    else:
        target = loader.href_target(elem)
        if target is None:
            loader.warn("textPath-href", f"{loader.describe(elem)}: textPath references "
                                         f"nothing; its text is not drawn")
            return None
        tag = loader.local_tag(target)
        if tag not in ("path", "rect", "circle", "ellipse", "line", "polyline", "polygon"):
            loader.warn("textPath-href", f"{loader.describe(elem)}: textPath references a "
                                         f"<{tag}>, not a shape; its text is not drawn")
            return None
        try:
            geometry = loader.geometry(target, tag, viewport)
        except (_UnitError, SVGError):
            geometry = None
        if geometry is None:
            return None
        subpaths = geometry[2]
        matrix = loader.element_transform(target, {}, viewport)
    if not subpaths:
        return None
    segments = []
    for subpath in subpaths:
        for ctrl in subpath_segments(subpath):
            ctrl = np.asarray(ctrl, dtype=np.float64) @ matrix[:2, :2].T + matrix[:2, 2]
            segments.append(ctrl)
    # side="right" (SVG 2) would reverse the path; resvg and Chrome ignore it,
    # and so do we.
    if not segments:
        return None
    # accuracy 0.5 user units, finer under a magnifying transform (as resvg)
    ctm = getattr(loader, "_text_ctm", np.eye(3))
    magnify = math.sqrt(math.hypot(ctm[0][0], ctm[1][0]) * math.hypot(ctm[0][1], ctm[1][1]))
    measure = ResvgPath(segments, 0.5 / max(magnify, 1.0))
    total = ResvgPath(segments, 0.5).length if magnify > 1.0 else measure.length
    text = (elem.get("startOffset") or "0").strip()
    try:
        if text.endswith("%"):
            start = total * float(text[:-1]) / 100.0
        else:
            start = parse_length(text, viewport[0], loader._font_px(node.style),
                                 loader.root_font_px)
    except (UnitError, ValueError):
        start = 0.0
    if not math.isfinite(start):
        start = 0.0
    return PathFlow(measure, start)


# ----------------------------------------------------------------------------
# Chunks
# ----------------------------------------------------------------------------

def _chunks(loader, root: _Node, factory: _SpanFactory, xs, ys, viewport) -> List[Chunk]:
    chunks: List[Chunk] = []
    state = {"chars": 0, "split": False, "flow": None}

    def visit(node: _Node):
        for child in node.children:
            if isinstance(child, _Node):
                if child.tag == "textPath":
                    flow = _text_path(loader, child, viewport)
                    if flow is None:
                        state["chars"] += _count(child)
                        continue
                    state["flow"] = flow
                    state["split"] = True
                visit(child)
                if child.tag == "textPath":
                    state["flow"] = None
                    state["split"] = True
                continue
            run = child
            span = factory.span_for(run.parent)
            if span is None or not run.text:
                state["chars"] += len(run.text)
                continue
            anchor = run.parent.style.get("text-anchor", "start").strip()
            new_span = True
            for char in run.text:
                index = state["chars"]
                new_chunk = (xs[index] is not None or ys[index] is not None or state["split"]
                             or not chunks)
                state["split"] = False
                if new_chunk:
                    piece = _copy_span(span, 0, 1)
                    chunks.append(Chunk(char, xs[index], ys[index], anchor, [piece], index,
                                        state["flow"]))
                elif new_span:
                    chunk = chunks[-1]
                    chunk.spans.append(_copy_span(span, len(chunk.text), len(chunk.text) + 1))
                    chunk.text += char
                else:
                    chunk = chunks[-1]
                    chunk.text += char
                    chunk.spans[-1].end += 1
                new_span = False
                state["chars"] += 1

    visit(root)
    return chunks


def _copy_span(span: Span, start: int, end: int) -> Span:
    copy = Span(**{k: getattr(span, k) for k in span.__dataclass_fields__})
    copy.start, copy.end = start, end
    return copy


# ----------------------------------------------------------------------------
# Emitting groups
# ----------------------------------------------------------------------------

def _database_for(loader) -> FontDatabase:
    database = getattr(loader, "font_database", None)
    if database is None:
        database = font_database(getattr(loader, "font_dirs", None))
    return database


def emit_text(loader, elem, style, ctm, viewport, opacity):  # noqa: C901
    """Convert one ``<text>`` element (computed ``style``, current transform
    ``ctm`` (3, 3), ``viewport`` (w, h) for percentages, group ``opacity``)
    into ShapeGroups appended to ``loader.groups``."""
    total_chars = sum(len(t) for t in elem.itertext())
    if total_chars > MAX_TEXT_CHARS:
        raise SVGError(f"{loader.describe(elem)}: {total_chars} characters of text, more than "
                       f"the limit of {MAX_TEXT_CHARS} per text element")
    used = getattr(loader, "text_chars", 0) + total_chars
    loader.text_chars = used
    if used > MAX_DOCUMENT_CHARS:
        raise SVGError(f"{loader.describe(elem)}: more than {MAX_DOCUMENT_CHARS} characters of "
                       f"text in the document")
    if abs(ctm[0][0] * ctm[1][1] - ctm[0][1] * ctm[1][0]) < 1e-12:
        return
    try:
        import fontTools  # noqa: F401
        import uharfbuzz  # noqa: F401
    except ImportError:
        loader.warn("text-deps", "SVG text needs uharfbuzz and fontTools "
                                 "(pip install pydiffvg[text]); text is not supported without "
                                 "them and is skipped")
        return
    database = _database_for(loader)
    loader._text_ctm = ctm
    builder = _Builder(loader, elem, viewport, database)
    root = builder.build(elem, style, None, False, 0)
    _trim_runs(builder.runs, root.preserve)
    total = _count(root)
    if total == 0:
        return
    xs, ys, dxs, dys, rotations = _positions(loader, root, total, viewport)
    factory = _SpanFactory(loader, builder, viewport)
    chunks = _chunks(loader, root, factory, xs, ys, viewport)
    if not chunks:
        return
    mode = style.get("writing-mode", "lr-tb").strip()
    vertical = mode in ("tb", "tb-rl", "vertical-rl", "vertical-lr")
    layout = layout_text(chunks, dxs, dys, rotations, vertical, database, loader.warn)
    if layout.bbox is None:
        return
    bbox = layout.bbox
    matrix = torch.tensor(ctm, dtype=torch.float32)
    ident = elem.get("id") or ""
    for result in layout.spans:
        span = result.span
        if not span.visible:
            continue
        node = span.payload
        for name in ("overline", "underline"):
            if name in result.decorations:
                _emit_rects(loader, result.decorations[name], span.decorations[name], bbox,
                            viewport, opacity, matrix, ident)
        shapes = []
        colour_glyphs = []
        for glyph in result.glyphs:
            if glyph.face.svg_document(glyph.glyph_id) is not None:
                colour_glyphs.append(glyph)
                continue
            for ncp, points in glyph_contours(glyph):
                shapes.append(Path(torch.from_numpy(ncp),
                                   torch.from_numpy(points.astype(np.float32)), True,
                                   id=ident))
        if shapes:
            _emit_group(loader, node, shapes, bbox, viewport, opacity, matrix, ident)
        for glyph in colour_glyphs:
            _emit_svg_glyph(loader, glyph, ctm, opacity, ident)
        if "line-through" in result.decorations:
            _emit_rects(loader, result.decorations["line-through"],
                        span.decorations["line-through"], bbox, viewport, opacity, matrix,
                        ident)


def _emit_svg_glyph(loader, glyph, ctm, opacity, ident):
    """A glyph of an OpenType 'SVG ' colour font: its document, loaded by
    our own SVG reader (once per glyph), drawn under the glyph's transform
    (font units with y down, so without the outline's flip)."""
    from ..svg.parser import svg_to_scene
    face = glyph.face
    scene = face.svg_scenes.get(glyph.glyph_id)
    if scene is None:
        try:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scene = svg_to_scene(face.svg_document(glyph.glyph_id), strict=False)
        except SVGError:
            scene = (0, 0, [], [])
        face.svg_scenes[glyph.glyph_id] = scene
    _, _, shapes, groups = scene
    if not shapes:
        return
    place = torch.tensor(np.asarray(ctm) @ glyph.matrix @ np.diag([1.0, -1.0, 1.0]),
                         dtype=torch.float32)
    first = len(loader.shapes)
    for shape in shapes:
        loader.shapes.append(shape)
    for group in groups:
        fill, stroke = group.fill_color, group.stroke_color
        if opacity < 1.0:
            fill = _faded(fill, opacity)
            stroke = _faded(stroke, opacity)
        loader.groups.append(ShapeGroup(group.shape_ids + first, fill,
                                        use_even_odd_rule=group.use_even_odd_rule,
                                        stroke_color=stroke,
                                        shape_to_canvas=place @ group.shape_to_canvas, id=ident))


def _faded(paint, opacity):
    if isinstance(paint, torch.Tensor):
        return paint * torch.tensor([1.0, 1.0, 1.0, opacity])
    if paint is not None and hasattr(paint, "stop_colors"):
        import copy
        paint = copy.copy(paint)
        paint.stop_colors = paint.stop_colors * torch.tensor([1.0, 1.0, 1.0, opacity])
    return paint


def _emit_rects(loader, rects, node: _Node, bbox, viewport, opacity, matrix, ident):
    shapes = []
    for corners in rects:
        shapes.append(Path(torch.zeros(4, dtype=torch.int32),
                           torch.from_numpy(corners.astype(np.float32)), True, id=ident))
    _emit_group(loader, node, shapes, bbox, viewport, opacity, matrix, ident)


def _emit_group(loader, node: _Node, shapes, bbox, viewport, opacity, matrix, ident):
    """Fill and stroke groups for ``shapes`` with ``node``'s paints (the
    loader's paint and stroke machinery), in paint-order."""
    style = node.style
    stroke_width, stroke_style, _, fill, stroke = loader.fill_and_stroke(node.elem, style, bbox, viewport, opacity)
    if fill is None and stroke is None:
        return
    if stroke is not None and style.get("stroke-dasharray", "none").strip() not in ("none", ""):
        loader.warn("text-dash", f"{loader.describe(node.elem)}: dashed strokes on text are "
                                 f"not supported; drawn solid")
    parts = [("fill", fill), ("stroke", stroke)]
    if loader.stroke_before_fill(style):
        parts.reverse()
    together = fill is not None and stroke is not None and not loader.stroke_before_fill(style)
    if together:
        parts = [("both", None)]
    first_shape = len(loader.shapes)
    for index, (name, _) in enumerate(parts):
        paint_fill = fill if name in ("fill", "both") else None
        paint_stroke = stroke if name in ("stroke", "both") else None
        if paint_fill is None and paint_stroke is None:
            continue
        if first_shape == len(loader.shapes):
            group_shapes = shapes
        else:  # a second group draws the same outlines again
            group_shapes = [Path(s.num_control_points, s.points, True, id=ident) for s in shapes]
        loader.add_shape_group(group_shapes, paint_fill, paint_stroke, stroke_width, stroke_style, False,
                               matrix, ident, matrix.double().numpy())


