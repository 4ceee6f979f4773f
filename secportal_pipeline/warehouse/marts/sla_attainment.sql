-- grain: one row per (snapshot week, severity with an SLA in the policy)
-- inputs: published.fact_finding_snapshot, marts.false_positive_weeks, marts.sla_policy, marts.snapshot_weeks
-- definitions:
--   From each weekly snapshot (findings as they stood at the week's end, Monday 00:00 UTC to the
--   next Monday), false positives left out; severity is the finding's severity at the week's end.
--   sla_days: the policy's days for the severity (config/sla_policy.yaml or SECPORTAL_SLA_DAYS).
--   resolved_within_sla: closed (resolved or verified) during the week with closed_at - opened_at
--   <= sla_days (time spent reopened counts). resolved_late: closed during the week, over the SLA.
--   open_breaching: not closed at the week's end and opened more than sla_days before it.
--   open_within_sla: not closed at the week's end, still inside the SLA.
--   attainment: resolved_within_sla / (resolved_within_sla + resolved_late); NULL if none closed.
WITH weeks AS (SELECT * FROM marts.snapshot_weeks),
findings AS (
    SELECT s.snapshot_week, s.severity, p.sla_days, w.week_start, w.week_end,
           s.status IN ('resolved', 'verified') AS is_closed,
           s.closed_at >= w.week_start AND s.closed_at < w.week_end AS closed_in_week,
           date_diff('second', s.opened_at, s.closed_at) AS seconds_to_close,
           date_diff('second', s.opened_at, w.week_end) AS seconds_open
    FROM published.fact_finding_snapshot s
    JOIN weeks w USING (snapshot_week)
    JOIN marts.sla_policy p USING (severity)
    WHERE NOT EXISTS (SELECT 1 FROM marts.false_positive_weeks f
                      WHERE f.snapshot_week = s.snapshot_week AND f.finding_id = s.finding_id)
),
counted AS (
    SELECT snapshot_week, severity,
           count(*) FILTER (WHERE is_closed AND closed_in_week AND seconds_to_close <= sla_days * 86400) AS within,
           count(*) FILTER (WHERE is_closed AND closed_in_week AND seconds_to_close > sla_days * 86400) AS late,
           count(*) FILTER (WHERE NOT is_closed AND seconds_open > sla_days * 86400) AS breaching,
           count(*) FILTER (WHERE NOT is_closed AND seconds_open <= sla_days * 86400) AS inside
    FROM findings
    GROUP BY snapshot_week, severity
)
SELECT w.snapshot_week AS week, p.severity, p.sla_days,
       coalesce(c.within, 0) AS resolved_within_sla,
       coalesce(c.late, 0) AS resolved_late,
       coalesce(c.breaching, 0) AS open_breaching,
       coalesce(c.inside, 0) AS open_within_sla,
       c.within / nullif(c.within + c.late, 0) AS attainment
FROM weeks w
CROSS JOIN marts.sla_policy p
LEFT JOIN counted c ON c.snapshot_week = w.snapshot_week AND c.severity = p.severity
ORDER BY week, p.severity_rank DESC
