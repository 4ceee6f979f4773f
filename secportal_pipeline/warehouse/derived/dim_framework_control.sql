-- grain: one row per framework control (framework, control_id) of the workspace's crosswalk
-- inputs: published.report_framework_coverage
-- definitions:
--   The control dimension of DESIGN §6, derived from the monthly framework coverage report,
--   which lists every control of the crosswalk each month, mapped or not (so no control is
--   missing once one month is loaded).
--   control_name: the name in the latest month that lists the control.
--   first_month, last_month: the first and latest report month listing it.
SELECT
    framework,
    control_id,
    arg_max(control_name, month) AS control_name,
    min(month) AS first_month,
    max(month) AS last_month
FROM published.report_framework_coverage
GROUP BY framework, control_id
ORDER BY framework, control_id
