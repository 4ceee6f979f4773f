"""Partition keys to UTC time windows, refusing keys that name no partition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class BadPartition(ValueError):
    pass


def _parse(key: str) -> date:
    try:
        return date.fromisoformat(key)
    except ValueError:
        raise BadPartition(f"partition {key!r} is not a date (expected YYYY-MM-DD)") from None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def week_window(key: str) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) UTC for a weekly key, which must be a Monday."""
    day = _parse(key)
    if day.weekday() != 0:
        raise BadPartition(f"weekly partition {key!r} is a {day:%A}; weekly partitions start on Mondays (UTC)")
    return _midnight(day), _midnight(day + timedelta(days=7))


def day_window(key: str) -> tuple[datetime, datetime]:
    day = _parse(key)
    return _midnight(day), _midnight(day + timedelta(days=1))


def month_window(key: str) -> tuple[datetime, datetime]:
    day = _parse(key)
    if day.day != 1:
        raise BadPartition(f"monthly partition {key!r} must be the first day of a month")
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return _midnight(day), _midnight(nxt)
