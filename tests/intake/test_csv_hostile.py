"""Hostile CSV input: odd encodings, truncation, ragged rows. Never a traceback, always a reason."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from secportal_pipeline.intake.errors import ImportRefused
from secportal_pipeline.intake.parsers import open_scan
from secportal_pipeline.intake.service import import_file
from secportal_pipeline.workspace.db import open_workspace
from secportal_pipeline.workspace.schema import findings

HEADER = b"Host,Name,Severity,Port,Description\n"


@pytest.fixture
def engine(tmp_path):
    engine = open_workspace(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    yield engine
    engine.dispose()


def _scan(path):
    meta, records = open_scan(path)
    return meta, list(records)


def _issues(meta):
    return [(i.where, i.column, i.value, i.reason, i.skipped) for i in meta.issues]


def test_byte_undefined_in_cp1252_is_read_as_latin1_with_a_note(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(HEADER + b"10.7.7.4,X,High,443,caf\xe9 bad \x81 byte\n")
    meta, (r,) = _scan(path)
    assert (r.asset_ref, r.title, r.description) == ("10.7.7.4", "X", "caf\u00e9 bad \x81 byte")
    assert _issues(meta) == [("file", "", "", "not valid UTF-8 from byte offset 59 (0xe9) on; bytes that are "
                                             "not UTF-8 read as Windows-1252 (Latin-1 where it has none)", False)]


def test_late_undefined_byte_imports_into_workspace_instead_of_crashing(engine, tmp_path):
    # The bad byte sits after many good rows: the encoding is decided before any row is yielded.
    path = tmp_path / "late.csv"
    rows = b"".join(b"10.7.7.%d,Finding %d,High,443,caf\xe9\n" % (i % 250, i) for i in range(2000))
    path.write_bytes(HEADER + rows + b"10.7.8.1,Last,Low,22,bad \x8d byte\n")
    summary = import_file(engine, path, quarantine_dir=tmp_path / "quarantine")
    assert (summary.outcome, summary.new, summary.rows_skipped) == ("imported", 2001, 0)
    assert [i["reason"] for i in summary.row_issues] == [
        f"not valid UTF-8 from byte offset {len(HEADER) + 31} (0xe9) on; bytes that are not UTF-8 read as "
        "Windows-1252 (Latin-1 where it has none)"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one() == 2001


def test_truncated_inside_quotes_is_refused_with_the_row_line(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(HEADER + b'10.0.0.1,X,High,443,"two\nlines"\n10.0.0.2,Y,High,443,"this quoted description is cut')
    meta, records = open_scan(path)
    with pytest.raises(ImportRefused) as exc:
        list(records)
    assert exc.value.reason == ("truncated file: unterminated quoted field in row 2 (which starts at line 4); "
                                "the file ends inside the quotes")
    assert (exc.value.line, exc.value.format_guess, exc.value.source) == (4, "csv", str(path))


def test_truncated_file_is_quarantined_and_nothing_imported(engine, tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(HEADER + b'10.0.0.1,X,High,443,ok\n10.0.0.2,Y,High,443,"cut')
    summary = import_file(engine, path, quarantine_dir=tmp_path / "quarantine")
    assert summary.outcome == "quarantined"
    assert summary.reason == (f"{path}: line 3: truncated file: unterminated quoted field in row 2 "
                              "(which starts at line 3); the file ends inside the quotes [format: csv]")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one() == 0


def test_truncated_header_is_refused_not_a_traceback(tmp_path):
    path = tmp_path / "head.csv"
    path.write_bytes(b'Host,Name,"Severity')
    with pytest.raises(ImportRefused) as exc:
        _scan(path)
    assert exc.value.reason.startswith("truncated file: unterminated quoted field in the header")
    assert exc.value.line == 1


def test_ragged_rows_are_row_issues(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(HEADER
                     + b"10.0.0.1,Long,High,443,desc,shifted,x\n"   # cells beyond the header: skipped
                     + b"10.0.0.2,Short,High\n"                     # short: kept, missing cells empty
                     + b"10.0.0.3,Trailing,Low,22,ok,,\n"           # extra cells all empty: fine
                     + b"10.0.0.4\n"                                # short and no title: skipped
                     + b"10.0.0.5,Exact,Medium,80,ok\n")
    meta, records = _scan(path)
    assert [(r.record_id, r.title, r.port, r.description) for r in records] == [
        ("2", "Short", None, ""), ("3", "Trailing", 22, "ok"), ("5", "Exact", 80, "ok")]
    assert _issues(meta) == [
        ("row 1 (line 2)", "", "shifted,x", "7 cells, header has 5; not imported", True),
        ("row 2 (line 3)", "", "", "3 cells, header has 5; missing cells read as empty", False),
        ("row 4 (line 5)", "", "", "1 cell, header has 5; missing cells read as empty", False),
        ("row 4 (line 5)", "title", "", "row has no title; not imported", True),
    ]


def test_excel_unicode_text_utf16_tab_delimited_imports(engine, tmp_path):
    path = tmp_path / "excel.txt"
    text = ("Host\tName\tSeverity\tPort\tDescription\r\n"
            "10.0.0.1\tCaf\u00e9 \u2019quoted\u2019\tHigh\t443\tline one\r\n"
            "10.0.0.2\tSecond\tLow\t22\t\"multi\r\nline\"\r\n")
    path.write_bytes(text.encode("utf-16"))  # BOM + native order, as Excel writes it
    meta, records = _scan(path)
    assert [(r.asset_ref, r.title, r.scanner_band, r.port, r.description) for r in records] == [
        ("10.0.0.1", "Caf\u00e9 \u2019quoted\u2019", "high", 443, "line one"),
        ("10.0.0.2", "Second", "low", 22, "multi\nline")]
    assert meta.issues == [] and meta.unmapped_columns == []
    path.write_bytes(text.encode("utf-16-be").join([b"\xfe\xff", b""]))
    summary = import_file(engine, path)
    assert (summary.outcome, summary.new) == ("imported", 2)


def test_broken_utf16_is_refused_with_a_precise_reason(tmp_path):
    path = tmp_path / "broken16.csv"
    path.write_bytes("Host\tName\r\nh\tx\r\n".encode("utf-16-le").join([b"\xff\xfe", b"\x00\xd8"]))  # lone surrogate
    with pytest.raises(ImportRefused) as exc:
        _scan(path)
    assert exc.value.reason == "UTF-16 text with an invalid sequence at byte offset 34: save it as UTF-8 CSV"


def test_a_stray_quote_refuses_the_file_rather_than_guess_where_rows_start(engine, tmp_path):
    # Past the stray quote a reader that starts again on the next line would read the quoted
    # plugin output's lines as rows: here a critical finding on a host nobody scanned.
    path = tmp_path / "quotes.csv"
    path.write_bytes(b'Plugin ID,Risk,Host,Port,Name,Plugin Output\n'
                     b'"1","High","c15.example","80","Title "quoted" by mistake","Output:\n'
                     b'9,Critical,phantom.example,443,PHANTOM ROW,injected\nend"\n'
                     b'"2","Low","c15.example","80","t2","ok"\n')
    with pytest.raises(ImportRefused) as refused:
        _scan(path)
    assert refused.value.reason == ("CSV syntax error in row 1 (which starts at line 2): ',' expected after '\"'; "
                                    "rows after it cannot be trusted")
    assert refused.value.line == 2
    summary = import_file(engine, path, quarantine_dir=tmp_path / "q")
    assert summary.outcome == "quarantined"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one() == 0


def test_a_file_cut_between_cells_of_its_last_row_is_refused(engine, tmp_path, samples):
    # a real export cut mid-row outside any quotes: the last row is short and has no line break
    source = (samples / "csv" / "dd__tenable_many_vuln.csv").read_bytes()
    path = tmp_path / "cut.csv"
    path.write_bytes(source[:29334])
    with pytest.raises(ImportRefused) as refused:
        _scan(path)
    assert refused.value.reason == ("truncated file: the last row (row 8, line 262) has 36 of the header's 65 cells "
                                    "and the file ends in the middle of it, with no line break")
    assert import_file(engine, path, quarantine_dir=tmp_path / "q").outcome == "quarantined"
    # the same short row ended by a line break is a row issue, not a cut file
    ended = tmp_path / "ended.csv"
    ended.write_bytes(HEADER + b"10.0.0.1,A,High\n")
    meta, records = _scan(ended)
    assert [r.title for r in records] == ["A"]
    assert _issues(meta) == [("row 1 (line 2)", "", "", "3 cells, header has 5; missing cells read as empty", False)]


def test_one_stray_byte_in_a_utf8_export_leaves_the_rest_utf8(tmp_path):
    path = tmp_path / "mixed.csv"
    row = "10.0.0.1,Caf\u00e9 cr\u00e8me,High,443,ok\n".encode()
    path.write_bytes(HEADER + row * 3 + b"10.0.0.2,Late,Low,80,one \xe9 byte\n")
    meta, records = _scan(path)
    assert [r.title for r in records] == ["Caf\u00e9 cr\u00e8me"] * 3 + ["Late"]
    assert records[3].description == "one \u00e9 byte"
    assert _issues(meta)[0][3].startswith(
        f"not valid UTF-8 from byte offset {len(HEADER) + 3 * len(row) + len(b'10.0.0.2,Late,Low,80,one ')} (0xe9) on")
