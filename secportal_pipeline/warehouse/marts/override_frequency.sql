-- grain: one row per (week the override occurred in, override kind, severity before the override)
-- inputs: marts.finding_changes, marts.severity_levels
-- definitions:
--   Overrides are finding.overridden events on the activity facts; week is the Monday (UTC) of
--   the event. severity_before: the finding's severity just before the override (its latest
--   severity value earlier in seq order). severity_after: the override's new severity for a
--   severity_override, else unchanged.
--   overrides: how many. raised / lowered: overrides that moved severity up / down the scale
--   info < low < medium < high < critical (recalibration drift); net_drift = raised - lowered.
WITH severities AS (
    SELECT finding_id, seq, to_value AS severity FROM marts.finding_changes WHERE field = 'severity'
),
overrides AS (
    SELECT finding_id, seq, occurred_at, to_value AS kind FROM marts.finding_changes WHERE field = 'override'
),
own_change AS (
    SELECT finding_id, seq, to_value AS severity_after
    FROM marts.finding_changes WHERE field = 'severity' AND NOT is_creation AND action = 'finding.overridden'
),
placed AS (
    SELECT o.finding_id, o.seq, o.kind, CAST(date_trunc('week', o.occurred_at AT TIME ZONE 'UTC') AS DATE) AS week,
           b.severity AS severity_before
    FROM overrides o
    ASOF LEFT JOIN severities b ON o.finding_id = b.finding_id AND o.seq > b.seq
),
moved AS (
    SELECT p.week, p.kind, p.severity_before, coalesce(c.severity_after, p.severity_before) AS severity_after
    FROM placed p
    LEFT JOIN own_change c ON c.finding_id = p.finding_id AND c.seq = p.seq
)
SELECT m.week, m.kind, m.severity_before,
       count(*) AS overrides,
       count(*) FILTER (WHERE a.severity_rank > b.severity_rank) AS raised,
       count(*) FILTER (WHERE a.severity_rank < b.severity_rank) AS lowered,
       count(*) FILTER (WHERE a.severity_rank > b.severity_rank)
         - count(*) FILTER (WHERE a.severity_rank < b.severity_rank) AS net_drift
FROM moved m
LEFT JOIN marts.severity_levels b ON b.severity = m.severity_before
LEFT JOIN marts.severity_levels a ON a.severity = m.severity_after
GROUP BY m.week, m.kind, m.severity_before
ORDER BY m.week, m.kind, any_value(b.severity_rank) DESC
