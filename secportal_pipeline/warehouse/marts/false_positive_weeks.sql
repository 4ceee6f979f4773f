-- grain: one row per (snapshot week, finding) where the finding stood dismissed as a false positive at the week's end
-- inputs: marts.finding_changes, marts.snapshot_weeks
-- definitions:
--   A finding is a false positive at an instant when its latest override before that instant
--   (by seq) is of kind false_positive. The weekly marts leave these findings out of every
--   count, as the monthly report tables do.
WITH weeks AS (SELECT * FROM marts.snapshot_weeks),
overrides AS (
    SELECT finding_id, seq, occurred_at, to_value AS kind FROM marts.finding_changes WHERE field = 'override'
)
SELECT w.snapshot_week, o.finding_id
FROM weeks w
JOIN overrides o ON o.occurred_at < w.week_end
GROUP BY w.snapshot_week, o.finding_id
HAVING arg_max(o.kind, o.seq) = 'false_positive'
ORDER BY w.snapshot_week, o.finding_id
