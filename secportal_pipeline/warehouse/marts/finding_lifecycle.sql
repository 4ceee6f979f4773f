-- grain: one row per finding created on the loaded activity log
-- inputs: marts.finding_changes, published.fact_activity_event
-- definitions:
--   Lifecycle latency and time in state, from the status changes of the activity facts.
--   as_of: the end of the last day with loaded activity (max activity_date + 1 day, UTC); a state
--   still held then is counted up to as_of.
--   opened_at: the creation event's time. current_status: the status held at as_of.
--   days_to_in_progress / days_to_resolved / days_to_verified: days from opened_at to the first
--   time the finding entered in_progress / resolved-or-verified / verified; NULL if never.
--   reopen_count: times the finding moved to reopened.
--   days_open, days_in_progress, days_resolved, days_verified, days_reopened: total days spent in
--   each status up to as_of (a finding back in a status adds each stay).
--   Days are seconds / 86400, rounded to 4 decimals.
WITH horizon AS (
    SELECT CAST(max(activity_date) + INTERVAL 1 DAY AS TIMESTAMPTZ) AS as_of FROM published.fact_activity_event
),
steps AS (
    SELECT finding_id, engagement_id, seq, occurred_at AS entered_at, to_value AS status,
           lead(occurred_at) OVER (PARTITION BY finding_id ORDER BY seq) AS next_at
    FROM marts.finding_changes
    WHERE field = 'status'
),
spans AS (
    SELECT s.*, h.as_of, date_diff('second', s.entered_at, coalesce(s.next_at, h.as_of)) / 86400.0 AS days
    FROM steps s, horizon h
),
per_finding AS (
    SELECT finding_id,
           any_value(engagement_id) AS engagement_id,
           any_value(as_of) AS as_of,
           min(entered_at) AS opened_at,
           arg_max(status, seq) AS current_status,
           min(entered_at) FILTER (WHERE status = 'in_progress') AS first_in_progress_at,
           min(entered_at) FILTER (WHERE status IN ('resolved', 'verified')) AS first_resolved_at,
           min(entered_at) FILTER (WHERE status = 'verified') AS first_verified_at,
           count(*) FILTER (WHERE status = 'reopened') AS reopen_count,
           sum(days) FILTER (WHERE status = 'open') AS days_open,
           sum(days) FILTER (WHERE status = 'in_progress') AS days_in_progress,
           sum(days) FILTER (WHERE status = 'resolved') AS days_resolved,
           sum(days) FILTER (WHERE status = 'verified') AS days_verified,
           sum(days) FILTER (WHERE status = 'reopened') AS days_reopened
    FROM spans
    GROUP BY finding_id
)
SELECT finding_id, engagement_id, opened_at, current_status, as_of,
       round(date_diff('second', opened_at, first_in_progress_at) / 86400.0, 4) AS days_to_in_progress,
       round(date_diff('second', opened_at, first_resolved_at) / 86400.0, 4) AS days_to_resolved,
       round(date_diff('second', opened_at, first_verified_at) / 86400.0, 4) AS days_to_verified,
       reopen_count,
       round(coalesce(days_open, 0), 4) AS days_open,
       round(coalesce(days_in_progress, 0), 4) AS days_in_progress,
       round(coalesce(days_resolved, 0), 4) AS days_resolved,
       round(coalesce(days_verified, 0), 4) AS days_verified,
       round(coalesce(days_reopened, 0), 4) AS days_reopened
FROM per_finding
ORDER BY finding_id
