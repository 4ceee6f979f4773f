-- grain: one row per engagement with at least one finding on the loaded activity log
-- inputs: marts.ownership_rework_finding
-- definitions:
--   findings: findings created in the engagement. findings_assigned: those ever assigned.
--   findings_reworked: those with at least one owner change after the first assignment.
--   rework_changes: all such changes. rework_rate: findings_reworked / findings_assigned,
--   rounded to 4 decimals; NULL when none was assigned.
SELECT engagement_id,
       count(*) AS findings,
       count(first_assigned_at) AS findings_assigned,
       count(*) FILTER (WHERE rework_changes > 0) AS findings_reworked,
       CAST(sum(rework_changes) AS BIGINT) AS rework_changes,
       round(count(*) FILTER (WHERE rework_changes > 0) / nullif(count(first_assigned_at), 0), 4) AS rework_rate
FROM marts.ownership_rework_finding
GROUP BY engagement_id
ORDER BY engagement_id
