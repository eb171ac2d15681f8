"""Lengths with units, number lists, ``transform`` lists and the
viewBox / preserveAspectRatio mapping. All matrices are 3×3 numpy float64
affine maps acting on column vectors (x, y, 1)."""
from __future__ import annotations

import math
import re
from typing import List, Optional, Tuple

import numpy as np

from .paths import MAX_COORDINATE

#: CSS pixels per absolute unit (96 dpi; 1Q = 0.25 mm).
UNIT_PX = {"": 1.0, "px": 1.0, "pt": 4.0 / 3.0, "pc": 16.0, "mm": 96.0 / 25.4,
           "cm": 96.0 / 2.54, "in": 96.0, "q": 96.0 / 101.6}

#: The initial font size ('medium'), in px.
MEDIUM_FONT_PX = 16.0

#: CSS absolute-size keywords, as multiples of 'medium' (CSS Fonts 4, 2.5).
FONT_SIZE_KEYWORDS = {"xx-small": 3 / 5, "x-small": 3 / 4, "small": 8 / 9, "medium": 1.0,
                      "large": 6 / 5, "x-large": 3 / 2, "xx-large": 2.0, "xxx-large": 3.0}

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_LENGTH = re.compile(rf"^\s*({_NUM})\s*(px|pt|pc|mm|cm|in|q|em|rem|ex|%)?\s*$", re.IGNORECASE)
_NUMBER_IN_LIST = re.compile(_NUM)


class UnitError(ValueError):
    """A length or number that does not parse, or is not finite."""


def check_finite(value: float, text: str) -> float:
    if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
        raise UnitError(f"number '{text}' is not finite or out of range")
    return value


def parse_length(text: str, percent_of: float = 1.0, font_size: float = MEDIUM_FONT_PX,
                 root_font_size: float = MEDIUM_FONT_PX) -> float:
    """A length in user units (px). ``percent_of`` is the reference for %;
    ``font_size`` (px) for em and ex, ``root_font_size`` for rem. Without
    font metrics, 1ex is 0.5em (the fallback CSS Values 4 allows)."""
    match = _LENGTH.match(text)
    if not match:
        raise UnitError(f"invalid length '{text}'")
    value = check_finite(float(match.group(1)), text)
    unit = (match.group(2) or "").lower()
    if unit == "%":
        return value / 100.0 * percent_of
    if unit == "em":
        return value * font_size
    if unit == "ex":
        return value * font_size / 2.0
    if unit == "rem":
        return value * root_font_size
    return value * UNIT_PX[unit]


def parse_font_size(text: str, parent_px: float, root_px: float) -> Optional[float]:
    """The computed font-size in px: keywords, larger/smaller (×/÷ 1.2), and
    lengths where em, ex and % refer to the parent's font size. None when
    the value is invalid (the declaration is then ignored)."""
    low = text.strip().lower()
    if low in FONT_SIZE_KEYWORDS:
        return FONT_SIZE_KEYWORDS[low] * MEDIUM_FONT_PX
    if low == "larger":
        return parent_px * 1.2
    if low == "smaller":
        return parent_px / 1.2
    try:
        value = parse_length(low, parent_px, parent_px, root_px)
    except UnitError:
        return None
    return value if value >= 0.0 else None


def parse_number_list(text: str) -> List[float]:
    """Numbers separated by whitespace and/or commas. Raises UnitError."""
    stripped = text.strip()
    if not stripped:
        return []
    tokens = [t for t in re.split(r"[\s,]+", stripped) if t]
    out = []
    for token in tokens:
        if not re.fullmatch(_NUM, token):
            raise UnitError(f"invalid number '{token}' in '{text}'")
        out.append(check_finite(float(token), token))
    return out


def translate(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def scale(sx: float, sy: float) -> np.ndarray:
    return np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]])


def rotate(degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


_TRANSFORM_ITEM = re.compile(r"\s*,?\s*(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)\s*,?",
                             re.IGNORECASE)
_ANGLE = re.compile(rf"^({_NUM})(deg|rad|grad|turn)?$", re.IGNORECASE)


def _transform_args(body: str) -> List[float]:
    out = []
    for token in [t for t in re.split(r"[\s,]+", body.strip()) if t]:
        match = _ANGLE.match(token)
        unit_match = None if match else re.fullmatch(rf"({_NUM})(px)", token, re.IGNORECASE)
        if not match and not unit_match:
            raise UnitError(f"invalid transform argument '{token}'")
        value = check_finite(float((match or unit_match).group(1)), token)
        unit = (match.group(2) or "").lower() if match else ""
        value = {"": value, "deg": value, "rad": math.degrees(value), "grad": value * 0.9,
                 "turn": value * 360.0}[unit]
        out.append(value)
    return out


def parse_transform(text: str) -> np.ndarray:
    """Parse an SVG ``transform`` list into one 3×3 matrix (applied right to
    left, as written). Raises UnitError on bad syntax."""
    result = np.eye(3)
    pos = 0
    text = text.strip()
    if text.lower() == "none":
        return result
    while pos < len(text):
        match = _TRANSFORM_ITEM.match(text, pos)
        if not match:
            raise UnitError(f"invalid transform at '{text[pos:pos + 20]}'")
        pos = match.end()
        name = match.group(1).lower()
        args = _transform_args(match.group(2))
        count = len(args)
        if name == "matrix" and count == 6:
            a, b, c, d, e, f = args
            item = np.array([[a, c, e], [b, d, f], [0.0, 0.0, 1.0]])
        elif name == "translate" and count in (1, 2):
            item = translate(args[0], args[1] if count == 2 else 0.0)
        elif name == "scale" and count in (1, 2):
            item = scale(args[0], args[1] if count == 2 else args[0])
        elif name == "rotate" and count in (1, 3):
            item = rotate(args[0])
            if count == 3:  # rotate(a, cx, cy) = T(c) R(a) T(-c)
                item = translate(args[1], args[2]) @ item @ translate(-args[1], -args[2])
        elif name == "skewx" and count == 1:
            item = np.array([[1.0, math.tan(math.radians(args[0])), 0.0], [0.0, 1.0, 0.0],
                             [0.0, 0.0, 1.0]])
        elif name == "skewy" and count == 1:
            item = np.array([[1.0, 0.0, 0.0], [math.tan(math.radians(args[0])), 1.0, 0.0],
                             [0.0, 0.0, 1.0]])
        else:
            raise UnitError(f"{match.group(1)}() does not take {count} arguments")
        result = result @ item
    if not np.all(np.isfinite(result)):
        raise UnitError(f"transform '{text}' is not finite")
    return result


_ALIGNS = {"none", "xminymin", "xmidymin", "xmaxymin", "xminymid", "xmidymid", "xmaxymid",
           "xminymax", "xmidymax", "xmaxymax"}


def parse_aspect_ratio(text: Optional[str]) -> Tuple[str, str]:
    """(align, meet_or_slice) from preserveAspectRatio; defaults xMidYMid meet."""
    if not text:
        return "xmidymid", "meet"
    words = text.split()
    if words and words[0] == "defer":
        words = words[1:]
    if not words or words[0].lower() not in _ALIGNS or len(words) > 2:
        return "xmidymid", "meet"
    mode = words[1].lower() if len(words) == 2 else "meet"
    if mode not in ("meet", "slice"):
        mode = "meet"
    return words[0].lower(), mode


def viewbox_transform(viewbox: Tuple[float, float, float, float], width: float,
                      height: float, aspect: Tuple[str, str]) -> np.ndarray:
    """SVG 2 section 8.2 "equivalent transform of an SVG viewport": map the
    viewBox (min_x, min_y, w, h) onto the viewport [0, width] × [0, height]."""
    vx, vy, vw, vh = viewbox
    sx, sy = width / vw, height / vh
    align, mode = aspect
    if align == "none":
        return scale(sx, sy) @ translate(-vx, -vy)
    uniform = min(sx, sy) if mode == "meet" else max(sx, sy)
    tx, ty = -vx * uniform, -vy * uniform
    if "xmid" in align:
        tx += (width - vw * uniform) / 2.0
    elif "xmax" in align:
        tx += width - vw * uniform
    if "ymid" in align:
        ty += (height - vh * uniform) / 2.0
    elif "ymax" in align:
        ty += height - vh * uniform
    return np.array([[uniform, 0.0, tx], [0.0, uniform, ty], [0.0, 0.0, 1.0]])
