-- grain: one row per finding created on the loaded activity log
-- inputs: marts.finding_changes
-- definitions:
--   Owner events: a creation with an owner, and every owner_id change (assignment, reassignment,
--   unassignment). The first owner event is the first assignment; every later one is rework.
--   first_assigned_at: time of the first owner event; NULL if never assigned.
--   owner_changes: owner_id changes after creation (all of them, the first assignment included).
--   rework_changes: owner events after the first assignment (owner events - 1, at least 0).
WITH created AS (
    SELECT DISTINCT finding_id, engagement_id FROM marts.finding_changes WHERE is_creation
),
owners AS (
    SELECT finding_id, min(occurred_at) AS first_assigned_at, count(*) AS owner_events,
           count(*) FILTER (WHERE NOT is_creation) AS owner_changes
    FROM marts.finding_changes
    WHERE field = 'owner_id'
    GROUP BY finding_id
)
SELECT c.finding_id, c.engagement_id, o.first_assigned_at,
       coalesce(o.owner_changes, 0) AS owner_changes,
       greatest(coalesce(o.owner_events, 0) - 1, 0) AS rework_changes
FROM created c
LEFT JOIN owners o USING (finding_id)
ORDER BY c.finding_id
