"""A small CSS engine for SVG: declaration lists, ``<style>`` sheets,
selectors and the cascade.

Supported selectors: type (``rect``), class (``.a``), id (``#a``), universal
(``*``), attribute (``[x]``, ``[x=v]``, ``[x~=v]``, ``[x^=v]``, ``[x$=v]``,
``[x*=v]``), ``:first-child``, descendant (``g rect``) and child
(``g > rect``) combinators, and selector lists (``a, b``). Rules with other
selectors (siblings, other pseudo-classes) are skipped with a warning. At-rules
are skipped.

Cascade order, lowest first: presentation attributes, sheet declarations by
(specificity, source order), the ``style`` attribute, then ``!important``
sheet declarations, then ``!important`` style-attribute declarations.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

#: Properties that are also presentation attributes (SVG 1.1 + SVG 2 transform).
PRESENTATION_PROPERTIES = frozenset("""
fill stroke opacity fill-opacity stroke-opacity fill-rule stroke-width stroke-linecap
stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset color display
visibility stop-color stop-opacity clip-path mask filter marker-start marker-mid
marker-end paint-order transform-origin overflow font-size clip-rule mask-type
color-interpolation color-interpolation-filters flood-color
flood-opacity lighting-color image-rendering shape-rendering
font-family font-style font-weight font-stretch font-variant font-kerning kerning
font-variation-settings font-optical-sizing text-anchor letter-spacing word-spacing
text-decoration baseline-shift dominant-baseline alignment-baseline writing-mode direction
unicode-bidi text-rendering glyph-orientation-vertical font-size-adjust
""".split())

#: Properties inherited from the parent when not specified.
INHERITED_PROPERTIES = frozenset("""
fill stroke fill-opacity stroke-opacity fill-rule stroke-width stroke-linecap
stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset color visibility
paint-order marker-start marker-mid marker-end font-size clip-rule color-interpolation
color-interpolation-filters image-rendering shape-rendering
font-family font-style font-weight font-stretch font-variant font-kerning kerning
font-variation-settings font-optical-sizing text-anchor letter-spacing word-spacing
writing-mode direction text-rendering glyph-orientation-vertical
""".split())

#: Initial values (CSS "initial") of the properties we use.
INITIAL_VALUES = {
    "fill": "black", "stroke": "none", "opacity": "1", "fill-opacity": "1",
    "stroke-opacity": "1", "fill-rule": "nonzero", "stroke-width": "1",
    "stroke-linecap": "butt", "stroke-linejoin": "miter", "stroke-miterlimit": "4",
    "stroke-dasharray": "none", "stroke-dashoffset": "0", "color": "black",
    "display": "inline", "visibility": "visible", "stop-color": "black",
    "stop-opacity": "1", "paint-order": "normal",
}

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def strip_comments(text: str) -> str:
    return _COMMENT.sub(" ", text)


def parse_declarations(text: str) -> List[Tuple[str, str, bool]]:
    """Parse ``a: b; c: d !important`` into [(name, value, important)].
    Malformed declarations are dropped (CSS error recovery)."""
    out = []
    for item in strip_comments(text).split(";"):
        name, sep, value = item.partition(":")
        if not sep:
            continue
        name = name.strip().lower()
        value = value.strip()
        important = False
        match = re.search(r"!\s*important\s*$", value, re.IGNORECASE)
        if match:
            important = True
            value = value[:match.start()].strip()
        if name and value:
            out.append((name, value, important))
    return out


# ----------------------------------------------------------------------------
# Selectors
# ----------------------------------------------------------------------------

@dataclass
class _Compound:
    tag: Optional[str]          # None matches any tag
    ids: Tuple[str, ...]
    classes: Tuple[str, ...]
    attrs: Tuple[Tuple[str, Optional[str], Optional[str]], ...]  # (name, op, value)
    first_child: bool


@dataclass
class Selector:
    """A complex selector: compounds joined by combinators (' ' or '>'),
    stored right to left for matching."""
    parts: List[Tuple[_Compound, Optional[str]]]  # (compound, combinator to the left)
    specificity: Tuple[int, int, int]


class SelectorError(ValueError):
    pass


_IDENT = r"-?[_a-zA-Z][-_a-zA-Z0-9]*"
_TOKEN = re.compile(
    rf"\s*(?:(?P<comb>>)|(?P<tag>{_IDENT}|\*)|#(?P<id>[-_a-zA-Z0-9]+)|\.(?P<cls>{_IDENT})"
    rf"|\[\s*(?P<attr>{_IDENT})\s*(?:(?P<op>[~^$*|]?=)\s*(?P<val>\"[^\"]*\"|'[^']*'|[^\]\s]+)\s*)?\]"
    rf"|:(?P<pseudo>{_IDENT}))")


def parse_selector(text: str) -> Selector:
    """Parse one complex selector (no commas). Raises SelectorError."""
    text = text.strip()
    if not text:
        raise SelectorError("empty selector")
    compounds: List[Tuple[_Compound, Optional[str]]] = []
    pos = 0
    current: Optional[dict] = None
    pending_comb: Optional[str] = None
    spec = [0, 0, 0]

    def flush():
        nonlocal current
        if current is not None:
            compounds.append((_Compound(current["tag"], tuple(current["ids"]),
                                        tuple(current["cls"]), tuple(current["attrs"]),
                                        current["first"]), current["comb"]))
            current = None

    while pos < len(text):
        had_space = text[pos].isspace()
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SelectorError(f"unsupported selector syntax at '{text[pos:]}'")
        pos = match.end()
        if match.group("comb"):
            if current is None:
                raise SelectorError(f"misplaced '>' in '{text}'")
            flush()
            pending_comb = ">"
            continue
        if current is not None and had_space:
            flush()
            pending_comb = pending_comb or " "
        if current is None:
            current = {"tag": None, "ids": [], "cls": [], "attrs": [], "first": False,
                       "comb": pending_comb if compounds else None}
            pending_comb = None
        if match.group("tag"):
            if current["tag"] is not None or current["ids"] or current["cls"] or current["attrs"]:
                raise SelectorError(f"misplaced type selector in '{text}'")
            tag = match.group("tag")
            current["tag"] = None if tag == "*" else tag
            if tag != "*":
                spec[2] += 1
        elif match.group("id"):
            current["ids"].append(match.group("id"))
            spec[0] += 1
        elif match.group("cls"):
            current["cls"].append(match.group("cls"))
            spec[1] += 1
        elif match.group("attr"):
            val = match.group("val")
            if val and val[0] in "\"'":
                val = val[1:-1]
            current["attrs"].append((match.group("attr"), match.group("op"), val))
            spec[1] += 1
        elif match.group("pseudo"):
            if match.group("pseudo").lower() != "first-child":
                raise SelectorError(f"unsupported pseudo-class ':{match.group('pseudo')}'")
            current["first"] = True
            spec[1] += 1
    if pending_comb == ">" and current is None:
        raise SelectorError(f"dangling '>' in '{text}'")
    flush()
    return Selector(list(reversed(compounds)), tuple(spec))


def _match_compound(comp: _Compound, elem, info) -> bool:
    tag, attrs, parent, is_first = info(elem)
    if comp.tag is not None and comp.tag != tag:
        return False
    for ident in comp.ids:
        if attrs.get("id") != ident:
            return False
    if comp.classes:
        classes = attrs.get("class", "").split()
        if any(c not in classes for c in comp.classes):
            return False
    for name, op, val in comp.attrs:
        have = attrs.get(name)
        if have is None:
            return False
        if op is None:
            continue
        if op == "=" and have != val:
            return False
        if op == "~=" and val not in have.split():
            return False
        if op == "^=" and not have.startswith(val):
            return False
        if op == "$=" and not have.endswith(val):
            return False
        if op == "*=" and val not in have:
            return False
        if op == "|=" and not (have == val or have.startswith(val + "-")):
            return False
    if comp.first_child and not is_first:
        return False
    return True


def selector_matches(selector: Selector, elem, info: Callable) -> bool:
    """Match right to left. ``info(elem)`` returns (local tag, attribute dict
    with local names, parent element or None, is-first-element-child)."""
    def match_from(index, node):
        comp, comb = selector.parts[index]
        if not _match_compound(comp, node, info):
            return False
        if index + 1 == len(selector.parts):
            return True
        parent = info(node)[2]
        if comb == ">":
            return parent is not None and match_from(index + 1, parent)
        while parent is not None:  # descendant
            if match_from(index + 1, parent):
                return True
            parent = info(parent)[2]
        return False
    return match_from(0, elem)


@dataclass
class Rule:
    selector: Selector
    order: int
    declarations: List[Tuple[str, str, bool]]


def parse_stylesheet(text: str, warn: Callable[[str, str], None]) -> List[Rule]:
    """Parse a CSS sheet into rules. ``warn(kind, message)`` reports skipped
    rules. At-rules (``@media`` ...) are skipped with their blocks."""
    text = strip_comments(text).replace("<!--", " ").replace("-->", " ")
    rules: List[Rule] = []
    pos = 0
    order = 0
    length = len(text)
    while pos < length:
        brace = text.find("{", pos)
        if brace < 0:
            break
        prelude = text[pos:brace].strip()
        # find the matching close brace (nested blocks for at-rules)
        depth, end = 0, brace
        while end < length:
            if text[end] == "{":
                depth += 1
            elif text[end] == "}":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        body = text[brace + 1:end]
        pos = end + 1
        if ";" in prelude:  # a statement at-rule (@import ...;) before this rule
            prelude = prelude.rsplit(";", 1)[1].strip()
        if not prelude or prelude.startswith("@"):
            continue
        decls = parse_declarations(body)
        for part in prelude.split(","):
            try:
                selector = parse_selector(part)
            except SelectorError as exc:
                warn("css-selector", f"CSS rule '{part.strip()}' skipped: {exc}")
                continue
            rules.append(Rule(selector, order, decls))
            order += 1
    return rules


def cascade(attrs: Dict[str, str], sheet_decls: List[Tuple[Tuple[int, int, int], int,
                                                           List[Tuple[str, str, bool]]]],
            style_attr: Optional[str]) -> Dict[str, str]:
    """Specified values of one element: presentation attributes < sheet rules
    (sorted by specificity, then order) < style attribute, with !important
    sheet then style declarations on top."""
    result: Dict[str, str] = {}
    for name in PRESENTATION_PROPERTIES:
        if name in attrs:
            result[name] = attrs[name].strip()
    if "transform" in attrs:
        result["transform"] = attrs["transform"]
    ordered = sorted(sheet_decls, key=lambda item: (item[0], item[1]))
    inline = parse_declarations(style_attr) if style_attr else []
    important = []
    for _, _, decls in ordered:
        for name, value, imp in _expand_shorthands(decls):
            (important.append((name, value)) if imp else result.__setitem__(name, value))
    inline = _expand_shorthands(inline)
    for name, value, imp in inline:
        if not imp:
            result[name] = value
    for name, value in important:
        result[name] = value
    for name, value, imp in inline:
        if imp:
            result[name] = value
    return result


def _expand_shorthands(decls):
    """CSS shorthands SVG defines: ``marker`` sets marker-start, marker-mid and
    marker-end (a property only, not a presentation attribute)."""
    out = []
    for name, value, imp in decls:
        if name == "marker":
            out.extend((part, value, imp) for part in ("marker-start", "marker-mid", "marker-end"))
        else:
            out.append((name, value, imp))
    return out
