"""The SLA policy the marts measure against: days to close per severity.

Default file ``config/sla_policy.yaml`` (critical 7, high 30, medium 90, low 120);
``SECPORTAL_SLA_POLICY_FILE`` names another file, and ``SECPORTAL_SLA_DAYS``
(``critical=5,high=20``) overrides single severities on top of it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from ..config import REPO_ROOT
from ..workspace.types import SEVERITIES

ENV_SLA_POLICY_FILE = "SECPORTAL_SLA_POLICY_FILE"
ENV_SLA_DAYS = "SECPORTAL_SLA_DAYS"
DEFAULT_POLICY_FILE = REPO_ROOT / "config" / "sla_policy.yaml"


class SlaPolicyError(ValueError):
    pass


def _checked(policy: Mapping[str, object], source: str) -> dict[str, int]:
    checked: dict[str, int] = {}
    for severity, days in policy.items():
        if severity not in SEVERITIES:
            raise SlaPolicyError(f"{source}: unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")
        try:
            value = int(days)
        except (TypeError, ValueError):
            raise SlaPolicyError(f"{source}: {severity} = {days!r} is not a whole number of days") from None
        if value <= 0 or str(days).strip() != str(value):
            raise SlaPolicyError(f"{source}: {severity} = {days!r} must be a positive whole number of days")
        checked[severity] = value
    return checked


def load_sla_policy(env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Days per severity, in severity order, from the policy file and the environment."""
    env = os.environ if env is None else env
    path = Path(env.get(ENV_SLA_POLICY_FILE) or DEFAULT_POLICY_FILE)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SlaPolicyError(f"{path}: SLA policy file not found") from None
    if not isinstance(raw, dict):
        raise SlaPolicyError(f"{path}: expected a mapping of severity to days")
    policy = _checked(raw, str(path))
    inline = (env.get(ENV_SLA_DAYS) or "").strip()
    if inline:
        pairs = {}
        for item in inline.split(","):
            severity, sep, days = item.partition("=")
            if not sep:
                raise SlaPolicyError(f"{ENV_SLA_DAYS}={inline!r}: expected severity=days pairs, e.g. critical=7,high=30")
            pairs[severity.strip()] = days.strip()
        policy.update(_checked(pairs, ENV_SLA_DAYS))
    return {s: policy[s] for s in SEVERITIES if s in policy}
