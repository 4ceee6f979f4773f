"""The operational workspace tables (DESIGN §2), as SQLAlchemy Core metadata."""

from __future__ import annotations

import sqlalchemy as sa

from .types import (
    DOMAIN_STATUSES,
    ENGAGEMENT_STATUSES,
    ENGAGEMENT_TYPES,
    EXCEPTION_DECISIONS,
    OVERRIDE_KINDS,
    RETEST_RESULTS,
    ROLES,
    SCAN_STATUSES,
    SEVERITIES,
    SOURCE_PIPELINES,
    STATUSES,
    VERIFICATION_METHODS,
    UTCDateTime,
    enum_check,
)

metadata = sa.MetaData()


def _pk(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target), nullable=nullable)


workspace_settings = sa.Table(
    "workspace_settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

clients = sa.Table(
    "clients",
    metadata,
    _pk("client_id"),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    _pk("user_id"),
    sa.Column("handle", sa.String(100), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("is_service_account", sa.Boolean, nullable=False, default=False),
    sa.Column("mfa_enrolled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime),
    enum_check("role", ROLES),
)

engagements = sa.Table(
    "engagements",
    metadata,
    _pk("engagement_id"),
    _fk("client_id", "clients.client_id", nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("engagement_type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    _fk("owner_id", "users.user_id"),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    enum_check("engagement_type", ENGAGEMENT_TYPES),
    enum_check("status", ENGAGEMENT_STATUSES),
)

verified_domains = sa.Table(
    "verified_domains",
    metadata,
    sa.Column("asset_ref", sa.String(253), primary_key=True),
    _fk("client_id", "clients.client_id", nullable=False),
    sa.Column("verification_method", sa.String(20), nullable=False),
    sa.Column("verified_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    enum_check("verification_method", VERIFICATION_METHODS),
    enum_check("status", DOMAIN_STATUSES),
)

findings = sa.Table(
    "findings",
    metadata,
    _pk("finding_id"),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("solution", sa.Text, nullable=False, default=""),
    sa.Column("cvss_vector", sa.String(200)),
    sa.Column("cvss_base_score", sa.Float),
    sa.Column("cvss2_vector", sa.String(120)),
    sa.Column("scanner_severity", sa.String(32)),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    _fk("owner_id", "users.user_id"),
    _fk("engagement_id", "engagements.engagement_id", nullable=False),
    sa.Column("source_pipeline", sa.String(32), nullable=False),
    sa.Column("source_tool", sa.String(32), nullable=False),
    sa.Column("source_file", sa.String(500)),
    sa.Column("source_file_sha256", sa.String(64)),
    sa.Column("source_record_id", sa.String(500)),
    sa.Column("plugin_id", sa.Text),  # a generic CSV without a rule id keys on the title
    sa.Column("asset_ref", sa.String(253), nullable=False),
    sa.Column("port", sa.Integer),
    sa.Column("protocol", sa.String(8)),
    sa.Column("location", sa.Text, nullable=False, default=""),
    sa.Column("cve", sa.JSON, nullable=False, default=list),
    sa.Column("cwe", sa.JSON, nullable=False, default=list),
    sa.Column("framework_refs", sa.JSON, nullable=False, default=list),
    sa.Column("override_id", sa.Integer),  # no FK: overrides point back at findings
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime),
    enum_check("severity", SEVERITIES),
    enum_check("status", STATUSES),
    enum_check("source_pipeline", SOURCE_PIPELINES),
    sa.Index("ix_findings_asset", "asset_ref"),
    sa.Index("ix_findings_engagement", "engagement_id"),
)

overrides = sa.Table(
    "overrides",
    metadata,
    _pk("override_id"),
    _fk("finding_id", "findings.finding_id", nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("from_severity", sa.String(16)),
    sa.Column("to_severity", sa.String(16)),
    sa.Column("reason", sa.Text, nullable=False),
    _fk("actor_id", "users.user_id", nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    enum_check("kind", OVERRIDE_KINDS),
)

exceptions = sa.Table(
    "exceptions",
    metadata,
    _pk("exception_id"),
    _fk("finding_id", "findings.finding_id", nullable=False),
    _fk("engagement_id", "engagements.engagement_id", nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("compensating_controls", sa.Text, nullable=False),
    sa.Column("residual_likelihood", sa.String(16), nullable=False),
    sa.Column("residual_impact", sa.String(16), nullable=False),
    sa.Column("business_rationale", sa.Text, nullable=False),
    _fk("approver_id", "users.user_id"),
    sa.Column("expires_on", sa.Date, nullable=False),
    sa.Column("review_cadence_days", sa.Integer, nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    enum_check("decision", EXCEPTION_DECISIONS),
    enum_check("severity", SEVERITIES),
)

retests = sa.Table(
    "retests",
    metadata,
    _pk("retest_id"),
    _fk("finding_id", "findings.finding_id", nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("performed_at", UTCDateTime),
    sa.Column("result", sa.String(16)),
    _fk("tester_id", "users.user_id"),
    enum_check("result", RETEST_RESULTS),
)

scan_executions = sa.Table(
    "scan_executions",
    metadata,
    _pk("scan_id"),
    sa.Column("asset_ref", sa.String(253), nullable=False),
    sa.Column("source_tool", sa.String(32), nullable=False),
    sa.Column("modules", sa.JSON, nullable=False, default=list),
    sa.Column("started_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source_file", sa.String(500), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("imported_at", UTCDateTime, nullable=False),
    _fk("actor_id", "users.user_id", nullable=False),
    enum_check("status", SCAN_STATUSES),
    # one file yields one execution per target, so the file hash alone is not unique
    sa.UniqueConstraint("file_sha256", "asset_ref", name="uq_scan_file_target"),
)

scan_results = sa.Table(
    "scan_results",
    metadata,
    _fk("scan_id", "scan_executions.scan_id", nullable=False),
    sa.Column("module", sa.String(128), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    _fk("finding_id", "findings.finding_id", nullable=False),
    sa.Column("record_id", sa.String(500), nullable=False),
    # what the scanner showed for the finding in this scan (Nessus plugin output, Burp
    # request/response): an observation, kept once here rather than on the finding and
    # again in its creation event; a rescan's new output is its own row, not a change
    sa.Column("evidence", sa.Text, nullable=False, default="", server_default=""),
    sa.PrimaryKeyConstraint("scan_id", "fingerprint", name="pk_scan_results"),
)

finding_controls = sa.Table(
    "finding_controls",
    metadata,
    _fk("finding_id", "findings.finding_id", nullable=False),
    sa.Column("framework", sa.String(32), nullable=False),
    sa.Column("control_id", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("finding_id", "framework", "control_id", name="pk_finding_controls"),
)

activity_log = sa.Table(
    "activity_log",
    metadata,
    _pk("event_id"),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    # when the row was written: an import today of last month's scan is late data
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    _fk("actor_id", "users.user_id", nullable=False),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False, default=dict),
    sa.Index("ix_activity_occurred", "occurred_at"),
    sa.Index("ix_activity_entity", "entity_type", "entity_id"),
)

# A purge of expired activity (the one DELETE the log allows) runs only while a row
# here names its cutoff; the triggers check it. See workspace/activity.py.
retention_purges = sa.Table(
    "retention_purges",
    metadata,
    _pk("purge_id"),
    sa.Column("cutoff", UTCDateTime, nullable=False),
)

# A service account's credentials: only a salted hash of each secret is kept (see
# workspace/credentials.py). Export database roles get nothing on this table; the
# preflight reads the hash-free view service_credential_status instead (db.py).
service_credentials = sa.Table(
    "service_credentials",
    metadata,
    sa.Column("credential_id", sa.String(120), primary_key=True),
    _fk("user_id", "users.user_id", nullable=False),
    sa.Column("secret_hash", sa.String(255), nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index("ix_service_credentials_user", "user_id"),
)

INCIDENT_CATEGORIES = ("contract_violation", "dimension_key_gap", "service_account_failure",
                       "redaction_rule_miss", "other")
INCIDENT_STATUSES = ("open", "recovered")

# One failed export run, recorded by the run-failure sensor (orchestration/incident_sensors.py).
pipeline_incidents = sa.Table(
    "pipeline_incidents",
    metadata,
    _pk("incident_id"),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("export_class", sa.String(64), nullable=False),
    sa.Column("partition", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("diagnosis", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    _fk("engagement_id", "engagements.engagement_id", nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("recovered_at", UTCDateTime),
    sa.Column("recovered_by_run_id", sa.String(64)),
    enum_check("category", INCIDENT_CATEGORIES),
    enum_check("status", INCIDENT_STATUSES),
    sa.Index("ix_pipeline_incidents_partition", "export_class", "partition"),
    # a sensor may see the same failed run twice: one incident per run and export class
    sa.UniqueConstraint("run_id", "export_class", name="uq_pipeline_incident_run_class"),
)
