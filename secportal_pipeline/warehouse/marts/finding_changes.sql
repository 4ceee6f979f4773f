-- grain: one row per finding field change on the activity log (creation counts as a change from nothing)
-- inputs: published.fact_activity_event
-- definitions:
--   Base model for the lifecycle, override and ownership marts. Finding events are ordered by
--   (occurred_at, event_id), the order the as-of rebuild replays them in; seq is that order.
--   A creation event yields rows for status and severity (from NULL to the initial value) and
--   for owner_id when the finding was created with an owner. A change event yields one row per
--   {field, from, to} it records. finding.overridden also yields a row with field 'override'
--   and to_value the override kind (severity_override, false_positive, accepted_risk).
--   Values are as the activity slice lands them: status and severity are kept by the contract's
--   keepKeys, owner_id is masked ('[REDACTED]'), but a null stays null, which is all the
--   ownership mart needs (was there an owner before this change or not).
--   engagement_id: the finding's engagement at creation.
WITH events AS (
    SELECT event_id, occurred_at, CAST(entity_id AS BIGINT) AS finding_id, action, metadata,
           row_number() OVER (ORDER BY occurred_at, event_id) AS seq
    FROM published.fact_activity_event
    WHERE entity_type = 'finding'
),
created AS (
    SELECT * FROM events WHERE json_extract(metadata, '$.initial') IS NOT NULL
),
rows AS (
    SELECT finding_id, seq, event_id, occurred_at, action, TRUE AS is_creation,
           'status' AS field, NULL AS from_value, metadata ->> '$.initial.status' AS to_value
    FROM created
    UNION ALL
    SELECT finding_id, seq, event_id, occurred_at, action, TRUE,
           'severity', NULL, metadata ->> '$.initial.severity'
    FROM created
    UNION ALL
    SELECT finding_id, seq, event_id, occurred_at, action, TRUE,
           'owner_id', NULL, metadata ->> '$.initial.owner_id'
    FROM created
    WHERE json_extract_string(metadata, '$.initial.owner_id') IS NOT NULL
    UNION ALL
    SELECT finding_id, seq, event_id, occurred_at, action, FALSE,
           change ->> 'field', change ->> 'from', change ->> 'to'
    FROM events, unnest(CAST(json_extract(metadata, '$.changes') AS JSON[])) AS c(change)
    WHERE json_extract(metadata, '$.changes') IS NOT NULL
    UNION ALL
    SELECT finding_id, seq, event_id, occurred_at, action, FALSE,
           'override', NULL, metadata ->> '$.kind'
    FROM events
    WHERE action = 'finding.overridden'
)
SELECT r.finding_id, c.engagement_id, r.seq, r.event_id, r.occurred_at, r.action, r.is_creation,
       r.field, r.from_value, r.to_value
FROM rows r
LEFT JOIN (SELECT finding_id, CAST(metadata ->> '$.initial.engagement_id' AS BIGINT) AS engagement_id
           FROM created) c USING (finding_id)
ORDER BY r.seq, r.field
