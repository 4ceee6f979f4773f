"""Partition definitions per cadence (DESIGN §4), all in UTC."""

from __future__ import annotations

import dagster as dg

from ..config import load_settings

_START = load_settings().partitions_start

# day_offset=1: weeks run Monday to Sunday (Dagster's default week starts on Sunday)
weekly = dg.WeeklyPartitionsDefinition(start_date=_START, day_offset=1, timezone="UTC")
daily = dg.DailyPartitionsDefinition(start_date=_START, timezone="UTC")
monthly = dg.MonthlyPartitionsDefinition(start_date=_START[:8] + "01", timezone="UTC")

# one partition per completed scan execution (key: its scan_id), added by scan_sensor.py
scan_executions = dg.DynamicPartitionsDefinition(name="scan_executions")

BY_CADENCE = {"weekly": weekly, "daily": daily, "monthly": monthly, "per_scan": scan_executions}
# cadences with a time schedule; the others are driven by a sensor
SCHEDULED_CADENCES = ("weekly", "daily", "monthly")
