"""Shaping with HarfBuzz: bidirectional runs, per-character font fallback.

Bidi (a small subset of UAX #9, paragraph level 0): characters whose
``unicodedata.bidirectional`` class is R or AL get level 1; European and
Arabic numbers after a right-to-left character get level 2; neutral
characters take the level of the strong characters on both sides when
those agree, else 0. Runs of one level are shaped with HarfBuzz in their
direction (odd: right to left) and put in visual order by reversing, for
each level k from the highest down to 1, every maximal sequence of runs at
level >= k (UAX #9 rule L2, at run granularity: HarfBuzz already reverses
the characters inside a right-to-left run).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .fonts import Face, FontDatabase

#: How many fallback faces are tried for the characters one face lacks.
MAX_FALLBACK_FACES = 8


@dataclass
class Glyph:
    """One shaped glyph. ``cluster`` is the index (in code points, within
    the shaped text) of the first character of its cluster; advances and
    offsets are in the face's font units."""
    face: Face
    glyph_id: int
    cluster: int
    x_advance: float
    y_advance: float
    x_offset: float
    y_offset: float
    variations: Tuple = ()


def bidi_levels(text: str) -> List[int]:
    """Embedding levels (0, 1 or 2) per character; see the module docstring."""
    classes = [unicodedata.bidirectional(c) for c in text]
    if not any(k in ("R", "AL") for k in classes):
        return [0] * len(text)
    strong = []  # per char: 'L', 'R' or None
    for k in classes:
        strong.append("R" if k in ("R", "AL") else "L" if k == "L" else None)
    levels = [0] * len(text)
    previous = None  # last strong direction seen
    for i, k in enumerate(classes):
        if strong[i] == "R":
            levels[i] = 1
        elif strong[i] == "L":
            levels[i] = 0
        elif k in ("EN", "AN") and (previous == "R" or k == "AN"):
            levels[i] = 2
        else:
            levels[i] = -1  # neutral, resolved below
        if strong[i] is not None:
            previous = strong[i]
    # neutrals (and numbers kept at -1) between two strongs of one direction
    i = 0
    n = len(text)
    while i < n:
        if levels[i] != -1:
            i += 1
            continue
        j = i
        while j < n and levels[j] == -1:
            j += 1
        before = levels[i - 1] if i > 0 else 0
        after = levels[j] if j < n else 0
        side_before = "R" if before >= 1 else "L"
        side_after = "R" if after >= 1 else "L"
        fill = 1 if side_before == side_after == "R" else 0
        for m in range(i, j):
            levels[m] = fill
        i = j
    return levels


def visual_runs(text: str) -> List[Tuple[int, int, bool]]:
    """(start, end, right_to_left) runs of ``text`` in visual order."""
    if not text:
        return []
    levels = bidi_levels(text)
    runs = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or levels[i] != levels[start]:
            runs.append((start, i, levels[start]))
            start = i
    top = max(r[2] for r in runs)
    for level in range(top, 0, -1):
        out, i = [], 0
        while i < len(runs):
            if runs[i][2] >= level:
                j = i
                while j < len(runs) and runs[j][2] >= level:
                    j += 1
                out.extend(reversed(runs[i:j]))
                i = j
            else:
                out.append(runs[i])
                i += 1
        runs = out
    return [(s, e, bool(level % 2)) for s, e, level in runs]


def _shape_run(face: Face, codepoints: Sequence[int], rtl: bool, features: Dict[str, bool],
               variations: Tuple, offset: int) -> List[Glyph]:
    import uharfbuzz as hb
    buffer = hb.Buffer()
    buffer.add_codepoints(list(codepoints))
    buffer.guess_segment_properties()
    buffer.direction = "rtl" if rtl else "ltr"
    font = face.shaping_font(variations)
    with face.lock:
        hb.shape(font, buffer, features)
    out = []
    for info, pos in zip(buffer.glyph_infos, buffer.glyph_positions):
        out.append(Glyph(face, int(info.codepoint), offset + int(info.cluster),
                         float(pos.x_advance), float(pos.y_advance),
                         float(pos.x_offset), float(pos.y_offset), variations))
    return out


def _clusters(glyphs: List[Glyph]) -> List[Tuple[int, List[Glyph]]]:
    """Consecutive glyphs with one cluster value, in order."""
    out: List[Tuple[int, List[Glyph]]] = []
    for glyph in glyphs:
        if out and out[-1][0] == glyph.cluster:
            out[-1][1].append(glyph)
        else:
            out.append((glyph.cluster, [glyph]))
    return out


def shape_with_fallback(text: str, face: Face, database: Optional[FontDatabase],
                        features: Optional[Dict[str, bool]] = None,
                        variations: Optional[Dict[str, float]] = None,
                        warn: Optional[Callable[[str, str], None]] = None) -> List[Glyph]:
    """Shape ``text`` in visual order with ``face``; clusters whose glyphs are
    missing (glyph 0) are reshaped with fallback faces from ``database`` that
    have the character. Characters no face has keep glyph 0 (the face's
    .notdef outline) and warn once through ``warn``."""
    features = features or {}
    out: List[Glyph] = []
    for start, end, rtl in visual_runs(text):
        codepoints = [ord(c) for c in text[start:end]]
        key = face.variation_key(variations)
        glyphs = _shape_run(face, codepoints, rtl, features, key, start)
        used = [face]
        for _ in range(MAX_FALLBACK_FACES):
            missing = [g for g in glyphs if g.glyph_id == 0]
            if not missing or database is None:
                break
            char = text[missing[0].cluster]
            other = database.fallback(ord(char), used, face)
            if other is None:
                break
            used.append(other)
            other_key = other.variation_key(variations)
            replacement = {cluster: group for cluster, group in
                           _clusters(_shape_run(other, codepoints, rtl, features, other_key,
                                                start))}
            merged = []
            for cluster, group in _clusters(glyphs):
                if any(g.glyph_id == 0 for g in group) and cluster in replacement and all(
                        g.glyph_id != 0 for g in replacement[cluster]):
                    merged.extend(replacement[cluster])
                else:
                    merged.extend(group)
            glyphs = merged
        for glyph in glyphs:
            if glyph.glyph_id == 0 and warn is not None:
                char = text[glyph.cluster]
                if not char.isspace() and unicodedata.category(char)[0] != "C":
                    warn("font-char", f"no installed font has the character "
                                      f"U+{ord(char):04X} ('{char}'); drawn with the font's "
                                      f"missing-glyph outline")
        out.extend(glyphs)
    return out
