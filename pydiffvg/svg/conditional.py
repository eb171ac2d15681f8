"""Conditional processing (SVG 2, 5.7 and 5.8): ``switch`` and the
``systemLanguage``, ``requiredExtensions`` and ``requiredFeatures``
attributes. An element whose conditions fail is not rendered; a ``switch``
renders only its first direct child whose conditions hold."""
from __future__ import annotations

from .xmlsource import split_tag

SVG_NS = "http://www.w3.org/2000/svg"
SHAPES = {"circle", "ellipse", "rect", "line", "polyline", "polygon", "path"}


#: Direct children of ``switch`` that it may choose (rendered element kinds).
SWITCH_CHILDREN = SHAPES | {"g", "svg", "use", "a", "switch", "text", "image", "foreignObject"}


def language_matches(tag: str, languages) -> bool:
    """A systemLanguage tag against the user's languages (lower case), as
    browsers match them: equal, or one is the other followed by a subtag
    ("en" matches "en-US" and "en-US" matches "en")."""
    tag = tag.strip().lower()
    if not tag:
        return False
    return any(tag == lang or tag.startswith(lang + "-") or lang.startswith(tag + "-")
               for lang in languages)


def conditions_pass(elem, languages) -> bool:
    """systemLanguage (a comma-separated list: true when any entry matches),
    requiredExtensions (no extensions are supported: false when present) and
    requiredFeatures (SVG 2 drops it; browsers and resvg treat it as true)."""
    text = elem.get("systemLanguage")
    if text is not None and not any(language_matches(t, languages) for t in text.split(",")):
        return False
    if elem.get("requiredExtensions") is not None:
        return False
    return True


def switch_choice(elem, languages):
    """The child of a ``switch`` it renders: the first direct child that is a
    renderable SVG element whose conditions hold (display is not
    considered: a chosen child with display none renders nothing)."""
    for child in elem:
        if not isinstance(child.tag, str):
            continue
        ns, tag = split_tag(child.tag)
        if ns not in (SVG_NS, None) or tag not in SWITCH_CHILDREN:
            continue
        if conditions_pass(child, languages):
            return child
    return None
