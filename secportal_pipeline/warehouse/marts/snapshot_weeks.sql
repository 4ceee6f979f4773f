-- grain: one row per weekly findings snapshot in the warehouse
-- inputs: published.fact_finding_snapshot
-- definitions:
--   snapshot_week: the Monday that starts the week (DATE). week_start / week_end: the week's
--   bounds as UTC instants, Monday 00:00 to the next Monday 00:00 (end exclusive). The weekly
--   marts all count against these bounds.
SELECT DISTINCT snapshot_week,
       CAST(snapshot_week AS TIMESTAMPTZ) AS week_start,
       CAST(snapshot_week + INTERVAL 7 DAY AS TIMESTAMPTZ) AS week_end
FROM published.fact_finding_snapshot
ORDER BY snapshot_week
