-- grain: one row per (snapshot week, severity), every severity every week
-- inputs: published.fact_finding_snapshot, marts.finding_changes, marts.false_positive_weeks, marts.severity_levels, marts.snapshot_weeks
-- definitions:
--   From each weekly snapshot, false positives left out; severity as at the week's end.
--   opened: opened_at within the week. resolved: closed (resolved or verified) at the week's end
--   with closed_at within the week. reopened: moves to reopened during the week (status changes
--   on the activity facts), counted against the finding's week-end severity.
--   net_change: opened - resolved. open_at_week_end: not closed at the week's end.
--   median_days_to_close: median of closed_at - opened_at over the week's resolved, in days
--   rounded to 4 decimals.
WITH weeks AS (SELECT * FROM marts.snapshot_weeks),
findings AS (
    SELECT s.snapshot_week, s.finding_id, s.severity, w.week_start, w.week_end,
           s.opened_at >= w.week_start AND s.opened_at < w.week_end AS opened_in_week,
           s.status IN ('resolved', 'verified') AND s.closed_at >= w.week_start AND s.closed_at < w.week_end
               AS resolved_in_week,
           s.status NOT IN ('resolved', 'verified') AS still_open,
           date_diff('second', s.opened_at, s.closed_at) / 86400.0 AS days_to_close
    FROM published.fact_finding_snapshot s
    JOIN weeks w USING (snapshot_week)
    WHERE NOT EXISTS (SELECT 1 FROM marts.false_positive_weeks f
                      WHERE f.snapshot_week = s.snapshot_week AND f.finding_id = s.finding_id)
),
reopens AS (
    SELECT f.snapshot_week, f.severity, count(*) AS reopened
    FROM findings f
    JOIN marts.finding_changes c
      ON c.finding_id = f.finding_id AND c.field = 'status' AND c.to_value = 'reopened'
     AND c.occurred_at >= f.week_start AND c.occurred_at < f.week_end
    GROUP BY f.snapshot_week, f.severity
),
counted AS (
    SELECT snapshot_week, severity,
           count(*) FILTER (WHERE opened_in_week) AS opened,
           count(*) FILTER (WHERE resolved_in_week) AS resolved,
           count(*) FILTER (WHERE still_open) AS open_at_week_end,
           median(days_to_close) FILTER (WHERE resolved_in_week) AS median_days_to_close
    FROM findings
    GROUP BY snapshot_week, severity
)
SELECT w.snapshot_week AS week, l.severity,
       coalesce(c.opened, 0) AS opened,
       coalesce(c.resolved, 0) AS resolved,
       coalesce(r.reopened, 0) AS reopened,
       coalesce(c.opened, 0) - coalesce(c.resolved, 0) AS net_change,
       coalesce(c.open_at_week_end, 0) AS open_at_week_end,
       round(c.median_days_to_close, 4) AS median_days_to_close
FROM weeks w
CROSS JOIN marts.severity_levels l
LEFT JOIN counted c ON c.snapshot_week = w.snapshot_week AND c.severity = l.severity
LEFT JOIN reopens r ON r.snapshot_week = w.snapshot_week AND r.severity = l.severity
ORDER BY week, l.severity_rank DESC
