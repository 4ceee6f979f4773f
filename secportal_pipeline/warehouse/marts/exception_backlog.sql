-- grain: one row per (register week, expiry bucket), all four buckets every week
-- inputs: published.fact_exception
-- definitions:
--   From each weekly exception register (as at the week's end; as_of_date = register_week + 7).
--   The backlog is the live exceptions: decision approved or pending.
--   expiry_bucket by expires_on against as_of_date: expired (before it), under_30_days (within
--   30 days), 30_to_90_days (30 to under 90 days), later (90 days or more).
--   exceptions / approved / pending: live exceptions in the bucket, and by decision.
--   critical_high: live exceptions on a critical or high finding.
--   overdue_reviews: approved exceptions whose review is due: decided_at + review_cadence_days
--   before as_of_date's midnight (no later review is recorded on the register).
WITH buckets AS (
    SELECT * FROM (VALUES (1, 'expired'), (2, 'under_30_days'), (3, '30_to_90_days'), (4, 'later'))
        AS b(bucket_order, expiry_bucket)
),
weeks AS (
    SELECT DISTINCT register_week, CAST(register_week + INTERVAL 7 DAY AS DATE) AS as_of_date
    FROM published.fact_exception
),
live AS (
    SELECT e.*, w.as_of_date,
           CASE WHEN e.expires_on < w.as_of_date THEN 'expired'
                WHEN e.expires_on < w.as_of_date + 30 THEN 'under_30_days'
                WHEN e.expires_on < w.as_of_date + 90 THEN '30_to_90_days'
                ELSE 'later' END AS expiry_bucket
    FROM published.fact_exception e
    JOIN weeks w USING (register_week)
    WHERE e.decision IN ('approved', 'pending')
),
counted AS (
    SELECT register_week, expiry_bucket, count(*) AS exceptions,
           count(*) FILTER (WHERE decision = 'approved') AS approved,
           count(*) FILTER (WHERE decision = 'pending') AS pending,
           count(*) FILTER (WHERE severity IN ('critical', 'high')) AS critical_high,
           count(*) FILTER (WHERE decision = 'approved'
                            AND decided_at + to_days(review_cadence_days) < CAST(as_of_date AS TIMESTAMPTZ))
               AS overdue_reviews
    FROM live
    GROUP BY register_week, expiry_bucket
)
SELECT w.register_week AS week, w.as_of_date, b.expiry_bucket,
       coalesce(c.exceptions, 0) AS exceptions,
       coalesce(c.approved, 0) AS approved,
       coalesce(c.pending, 0) AS pending,
       coalesce(c.critical_high, 0) AS critical_high,
       coalesce(c.overdue_reviews, 0) AS overdue_reviews
FROM weeks w
CROSS JOIN buckets b
LEFT JOIN counted c ON c.register_week = w.register_week AND c.expiry_bucket = b.expiry_bucket
ORDER BY week, b.bucket_order
