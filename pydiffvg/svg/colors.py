"""CSS colour syntax: the 147 SVG named colours, ``transparent``, hex forms,
``rgb()/rgba()`` (commas or the CSS Color 4 space syntax, numbers or
percentages) and ``hsl()/hsla()``.

Colours are returned as straight RGBA floats in [0, 1], the sRGB values as
written (no linearisation).
"""
from __future__ import annotations

import math
import re
from typing import Optional, Tuple

RGBA = Tuple[float, float, float, float]

_NAMED_HEX = """
aliceblue f0f8ff antiquewhite faebd7 aqua 00ffff aquamarine 7fffd4 azure f0ffff
beige f5f5dc bisque ffe4c4 black 000000 blanchedalmond ffebcd blue 0000ff
blueviolet 8a2be2 brown a52a2a burlywood deb887 cadetblue 5f9ea0 chartreuse 7fff00
chocolate d2691e coral ff7f50 cornflowerblue 6495ed cornsilk fff8dc crimson dc143c
cyan 00ffff darkblue 00008b darkcyan 008b8b darkgoldenrod b8860b darkgray a9a9a9
darkgreen 006400 darkgrey a9a9a9 darkkhaki bdb76b darkmagenta 8b008b
darkolivegreen 556b2f darkorange ff8c00 darkorchid 9932cc darkred 8b0000
darksalmon e9967a darkseagreen 8fbc8f darkslateblue 483d8b darkslategray 2f4f4f
darkslategrey 2f4f4f darkturquoise 00ced1 darkviolet 9400d3 deeppink ff1493
deepskyblue 00bfff dimgray 696969 dimgrey 696969 dodgerblue 1e90ff firebrick b22222
floralwhite fffaf0 forestgreen 228b22 fuchsia ff00ff gainsboro dcdcdc
ghostwhite f8f8ff gold ffd700 goldenrod daa520 gray 808080 grey 808080 green 008000
greenyellow adff2f honeydew f0fff0 hotpink ff69b4 indianred cd5c5c indigo 4b0082
ivory fffff0 khaki f0e68c lavender e6e6fa lavenderblush fff0f5 lawngreen 7cfc00
lemonchiffon fffacd lightblue add8e6 lightcoral f08080 lightcyan e0ffff
lightgoldenrodyellow fafad2 lightgray d3d3d3 lightgreen 90ee90 lightgrey d3d3d3
lightpink ffb6c1 lightsalmon ffa07a lightseagreen 20b2aa lightskyblue 87cefa
lightslategray 778899 lightslategrey 778899 lightsteelblue b0c4de lightyellow ffffe0
lime 00ff00 limegreen 32cd32 linen faf0e6 magenta ff00ff maroon 800000
mediumaquamarine 66cdaa mediumblue 0000cd mediumorchid ba55d3 mediumpurple 9370db
mediumseagreen 3cb371 mediumslateblue 7b68ee mediumspringgreen 00fa9a
mediumturquoise 48d1cc mediumvioletred c71585 midnightblue 191970 mintcream f5fffa
mistyrose ffe4e1 moccasin ffe4b5 navajowhite ffdead navy 000080 oldlace fdf5e6
olive 808000 olivedrab 6b8e23 orange ffa500 orangered ff4500 orchid da70d6
palegoldenrod eee8aa palegreen 98fb98 paleturquoise afeeee palevioletred db7093
papayawhip ffefd5 peachpuff ffdab9 peru cd853f pink ffc0cb plum dda0dd
powderblue b0e0e6 purple 800080 red ff0000 rosybrown bc8f8f royalblue 4169e1
saddlebrown 8b4513 salmon fa8072 sandybrown f4a460 seagreen 2e8b57 seashell fff5ee
sienna a0522d silver c0c0c0 skyblue 87ceeb slateblue 6a5acd slategray 708090
slategrey 708090 snow fffafa springgreen 00ff7f steelblue 4682b4 tan d2b48c
teal 008080 thistle d8bfd8 tomato ff6347 turquoise 40e0d0 violet ee82ee wheat f5deb3
white ffffff whitesmoke f5f5f5 yellow ffff00 yellowgreen 9acd32
"""


def _build_named():
    words = _NAMED_HEX.split()
    table = {}
    for name, hexcode in zip(words[0::2], words[1::2]):
        table[name] = tuple(int(hexcode[i:i + 2], 16) / 255.0 for i in (0, 2, 4)) + (1.0,)
    return table


#: name -> RGBA for the 147 SVG 1.1 / CSS3 colour keywords, plus ``transparent``.
NAMED_COLORS = _build_named()
NAMED_COLORS["transparent"] = (0.0, 0.0, 0.0, 0.0)

_FUNC = re.compile(r"^(rgba?|hsla?)\(\s*(.*?)\s*\)$", re.IGNORECASE | re.DOTALL)
_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_ARG = re.compile(rf"^({_NUM})(%|deg|rad|grad|turn)?$", re.IGNORECASE)


#: SVG 1.1 <paint>/<color> may end in an ICC colour, ``#f00 icc-color(p, 1, 0, 0)``;
#: the sRGB colour before it is the one to use when colour management is off.
_ICC_COLOR = re.compile(r"(?<=\S)\s+icc-color\([^()]*\)\s*$", re.IGNORECASE)


class ColorSyntaxError(ValueError):
    """A colour value that is not valid CSS (the caller decides what to do)."""


def _split_args(body: str):
    """Split function arguments: 'a, b, c[, d]' or 'a b c[ / d]'."""
    if "," in body:
        parts = [p.strip() for p in body.split(",")]
        if any(p == "" for p in parts):
            raise ColorSyntaxError(f"empty argument in '{body}'")
        return parts
    main, _, alpha = body.partition("/")
    parts = main.split()
    if alpha.strip():
        parts.append(alpha.strip())
    elif "/" in body:
        raise ColorSyntaxError(f"missing alpha after '/' in '{body}'")
    return parts


def _arg(text: str):
    match = _ARG.match(text)
    if not match:
        raise ColorSyntaxError(f"bad colour argument '{text}'")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise ColorSyntaxError(f"non-finite colour argument '{text}'")
    return value, (match.group(2) or "").lower()


def _clamp01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _alpha(text: str) -> float:
    value, unit = _arg(text)
    if unit == "%":
        value /= 100.0
    elif unit:
        raise ColorSyntaxError(f"bad alpha '{text}'")
    return _clamp01(value)


def _hsl_to_rgb(hue: float, sat: float, light: float):
    # CSS Color 4, section 7.1 (hslToRgb).
    def channel(n):
        k = (n + hue / 30.0) % 12.0
        a = sat * min(light, 1.0 - light)
        return light - a * max(-1.0, min(k - 3.0, 9.0 - k, 1.0))
    return channel(0), channel(8), channel(4)


def parse_color(text: str) -> Optional[RGBA]:
    """Parse a CSS colour. Returns RGBA floats in [0, 1], or ``None`` for
    ``none``. ``currentColor`` is not handled here (the caller resolves it).
    Raises ColorSyntaxError for anything else that is not a colour."""
    value = _ICC_COLOR.sub("", text).strip()
    low = value.lower()
    if low == "none":
        return None
    if low in NAMED_COLORS:
        return NAMED_COLORS[low]
    if low.startswith("#"):
        digits = low[1:]
        if not re.fullmatch(r"[0-9a-f]+", digits or "x"):
            raise ColorSyntaxError(f"bad hex colour '{text}'")
        if len(digits) in (3, 4):
            chans = [int(c * 2, 16) / 255.0 for c in digits]
        elif len(digits) in (6, 8):
            chans = [int(digits[i:i + 2], 16) / 255.0 for i in range(0, len(digits), 2)]
        else:
            raise ColorSyntaxError(f"bad hex colour '{text}'")
        if len(chans) == 3:
            chans.append(1.0)
        return tuple(chans)
    match = _FUNC.match(value)
    if not match:
        raise ColorSyntaxError(f"unknown colour '{text}'")
    name = match.group(1).lower()
    args = _split_args(match.group(2))
    if len(args) not in (3, 4):
        raise ColorSyntaxError(f"{name}() takes 3 or 4 arguments, got '{text}'")
    alpha = _alpha(args[3]) if len(args) == 4 else 1.0
    legacy = "," in match.group(2)
    if name.startswith("rgb"):
        chans = []
        units = set()
        for arg in args[:3]:
            number, unit = _arg(arg)
            units.add(unit)
            # CSS Color 4: the comma syntax takes three numbers or three
            # percentages, never a mix (the space syntax allows mixing)
            if legacy and len(units) > 1:
                raise ColorSyntaxError(f"rgb() mixes numbers and percentages in '{text}'")
            if unit == "%":
                chans.append(_clamp01(number / 100.0))
            elif unit == "":
                chans.append(_clamp01(number / 255.0))
            else:
                raise ColorSyntaxError(f"bad rgb() argument '{arg}'")
        return (chans[0], chans[1], chans[2], alpha)
    hue, unit = _arg(args[0])
    hue = {"": hue, "deg": hue, "rad": math.degrees(hue), "grad": hue * 0.9,
           "turn": hue * 360.0}.get(unit)
    if hue is None:
        raise ColorSyntaxError(f"bad hue '{args[0]}'")
    sat_light = []
    for arg in args[1:3]:
        number, unit = _arg(arg)
        if unit not in ("%", "") or (legacy and unit != "%"):
            # CSS Color 4: the comma syntax takes percentages for s and l
            raise ColorSyntaxError(f"bad hsl() argument '{arg}'")
        sat_light.append(_clamp01(number / 100.0))
    red, green, blue = _hsl_to_rgb(hue % 360.0, sat_light[0], sat_light[1])
    return (red, green, blue, alpha)
