"""Parse a large scanner file in a child process while this one writes: one file, two cores.

An import is a parse (lxml plus per-record Python) followed by the workspace writes, and
both are CPU-bound: in one process they add up. ``open_scan_in_child`` runs the parser
in a forked child that sends the records in batches of the loader's ``BATCH_SIZE``, so
each batch is written against the same scan metadata an in-process parse would have
shown it, while the caller writes the previous batch. The pipe holds about one batch, so
memory stays bounded whatever the file size.

The child's view of the scan (``ScanMeta``: name, targets, window, row issues, bytes read)
travels with each batch and is applied to the caller's ``meta`` before that batch's records
are handed out. A refusal in the child (hostile XML, a syntax error, an unsupported
format) arrives as the same ``ImportRefused``, after the records before it, exactly where
the in-process parser would have raised it; any other failure, or a child that dies
(killed, out of memory), raises ``ParserProcessFailed``: the caller's transaction rolls
back and the file is not quarantined, since nothing says the file is at fault.
"""

from __future__ import annotations

import errno
import gc
import multiprocessing
import os
import pickle
import sys
import traceback
from collections.abc import Iterator
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from . import loader
from .errors import ImportRefused
from .parsers import open_scan
from .records import ScanMeta, ScanRecord
from .sniff import sniff

MB = 1_000_000
# Smaller files parse in-process: a fork costs little, but a small file gains nothing.
CHILD_PARSE_MIN_BYTES = 8 * MB

_RECORD_FIELDS = tuple(f.name for f in fields(ScanRecord))
_as_tuple = attrgetter(*_RECORD_FIELDS)  # a tuple pickles ~3x faster than the frozen dataclass
_META_SCALARS = ("source_tool", "variant", "name", "started_at", "completed_at", "blank_rows",
                 "unmapped_columns", "duplicates_merged", "bytes_read")
_META_LISTS = ("targets", "issues")  # only ever appended to while parsing: sent as what is new


class ParserProcessFailed(RuntimeError):
    """The parsing child failed for a reason that is not the file's (a bug, a kill, memory)."""


def _context() -> multiprocessing.context.BaseContext:
    # fork: the child starts in milliseconds with every module already imported. It only
    # parses and writes to its pipe (no database, no logging), so the parent's threads and
    # open connections are never touched. Elsewhere (macOS, Windows) spawn is the safe default.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _meta_delta(meta: ScanMeta, sent: dict[str, int]) -> dict[str, Any]:
    delta = {name: getattr(meta, name) for name in _META_SCALARS}
    for name in _META_LISTS:
        items = getattr(meta, name)
        delta[name] = items[sent[name]:]
        sent[name] = len(items)
    return delta


def _apply_delta(meta: ScanMeta, delta: dict[str, Any]) -> None:
    for name in _META_SCALARS:
        setattr(meta, name, delta[name])
    for name in _META_LISTS:
        getattr(meta, name).extend(delta[name])


def _child(path: str, writer, reader=None) -> None:
    """Parse ``path`` and send ``("batch", tuples, meta delta)`` messages, then ``("done", delta)``,
    ``("refused", exception)`` or ``("failed", traceback text)``.

    ``reader`` is the parent's end of the pipe, inherited by the fork: closed first, so that
    once the parent is gone (killed) nobody reads the pipe and the next send fails (EPIPE)
    and ends this process instead of leaving it blocked forever.
    """
    if reader is not None:
        reader.close()
    sent, size = dict.fromkeys(_META_LISTS, 0), loader.BATCH_SIZE
    batch: list[tuple] = []
    meta = None

    def send_batch() -> None:
        writer.send_bytes(pickle.dumps(("batch", batch, _meta_delta(meta, sent)), pickle.HIGHEST_PROTOCOL))

    try:
        meta, records = open_scan(path)
        for record in records:
            batch.append(_as_tuple(record))
            if len(batch) == size:
                send_batch()
                batch = []
        send_batch()
        writer.send_bytes(pickle.dumps(("done",)))
    except ImportRefused as refused:
        if meta is not None:
            send_batch()  # the records before the refusal, as an in-process parse yields them
        writer.send_bytes(pickle.dumps(("refused", refused)))
    except OSError as error:
        if error.errno != errno.EPIPE:
            _send_failure(writer)
        # EPIPE: the parent is gone (killed, or it stopped reading); nobody to tell
    except BaseException:  # noqa: BLE001 - everything else is reported, never lost
        _send_failure(writer)
    finally:
        writer.close()


def _send_failure(writer) -> None:
    try:
        writer.send_bytes(pickle.dumps(("failed", traceback.format_exc())))
    except OSError:
        pass  # the parent is gone


def open_scan_in_child(path: str | Path) -> tuple[ScanMeta, Iterator[ScanRecord]]:
    """``open_scan`` with the parsing done in a child process; same (meta, records) contract.

    The format is sniffed here first, so an unsupported file is refused without a child.
    """
    path = Path(path)
    meta = ScanMeta(source_tool=sniff(path))
    return meta, _records_from_child(path, meta)


def _records_from_child(path: Path, meta: ScanMeta) -> Iterator[ScanRecord]:
    context = _context()
    reader, writer = context.Pipe(duplex=False)
    inherited = reader if context.get_start_method() == "fork" else None
    child = context.Process(target=_child, args=(str(path), writer, inherited), name=f"parse {path.name}", daemon=True)
    # Freeze what exists now: the forked child's collector then never visits, so never
    # finalises, anything it inherited (the parent's database connections stay the parent's).
    gc.freeze()
    try:
        child.start()
    finally:
        gc.unfreeze()
    writer.close()  # the child holds the only write end: its exit ends the stream
    make = ScanRecord
    try:
        while True:
            try:
                message = pickle.loads(reader.recv_bytes())
            except (EOFError, OSError):  # OSError: the child died in the middle of a message
                child.join(5)
                raise ParserProcessFailed(
                    f"the parser process for {path.name} ended without finishing (exit code {child.exitcode})"
                ) from None
            kind = message[0]
            if kind == "batch":
                _apply_delta(meta, message[2])
                for values in message[1]:
                    yield make(*values)
            elif kind == "done":
                return
            elif kind == "refused":
                raise message[1]
            else:
                raise ParserProcessFailed(f"the parser process for {path.name} failed:\n{message[1]}")
    finally:
        reader.close()
        if child.is_alive():  # the caller stopped early (an error while writing): stop parsing
            child.terminate()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        child.close()


def open_scan_for_import(path: str | Path) -> tuple[ScanMeta, Iterator[ScanRecord]]:
    """The import's way in: a child process for a large file, in-process for a small one."""
    size = os.stat(path).st_size
    if size >= CHILD_PARSE_MIN_BYTES:
        return open_scan_in_child(path)
    return open_scan(path)
