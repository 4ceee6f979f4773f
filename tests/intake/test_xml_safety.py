"""Hostile XML is refused before anything expands; genuine exports pass."""

from pathlib import Path

import pytest

from secportal_pipeline.intake.errors import ImportRefused
from secportal_pipeline.intake.xml_safety import iterparse_safe

BURP_DTD = """<?xml version="{version}"?>
<!DOCTYPE issues [
<!ELEMENT issues (issue*)>
<!ATTLIST issues burpVersion CDATA "">
<!ATTLIST issues exportTime CDATA "">
<!ELEMENT issue (serialNumber, type, name)>
<!ELEMENT serialNumber (#PCDATA)>
<!ATTLIST request base64 (true|false) "false">
]>
<issues burpVersion="2021.4.2" exportTime="Fri Apr 30 11:45:49 IST 2021">
  <issue><serialNumber>1</serialNumber><type>1049088</type><name>SQL injection</name></issue>
</issues>
"""


def _write(tmp_path: Path, text: str, name: str = "in.xml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _consume(path: Path) -> list[tuple[str, str]]:
    return [(elem.tag, (elem.text or "").strip()) for ev, elem, _ in iterparse_safe(path) if ev == "end"]


def test_billion_laughs_refused_with_line(tmp_path):
    lol = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">\n' for i in range(1, 10))
    path = _write(tmp_path, f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol0 "lol">\n{lol}]>\n<lolz>&lol9;</lolz>')
    with pytest.raises(ImportRefused) as exc:
        _consume(path)
    assert "entity declaration refused" in exc.value.reason
    assert "lol0" in exc.value.reason
    assert exc.value.line == 3


def test_external_entity_refused_and_file_content_never_appears(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY-4711")
    path = _write(
        tmp_path,
        f'<?xml version="1.0"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "{secret.as_uri()}"> ]>\n<foo>&xxe;</foo>',
    )
    with pytest.raises(ImportRefused) as exc:
        _consume(path)
    assert exc.value.reason.startswith("external entity refused")
    assert "TOP-SECRET-CANARY-4711" not in str(exc.value)
    assert "TOP-SECRET-CANARY-4711" not in repr(exc.value.args)


def test_parameter_entity_refused(tmp_path):
    path = _write(tmp_path, '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> %p;]>\n<a/>')
    with pytest.raises(ImportRefused, match="external entity refused"):
        _consume(path)


@pytest.mark.parametrize("ext_id", ['SYSTEM "http://example.invalid/x.dtd"', 'PUBLIC "-//X//EN" "http://example.invalid/x.dtd"'])
def test_external_dtd_refused(tmp_path, ext_id):
    path = _write(tmp_path, f'<?xml version="1.0"?>\n<!DOCTYPE issues {ext_id}>\n<issues/>')
    with pytest.raises(ImportRefused) as exc:
        _consume(path)
    assert exc.value.reason.startswith("external DTD reference refused")
    assert exc.value.line == 2


def test_genuine_burp_internal_dtd_accepted(tmp_path):
    path = _write(tmp_path, BURP_DTD.format(version="1.0"))
    assert ("name", "SQL injection") in _consume(path)


def test_xml_1_1_declaration_accepted(tmp_path):
    path = _write(tmp_path, BURP_DTD.format(version="1.1"))
    assert ("serialNumber", "1") in _consume(path)


def test_nul_and_control_bytes_in_cdata_are_dropped(tmp_path):
    path = tmp_path / "nul.xml"
    path.write_bytes(b'<?xml version="1.0"?><issues><r><![CDATA[HTTP/1.1 200\x00\x01 OK]]></r></issues>')
    assert ("r", "HTTP/1.1 200 OK") in _consume(path)


def test_syntax_error_carries_line_column_and_path(tmp_path):
    path = _write(tmp_path, '<?xml version="1.0"?>\n<a>\n  <b>x</b>\n  <c>&undefined;</c>\n</a>')
    with pytest.raises(ImportRefused) as exc:
        _consume(path)
    assert exc.value.line == 4
    assert exc.value.column is not None
    assert exc.value.element_path == "a/c"
    assert "undefined" in exc.value.reason
    assert str(path) in str(exc.value)


def test_truncated_file_refused(tmp_path):
    path = _write(tmp_path, '<?xml version="1.0"?>\n<a>\n<b>x</b>\n')
    with pytest.raises(ImportRefused, match="not well-formed XML") as exc:
        _consume(path)
    assert exc.value.line is not None


def test_processing_instruction_in_the_dtd_cannot_hide_a_declaration(tmp_path):
    # A "]>" inside a PI used to end the prolog check's view of the internal subset early,
    # so the declarations after it reached the parser unseen.
    path = _write(tmp_path, '<?xml version="1.0"?>\n<!DOCTYPE issues [ <?x ]><issues ?>\n'
                  '<!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n<issues><issue><name>a &xxe; b</name></issue></issues>')
    with pytest.raises(ImportRefused) as exc:
        _consume(path)
    assert exc.value.reason.startswith("external entity refused: <!ENTITY xxe ...>")
    assert exc.value.line == 3


@pytest.mark.parametrize(("doctype", "reason"), [
    ('<!DOCTYPE a [ <!ENTITY e "x"> ]>', "entity declaration refused: <!ENTITY e ...>"),
    ('<!DOCTYPE a [ <!ENTITY % p SYSTEM "http://127.0.0.1:9/x"> ]>', "external entity refused: <!ENTITY p ...>"),
    ('<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd">', "external DTD reference refused"),
])
def test_parser_side_wall_refuses_what_a_prolog_check_misses(tmp_path, monkeypatch, doctype, reason):
    # Should the prolog scanner ever miss a construct, what lxml read as the DTD still refuses it.
    from secportal_pipeline.intake import xml_safety

    monkeypatch.setattr(xml_safety, "_check_doctype", lambda *args: None)
    path = _write(tmp_path, f'<?xml version="1.0"?>\n{doctype}\n<a><b>text</b></a>')
    with pytest.raises(ImportRefused) as exc:
        _consume(path)
    assert exc.value.reason.startswith(reason)


def test_markup_inside_a_text_field_keeps_the_text_and_fetches_nothing(tmp_path):
    from secportal_pipeline.intake.xml_safety import all_text

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY-4711")
    path = _write(tmp_path, '<?xml version="1.0"?>\n<a><name>before <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                  f'href="{secret.as_uri()}" parse="text"/>after</name></a>')
    texts = [all_text(elem) for ev, elem, _ in iterparse_safe(path) if ev == "end" and elem.tag == "name"]
    assert texts == ["before after"]
