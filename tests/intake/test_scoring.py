"""CVSS normalisation, scoring against the upstream vector table, and severity bands."""

from decimal import Decimal
from pathlib import Path

import pytest

from secportal_pipeline.intake.scoring import (
    band_from_scanner,
    effective_severity,
    normalise_cvss2,
    normalise_cvss3,
    score_cvss3,
)

VECTORS = Path(__file__).parents[2].parent / "shared" / "testdata" / "cvss" / "vectors_simple3"


def _band(score: Decimal) -> str:
    # FIRST CVSS 3.1 qualitative scale, written out independently of the module.
    if score == 0:
        return "info"
    if score <= Decimal("3.9"):
        return "low"
    if score <= Decimal("6.9"):
        return "medium"
    if score <= Decimal("8.9"):
        return "high"
    return "critical"


def _table() -> list[tuple[str, Decimal]]:
    rows = []
    for line in VECTORS.read_text().splitlines():
        vector, scores = line.split(" - ")
        rows.append((vector, Decimal(scores.strip("()").split(", ")[0])))
    return rows


def test_every_upstream_vector_scores_its_listed_base_score_and_band():
    table = _table()
    assert len(table) == 2592
    wrong = []
    for vector, base in table:
        normalised = normalise_cvss3(vector)
        score, band = score_cvss3(normalised)
        if Decimal(str(score)) != base or band != _band(base):
            wrong.append((vector, base, score, band))
    assert wrong == []


def test_prefix_variants_give_the_same_score():
    wrong = []
    for vector, base in _table():
        bare = vector.removeprefix("CVSS:3.0/")
        forms = (vector, "CVSS:3.1/" + bare, bare)
        scores = {score_cvss3(normalise_cvss3(f))[0] for f in forms}
        if scores != {float(base)}:
            wrong.append((vector, scores))
    assert wrong == []


def test_prefix_rules():
    bare = "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert normalise_cvss3("CVSS:3.0/" + bare) == "CVSS:3.0/" + bare
    assert normalise_cvss3("CVSS:3.1/" + bare) == "CVSS:3.1/" + bare
    assert normalise_cvss3(bare) == "CVSS:3.1/" + bare
    assert normalise_cvss3("  " + bare + "\n") == "CVSS:3.1/" + bare


@pytest.mark.parametrize(
    "garbage",
    [None, "", "   ", "garbage", "7.1", "AV:N/AC:L", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
     "CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N"],
)
def test_garbage_is_none(garbage):
    assert normalise_cvss3(garbage) is None


def test_zero_impact_is_info_and_ten_is_critical():
    assert score_cvss3(normalise_cvss3("AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N")) == (0.0, "info")
    assert score_cvss3(normalise_cvss3("AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")) == (10.0, "critical")


def test_cvss2_prefix_stripped_and_garbage_none():
    assert normalise_cvss2("CVSS2#AV:N/AC:L/Au:N/C:P/I:N/A:N") == "AV:N/AC:L/Au:N/C:P/I:N/A:N"
    assert normalise_cvss2("AV:N/AC:L/Au:N/C:P/I:N/A:N") == "AV:N/AC:L/Au:N/C:P/I:N/A:N"
    assert normalise_cvss2("CVSS2#junk") is None
    assert normalise_cvss2("") is None


@pytest.mark.parametrize(
    "tool, raw, band",
    [
        ("nessus", "0", "info"), ("nessus", "1", "low"), ("nessus", "2", "medium"),
        ("nessus", "3", "high"), ("nessus", "4", "critical"),
        ("burp", "High", "high"), ("burp", "Medium", "medium"), ("burp", "Low", "low"),
        ("burp", "Information", "info"),
        ("csv", "CRITICAL", "critical"), ("csv", "high", "high"), ("csv", "Info", "info"),
        ("csv", "Informational", "info"), ("csv", "None", "info"), ("csv", " medium ", "medium"),
        ("csv", "3", "high"), ("csv", "0", "info"),
    ],
)
def test_scanner_bands(tool, raw, band):
    assert band_from_scanner(tool, raw) == band


def test_unknown_scanner_rating_is_none():
    assert band_from_scanner("burp", "Critical") is None  # Burp has no Critical
    assert band_from_scanner("csv", "") is None
    assert band_from_scanner("csv", "severe-ish") is None


def test_effective_severity_rule():
    assert effective_severity("critical", "low") == "critical"  # valid v3 drives
    assert effective_severity("info", "high") == "info"  # a 0.0 v3 score still drives
    assert effective_severity(None, "high") == "high"  # no v3: scanner rating
    assert effective_severity(None, None) == "info"
