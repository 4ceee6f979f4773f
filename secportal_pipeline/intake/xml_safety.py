"""Streaming XML for untrusted scanner files: no entity expansion, no external fetches.

Two walls. First the prolog (everything before the root element) is read and checked:
any <!ENTITY declaration and any external DTD id (SYSTEM/PUBLIC on the DOCTYPE) is
refused before lxml sees a byte. Then lxml runs with entity resolution, DTD loading
and network access off, so a trick that slips past the prolog check still expands
nothing. Genuine Burp exports carry an internal DTD of ELEMENT/ATTLIST declarations
only, which passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from .errors import ImportRefused

PROLOG_LIMIT = 1 << 20  # a genuine Burp DTD is ~3 KB; anything near 1 MiB before the root is hostile
_CHUNK = 1 << 16
_NAME_START = re.compile(r"[A-Za-z_:\u00c0-\uffff]")
_NAME = re.compile(r"[^\s/>]+")
_EXTERNAL_ID = re.compile(r"\b(SYSTEM|PUBLIC)\b")
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(%\s+)?([^\s>]+)([^>]*)")
_XML_DECL_11 = re.compile(rb"^((?:\xef\xbb\xbf)?<\?xml\s+version\s*=\s*[\"'])1\.1(?=[\"'])")


@dataclass(frozen=True, slots=True)
class Prolog:
    """What precedes the root element, and the root's name if one was found."""

    head: bytes  # the bytes read so far (prolog and a little beyond), passed on to the parser
    root: str | None  # None: the content does not start like an XML document
    doctype: str | None


class _NeedMore(Exception):
    pass


def _decode(raw: bytes) -> str:
    # The markup we look for is ASCII; latin-1 keeps a 1:1 char/byte map for line counting.
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw[: len(raw) - len(raw) % 2].decode("utf-16", errors="replace")
    return raw.decode("latin-1")


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _skip_until(text: str, pos: int, end: str) -> int:
    found = text.find(end, pos)
    if found < 0:
        raise _NeedMore
    return found + len(end)


def _scan_doctype(text: str, start: int) -> tuple[int, str, str]:
    """Return (end, declaration outside the internal subset, internal subset)."""
    i, outside_end, subset = start + len("<!DOCTYPE"), None, ""
    while True:
        if i >= len(text):
            raise _NeedMore
        ch = text[i]
        if ch in "\"'":
            i = _skip_until(text, i + 1, ch)
        elif ch == "[" and outside_end is None:
            outside_end, j = i, i + 1
            while True:  # internal subset: quoted strings and comments may hide "]"
                if j >= len(text):
                    raise _NeedMore
                if text[j] in "\"'":
                    j = _skip_until(text, j + 1, text[j])
                elif text.startswith("<!--", j):
                    j = _skip_until(text, j + 4, "-->")
                elif text.startswith("<?", j):
                    j = _skip_until(text, j + 2, "?>")
                elif text[j] == "]":
                    break
                else:
                    j += 1
            subset, i = text[i + 1 : j], j + 1
        elif ch == ">":
            outside = text[start : outside_end if outside_end is not None else i]
            return i + 1, outside, subset
        else:
            i += 1


def _scan(text: str) -> tuple[str | None, str | None, int]:
    """Walk the prolog; return (root name, doctype text, offset of the root start)."""
    # a byte-order mark: UTF-8's three bytes (read as latin-1 here) or UTF-16's decoded one
    i = 3 if text.startswith("\xef\xbb\xbf") else 1 if text.startswith("\ufeff") else 0
    doctype = None
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text):
            raise _NeedMore
        if text.startswith("<?", i):
            i = _skip_until(text, i + 2, "?>")
        elif text.startswith("<!--", i):
            i = _skip_until(text, i + 4, "-->")
        elif text.startswith("<!DOCTYPE", i):
            end, outside, subset = _scan_doctype(text, i)
            doctype = text[i:end]
            _check_doctype(text, i, outside, subset)
            i = end
        elif text.startswith("<", i) and i + 1 < len(text) and _NAME_START.match(text[i + 1]):
            m = _NAME.match(text, i + 1)
            if m is None or m.end() >= len(text):
                raise _NeedMore
            return m.group(0), doctype, i
        elif len(text) - i < 10 and "<!DOCTYPE".startswith(text[i:]):
            raise _NeedMore
        else:
            return None, doctype, i


def _check_doctype(text: str, pos: int, outside: str, subset: str) -> None:
    line = _line_of(text, pos)
    ext = _EXTERNAL_ID.search(outside)
    if ext:
        raise ImportRefused(
            f"external DTD reference refused: the DOCTYPE names an external {ext.group(1)} id "
            f"({outside.strip()[:120]!r}); scanner exports never need one",
            line=line,
        )
    ent = _ENTITY_DECL.search(subset)
    if ent:
        kind = "external entity" if _EXTERNAL_ID.search(ent.group(3)) else "entity declaration"
        subset_at = text.find(subset, pos) if subset else pos
        raise ImportRefused(
            f"{kind} refused: <!ENTITY {ent.group(2)} ...> in the internal DTD "
            "(entity declarations are never expanded; billion-laughs / XXE protection)",
            line=_line_of(text, subset_at + ent.start()),
        )


def read_prolog(fh: BinaryIO) -> Prolog:
    """Read up to the root element start, refusing hostile DOCTYPEs (ImportRefused)."""
    head = b""
    while True:
        chunk = fh.read(_CHUNK)
        head += chunk
        try:
            root, doctype, _ = _scan(_decode(head))
            return Prolog(head=head, root=root, doctype=doctype)
        except _NeedMore:
            if not chunk:  # end of file before any root element
                return Prolog(head=head, root=None, doctype=None)
            if len(head) > PROLOG_LIMIT:
                raise ImportRefused(
                    f"XML prolog larger than {PROLOG_LIMIT} bytes before the root element; refused"
                ) from None


_ILLEGAL_C0 = bytes(b for b in range(32) if b not in (9, 10, 13))


class _Replay:
    """File-like: the already-read head (XML 1.1 declaration rewritten to 1.0), then the rest.

    Raw HTTP in Burp CDATA (and some plugin output) carries NUL and other C0 control bytes that
    XML 1.0 forbids; they are dropped so one binary response cannot refuse a whole file. In
    UTF-8 and single-byte encodings such bytes never belong to a multi-byte character; UTF-16
    input is passed through untouched.
    """

    def __init__(self, head: bytes, fh: BinaryIO, on_read: Callable[[int], None] | None = None) -> None:
        # libxml2 only warns on 1.1 today; rewriting the same number of bytes keeps line/column
        # numbers intact and guards against builds that refuse it.
        self._head = _XML_DECL_11.sub(rb"\g<1>1.0", head, count=1)
        self._fh = fh
        self._scrub = not head.startswith((b"\xff\xfe", b"\xfe\xff"))
        self._on_read = on_read
        self._read = 0

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._fh.read(), b""
            else:
                out, self._head = self._head[:n], self._head[n:]
        else:
            out = self._fh.read(n)
        if self._on_read is not None:
            self._read += len(out)
            self._on_read(self._read)
        return out.translate(None, _ILLEGAL_C0) if self._scrub else out


def all_text(elem: etree._Element) -> str:
    """An element's whole text: a field with child elements inside it (an XInclude, stray
    markup) keeps the text around them instead of stopping at the first child. Nothing a
    child points at is fetched."""
    return "".join(elem.itertext()) if len(elem) else elem.text or ""


def release(elem: etree._Element) -> None:
    """Free a processed element and its already-processed siblings (bounded memory)."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _first_error(exc: etree.XMLSyntaxError) -> tuple[str, int | None, int | None]:
    # lxml's own message can be a generic "no element found"; the error log has the cause.
    for entry in exc.error_log:
        if entry.level >= etree.ErrorLevels.ERROR:
            return entry.message.strip(), entry.line or None, entry.column or None
    line, col = exc.position or (exc.lineno, None)
    msg = re.sub(r", line \d+, column \d+$", "", exc.msg or "syntax error")
    return msg, line or None, col


def _check_parsed_dtd(elem: etree._Element, format_guess: str, source: str) -> None:
    """The second wall: what lxml itself read as the DTD, checked before any element is used.

    The prolog check is a scanner of its own; should a construct it does not know hide a
    declaration from it, the parser's view still refuses the file here.
    """
    docinfo = elem.getroottree().docinfo
    if docinfo.system_url or docinfo.public_id:
        raise ImportRefused("external DTD reference refused: the DOCTYPE names an external id "
                            f"({docinfo.system_url or docinfo.public_id!r}); scanner exports never need one",
                            format_guess=format_guess, source=source)
    dtd = docinfo.internalDTD
    entity = next(dtd.iterentities(), None) if dtd is not None else None
    if entity is not None:
        kind = "external entity" if entity.system_url else "entity declaration"
        raise ImportRefused(f"{kind} refused: <!ENTITY {entity.name} ...> in the internal DTD "
                            "(entity declarations are never expanded; billion-laughs / XXE protection)",
                            format_guess=format_guess, source=source)


def iterparse_safe(
    path: str | Path, format_guess: str = "", on_read: Callable[[int], None] | None = None,
    *, tags: Collection[str] | None = None,
) -> Iterator[tuple[str, etree._Element, list[str]]]:
    """Yield (event, element, path stack) for "start" and "end" events of an untrusted file.

    The caller decides when to release(); syntax errors become ImportRefused with line/column
    and the element path where the parser stopped. ``on_read`` hears the bytes read so far.
    With ``tags``, only elements of those names produce events (lxml filters in C, so the
    many small elements a caller reads through their parent cost no Python step) and the
    path stack holds only them.
    """
    source = str(path)
    stack: list[str] = []
    with open(path, "rb") as fh:
        try:
            prolog = read_prolog(fh)
        except ImportRefused as exc:
            exc.format_guess, exc.source = exc.format_guess or format_guess, source
            raise
        etree.clear_error_log()  # the log is per thread; stale entries would mislead _first_error
        parser = etree.iterparse(
            _Replay(prolog.head, fh, on_read),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            attribute_defaults=False,
            huge_tree=True,  # multi-MB base64 bodies are legitimate; entities are already refused
            remove_comments=True,
            remove_pis=True,
            tag=tags,
        )
        try:
            dtd_checked = False
            for event, elem in parser:
                if not dtd_checked:
                    _check_parsed_dtd(elem, format_guess, source)
                    dtd_checked = True
                if event == "start":
                    stack.append(elem.tag if isinstance(elem.tag, str) else "?")
                    yield event, elem, stack
                else:
                    yield event, elem, stack
                    stack.pop()
        except etree.XMLSyntaxError as exc:
            msg, line, col = _first_error(exc)
            raise ImportRefused(
                f"not well-formed XML: {msg}",
                format_guess=format_guess,
                line=line or None,
                column=col,
                element_path="/".join(stack) or None,
                source=source,
            ) from None
