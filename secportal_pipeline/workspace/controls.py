"""The framework crosswalk: which controls a finding's weakness (CWE) bears on.

A small, deterministic table, applied when a finding is created (and when an import
refreshes its CWE list) through ``map_finding_controls``, which writes the
``finding_controls`` rows and one ``finding.controls_mapped`` activity entry, so the
coverage as of any past instant can be rebuilt from the log.

How it maps: each CWE the demo catalogue and the shared samples carry belongs to one
weakness family; each family names one control per framework. Frameworks and control
ids: ISO/IEC 27001:2022 Annex A, SOC 2 (2017 TSC), PCI DSS v4.0, NIST CSF 2.0. It is a
crosswalk for triage and reporting, not an audit opinion; a CWE outside the table
maps to nothing and the finding counts as unmapped in the coverage report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from .activity import insert_rows, record_event, record_events
from .schema import finding_controls

CROSSWALK_VERSION = "2026.1"
FRAMEWORKS = ("ISO27001", "SOC2", "PCI-DSS", "NIST-CSF")

# family -> {framework: (control_id, control name)}
FAMILY_CONTROLS: dict[str, dict[str, tuple[str, str]]] = {
    "injection": {
        "ISO27001": ("A.8.28", "Secure coding"),
        "SOC2": ("CC8.1", "Change management: authorised, tested changes"),
        "PCI-DSS": ("6.2.4", "Software engineering techniques prevent common attacks"),
        "NIST-CSF": ("PR.PS-06", "Secure software development practices"),
    },
    "cryptography": {
        "ISO27001": ("A.8.24", "Use of cryptography"),
        "SOC2": ("CC6.7", "Protection of data in transmission"),
        "PCI-DSS": ("4.2.1", "Strong cryptography for data in transit"),
        "NIST-CSF": ("PR.DS-02", "Confidentiality of data in transit"),
    },
    "authentication": {
        "ISO27001": ("A.8.5", "Secure authentication"),
        "SOC2": ("CC6.1", "Logical access security"),
        "PCI-DSS": ("8.3.1", "Strong authentication for users"),
        "NIST-CSF": ("PR.AA-03", "Users and services are authenticated"),
    },
    "exposure": {
        "ISO27001": ("A.8.12", "Data leakage prevention"),
        "SOC2": ("C1.1", "Confidential information is protected"),
        "PCI-DSS": ("6.4.1", "Public-facing web applications are protected"),
        "NIST-CSF": ("PR.DS-01", "Confidentiality of data at rest"),
    },
    "configuration": {
        "ISO27001": ("A.8.9", "Configuration management"),
        "SOC2": ("CC7.1", "Detection of configuration changes and vulnerabilities"),
        "PCI-DSS": ("2.2.1", "Configuration standards"),
        "NIST-CSF": ("PR.PS-01", "Configuration management practices"),
    },
    "patching": {
        "ISO27001": ("A.8.8", "Management of technical vulnerabilities"),
        "SOC2": ("CC7.1", "Detection of configuration changes and vulnerabilities"),
        "PCI-DSS": ("6.3.3", "Security patches installed"),
        "NIST-CSF": ("ID.RA-01", "Vulnerabilities are identified"),
    },
}

CWE_FAMILY: dict[int, str] = {
    # input handed to an interpreter (SQL, HTML, formulas, templates, deserialisers)
    20: "injection", 74: "injection", 79: "injection", 80: "injection", 89: "injection", 94: "injection",
    116: "injection", 159: "injection", 502: "injection", 917: "injection", 1236: "injection",
    # transport and certificate weaknesses
    295: "cryptography", 311: "cryptography", 319: "cryptography", 326: "cryptography", 327: "cryptography",
    523: "cryptography", 614: "cryptography",
    # credentials and sessions
    287: "authentication", 352: "authentication", 384: "authentication", 522: "authentication",
    1004: "authentication",
    # information disclosure
    200: "exposure", 524: "exposure", 525: "exposure",
    # hardening and protection mechanisms
    16: "configuration", 400: "configuration", 693: "configuration", 1021: "configuration",
    # vulnerable software that needs a vendor patch
    362: "patching", 364: "patching",
}


def controls_for(cwes: Iterable[int | str]) -> list[tuple[str, str]]:
    """The (framework, control_id) pairs the CWEs map to, sorted, without duplicates."""
    pairs = set()
    for cwe in cwes:
        family = CWE_FAMILY.get(int(str(cwe).upper().removeprefix("CWE-")))
        if family is not None:
            pairs.update((framework, control_id) for framework, (control_id, _) in FAMILY_CONTROLS[family].items())
    return sorted(pairs)


def control_catalogue() -> list[tuple[str, str, str]]:
    """Every (framework, control_id, control name) the crosswalk can assign, sorted."""
    return sorted({(framework, control_id, name)
                   for controls in FAMILY_CONTROLS.values() for framework, (control_id, name) in controls.items()})


def map_finding_controls(conn: sa.Connection, finding_id: int, cwes: Iterable[int | str], *, actor_id: int,
                         at: datetime) -> list[tuple[str, str]]:
    """Add the finding's missing control rows and log them; returns the pairs added.

    Additive only: a control once mapped stays (the finding did bear on it), and nothing
    new means no event.
    """
    existing = set(conn.execute(
        sa.select(finding_controls.c.framework, finding_controls.c.control_id)
        .where(finding_controls.c.finding_id == finding_id)
    ).tuples())
    added = [pair for pair in controls_for(cwes) if pair not in existing]
    if not added:
        return []
    conn.execute(finding_controls.insert(),
                 [{"finding_id": finding_id, "framework": f, "control_id": c} for f, c in added])
    record_event(
        conn, actor_id=actor_id, entity_type="finding", entity_id=finding_id, action="finding.controls_mapped",
        occurred_at=at, metadata={"controls": [list(pair) for pair in added], "crosswalk": CROSSWALK_VERSION},
    )
    return added


def map_new_findings_controls(conn: sa.Connection, rows: Iterable[tuple[int, Iterable[int | str], datetime]], *,
                              actor_id: int) -> int:
    """``map_finding_controls`` for many just-created findings: two multi-row statements
    (``insert_rows`` and ``record_events``: native executemany on SQLite, Core elsewhere).

    ``rows`` are ``(finding_id, cwes, at)``; new findings have no controls yet, so nothing
    is read first. Returns the number of control rows written.
    """
    mapped = [(finding_id, controls_for(cwes), at) for finding_id, cwes, at in rows]
    mapped = [(finding_id, pairs, at) for finding_id, pairs, at in mapped if pairs]
    if not mapped:
        return 0
    insert_rows(conn, finding_controls, [{"finding_id": finding_id, "framework": f, "control_id": c}
                                         for finding_id, pairs, _ in mapped for f, c in pairs])
    record_events(conn, [
        {"occurred_at": at, "actor_id": actor_id, "entity_type": "finding", "entity_id": finding_id,
         "action": "finding.controls_mapped",
         "metadata": {"controls": [list(pair) for pair in pairs], "crosswalk": CROSSWALK_VERSION}}
        for finding_id, pairs, at in mapped
    ])
    return sum(len(pairs) for _, pairs, _ in mapped)
