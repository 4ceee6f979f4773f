"""Column types shared by every workspace table, and the closed enumerations of DESIGN §2."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("open", "in_progress", "resolved", "verified", "reopened")
CLOSED_STATUSES = frozenset({"resolved", "verified"})
SOURCE_PIPELINES = (
    "external_scan",
    "authenticated_scan",
    "code_scan",
    "manual_entry",
    "bulk_import",
    "third_party_pentest",
)
ROLES = ("owner", "admin", "member", "viewer", "billing")
VERIFICATION_METHODS = ("dns_txt", "html_meta", "well_known_file")
OVERRIDE_KINDS = ("severity_override", "false_positive", "accepted_risk")
EXCEPTION_DECISIONS = ("pending", "approved", "rejected", "expired", "revoked")
RETEST_RESULTS = ("fixed", "not_fixed", "partially_fixed")
ENGAGEMENT_TYPES = ("external_scan", "web_app_test", "internal_network", "cloud_review", "pipeline_incident")
ENGAGEMENT_STATUSES = ("planned", "active", "completed", "cancelled")
DOMAIN_STATUSES = ("verified", "pending", "revoked")
SCAN_STATUSES = ("running", "completed", "failed")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in Python whatever the backend stores.

    SQLite has no timestamp type, so values are stored as naive UTC text there and
    given their zone back on read; PostgreSQL keeps ``timestamptz``. Naive input is
    refused: a timestamp without a zone is a bug waiting for a DST change.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: workspace timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_check(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    """A CHECK constraint keeping ``column`` inside a closed set."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=f"ck_{column}_enum")
