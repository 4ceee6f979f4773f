-- grain: one row per (snapshot week, severity), every severity every week
-- inputs: published.fact_finding_snapshot, marts.false_positive_weeks, marts.severity_levels, marts.snapshot_weeks
-- definitions:
--   From each weekly snapshot, false positives left out; severity as at the week's end.
--   findings: rows of the snapshot (open at some point in the week). open_at_week_end: not
--   resolved or verified at the week's end. share_of_open: open_at_week_end over the week's
--   open total, rounded to 4 decimals; NULL when nothing is open.
WITH weeks AS (SELECT * FROM marts.snapshot_weeks),
counted AS (
    SELECT s.snapshot_week, s.severity, count(*) AS findings,
           count(*) FILTER (WHERE s.status NOT IN ('resolved', 'verified')) AS open_at_week_end
    FROM published.fact_finding_snapshot s
    WHERE NOT EXISTS (SELECT 1 FROM marts.false_positive_weeks f
                      WHERE f.snapshot_week = s.snapshot_week AND f.finding_id = s.finding_id)
    GROUP BY s.snapshot_week, s.severity
)
SELECT w.snapshot_week AS week, l.severity,
       coalesce(c.findings, 0) AS findings,
       coalesce(c.open_at_week_end, 0) AS open_at_week_end,
       round(coalesce(c.open_at_week_end, 0)
             / nullif(sum(coalesce(c.open_at_week_end, 0)) OVER (PARTITION BY w.snapshot_week), 0), 4)
           AS share_of_open
FROM weeks w
CROSS JOIN marts.severity_levels l
LEFT JOIN counted c ON c.snapshot_week = w.snapshot_week AND c.severity = l.severity
ORDER BY week, l.severity_rank DESC
