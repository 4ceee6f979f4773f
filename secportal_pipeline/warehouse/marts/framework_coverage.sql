-- grain: one row per (report month, framework control)
-- inputs: published.report_framework_coverage, published.dim_framework_control
-- definitions:
--   Framework coverage attestation per control and month, from the monthly coverage report
--   (findings mapped to the control through the CWE crosswalk as of the month's end, false
--   positives left out). attestation: clear (nothing open), open_findings (open, none critical
--   or high) or at_risk (an open critical or high finding). attestable: attestation = 'clear'.
--   previous_attestation: the control's attestation the month before (NULL for its first month).
--   changed: attestation differs from the previous month.
SELECT r.month, r.framework, r.control_id, d.control_name,
       r.findings_mapped, r.open_findings, r.open_critical_high, r.closed_in_month,
       r.attestation,
       r.attestation = 'clear' AS attestable,
       lag(r.attestation) OVER (PARTITION BY r.framework, r.control_id ORDER BY r.month) AS previous_attestation,
       coalesce(r.attestation <> lag(r.attestation) OVER (PARTITION BY r.framework, r.control_id ORDER BY r.month),
                FALSE) AS changed
FROM published.report_framework_coverage r
JOIN published.dim_framework_control d USING (framework, control_id)
ORDER BY r.month, r.framework, r.control_id
