"""Reading SVG source safely: bytes from a filename, a path or text, with a
size limit, and XML parsing that refuses external references and any entity
declaration except simple internal ones (no billion laughs, no external
resources). Malformed input raises SVGError with the line and column."""
from __future__ import annotations

import os
import pathlib
import re
from typing import Optional, Tuple

from .errors import SVGError

#: Largest SVG file read, in bytes.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def read_source(source) -> bytes:
    """The document's bytes from bytes, SVG text, a filename or a pathlib.Path."""
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, str) and not source.strip():
        data = b""
    elif isinstance(source, pathlib.PurePath) or (
            isinstance(source, str) and not source.lstrip().startswith("<")):
        try:
            size = os.path.getsize(source)
            if size > MAX_DOCUMENT_BYTES:
                raise SVGError(f"{source}: file is {size} bytes, more than {MAX_DOCUMENT_BYTES}")
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise SVGError(f"cannot read SVG file {source!r}: {exc}") from exc
    elif isinstance(source, str):  # already decoded: its declared encoding no longer applies
        data = _DECLARED_ENCODING.sub(rb"\1UTF-8\2", source.encode("utf-8"), count=1)
    else:
        raise TypeError(f"svg_to_scene(): expected a filename, pathlib.Path or SVG text, "
                        f"got {type(source).__name__}")
    if not data.strip():
        raise SVGError("empty SVG document")
    return to_utf8(data)


#: The encoding in an XML declaration at the start of the document.
_DECLARED_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?\bencoding\s*=\s*[\"'])[A-Za-z0-9._:-]*([\"'])")
_ENCODING_NAME = re.compile(rb"^\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]*)")
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
#: The first bytes of "<?" or "<s" in UTF-16/32 without a byte order mark (XML 1.0 F.1).
_UNMARKED = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
             (b"\x00<\x00", "utf-16-be"), (b"<\x00", "utf-16-le"))


def to_utf8(data: bytes) -> bytes:
    """The document re-encoded as UTF-8, whatever encoding it is in (XML 1.0
    4.3.3 and appendix F): a byte order mark, else the UTF-16/32 pattern of
    its first characters, else the encoding of its XML declaration (any
    codec Python knows, e.g. windows-1251, Shift_JIS, GB2312), else UTF-8.
    The declaration is rewritten to say UTF-8. The XML parser itself only
    knows UTF-8, UTF-16 and single-byte encodings."""
    encoding, start = None, 0
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, start = name, len(bom)
            break
    else:
        for head, name in _UNMARKED:
            if data.startswith(head):
                encoding = name
                break
    if encoding is None:
        found = _ENCODING_NAME.match(data[:1024])
        declared = found.group(1).decode("ascii").lower() if found else None
        if not declared or declared in ("utf-8", "utf8", "us-ascii", "ascii"):
            return data
        encoding = declared
    if encoding == "utf-8":
        return _DECLARED_ENCODING.sub(rb"\1UTF-8\2", data[start:], count=1)
    import codecs
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SVGError(f"unknown XML encoding {encoding!r}") from None
    try:
        text = data[start:].decode(encoding)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SVGError(f"SVG bytes are not valid {encoding}: {exc}") from None
    return _DECLARED_ENCODING.sub(rb"\1UTF-8\2", text.encode("utf-8"), count=1)


#: Internal entities may expand to at most this many bytes in total.
MAX_ENTITY_EXPANSION = 1 << 20
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s+)?([^\s%]+)\s+(\"[^\"]*\"|'[^']*'|\S+)",
                          re.DOTALL)


def _internal_entities_are_safe(data: bytes) -> bool:
    """True when every entity declaration is a general internal entity
    whose text references no other entity, and all references together
    expand to at most MAX_ENTITY_EXPANSION bytes: then expansion is linear
    and bounded (no billion laughs, no quadratic blow-up, no external
    resources). Parameter and external entities make this False."""
    declarations = _ENTITY_DECL.findall(data)
    if (not declarations or len(declarations) > 256
            or len(declarations) != len(re.findall(rb"<!ENTITY", data))):
        return False
    sizes = {}
    for parameter, name, value in declarations:
        if parameter or value[:1] not in (b'"', b"'") or b"&" in value or b"%" in value:
            return False
        sizes[name] = len(value) - 2
    total = 0
    for name, size in sizes.items():
        total += size * len(re.findall(b"&" + re.escape(name) + b";", data))
    return total <= MAX_ENTITY_EXPANSION


def parse_xml(data: bytes):
    """Parse bytes into an ElementTree root, refusing external references
    and any entity declarations except simple internal ones (see
    _internal_entities_are_safe). Raises SVGError with line/column for
    malformed XML."""
    import xml.etree.ElementTree as std_et
    import defusedxml.ElementTree as safe_et  # a core dependency (pyproject.toml)
    from defusedxml import DefusedXmlException
    try:
        return safe_et.fromstring(data, forbid_dtd=False,
                                  forbid_entities=not _internal_entities_are_safe(data),
                                  forbid_external=True)
    except std_et.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise SVGError(f"malformed XML at line {line}, column {column}: {exc}") from None
    except DefusedXmlException as exc:
        raise SVGError(f"SVG refused: {exc!r} (entity declarations and external "
                       f"references are not allowed)") from None


def split_tag(tag) -> Tuple[Optional[str], str]:
    """(namespace, local name) of an ElementTree tag; ("#", "") for comments."""
    if not isinstance(tag, str):  # comments and processing instructions
        return "#", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag
