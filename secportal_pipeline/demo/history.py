"""Play weeks of a security team's life into the workspace, on a simulated clock.

Scanner files arrive and go through the real intake; in between, people triage,
fix, retest, override and accept risk through the same service functions the CLI
uses (workspace/findings.py), so the activity log is exactly what production would
hold and every finding can be rebuilt from it.

Everything is deterministic for (seed, first_monday, weeks): no wall clock, random
streams seeded from labelled strings.

One rule keeps the log replayable: steps are applied in time order. A scan's
finding events carry the scanner's own times (its completion, give or take the
export), so no person acts between a scan completing and its file being imported;
and no person acts while another session is under way. ``_place_sessions`` enforces
both when it lays out each week.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from ..intake.service import import_file
from ..workspace.findings import (
    apply_override,
    assign_owner,
    decide_exception,
    get_finding,
    record_retest,
    request_exception,
    request_retest,
    set_status,
)
from ..workspace.schema import activity_log, exceptions, findings, scan_executions, scan_results
from ..workspace.types import SEVERITIES
from .scanner_files import PlannedScan, plan_scans, scan_items, write_scan_file
from .seed import DemoWorld, seed_workspace

DEFAULT_FIRST_MONDAY = date(2026, 8, 31)
DEFAULT_WEEKS = 13  # ends Sunday 2026-11-29
DEFAULT_SEED = 20260831

# Statuses in which a finding is still somebody's problem.
OPEN_STATUSES = ("open", "in_progress", "reopened")

# The analyst drops a scanner's export into the inbox some minutes after the scan ends;
# Burp stamps its export up to ~26 minutes after the scan itself.
IMPORT_DELAY = (timedelta(minutes=30), timedelta(minutes=50))
# How long a session may run at most, and the pause between two steps of it.
SESSION_LENGTH = timedelta(hours=2)
STEP_SECONDS = (40, 200)


# --------------------------------------------------------------------------------------
# The team's habits
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixPace:
    """How fast a severity gets fixed once triaged (days), and how often it is not fixed at all."""

    sla_days: int
    fixed_share: float  # share the owner fixes on their own (the rest waits for the scanner or an exception)
    on_time_share: float  # of those, share fixed inside the SLA


PACE = {
    "critical": FixPace(7, 1.0, 0.8),
    "high": FixPace(30, 0.75, 0.75),
    "medium": FixPace(90, 0.2, 0.85),
    "low": FixPace(180, 0.0, 1.0),
}

# Days between triage and an engineer picking the finding up.
START_DAYS = {"critical": (0, 1), "high": (0, 4), "medium": (2, 14), "low": (5, 30)}

FAILED_FIX_SHARE = 0.15  # a shipped fix the next scan still sees: the finding is reopened
MISROUTE_SHARE = 0.12  # triage sends a finding to the wrong engineer; fixed a day or three later
OVERRIDE_SHARE = 0.2  # chance per triage batch of each kind of override (the first one always happens)
EXCEPTION_REQUEST_SHARE = 0.5
EXCEPTION_APPROVE_SHARE = 0.75

UPGRADE_REASONS = (
    "Asset stores patient health records (PHI): impact raised per the client's data classification",
    "Internet-facing login flow: exploitability higher than the scanner's rating",
)
DOWNGRADE_REASONS = (
    "Service reachable only from the management network (VPN + MFA): exposure lower than rated",
    "Compensating WAF rule blocks the payload class; confirmed by manual testing",
)
FALSE_POSITIVE_REASONS = (
    "Manual verification: the value is HTML-encoded in the response; the scanner heuristic misfired",
    "Banner-based detection: the package is patched through a vendor backport",
)
COMPENSATING_CONTROLS = (
    "Access restricted to the corporate VPN with MFA; WAF virtual patch in blocking mode",
    "Host isolated in a management VLAN; EDR in prevent mode; weekly log review",
    "IDS signature deployed for the exploit pattern; alerting routed to the SOC",
)
BUSINESS_RATIONALES = (
    "Legacy appliance: the vendor fix needs a firmware upgrade scheduled after the change freeze",
    "Patching needs a coordinated outage with the client's payment processor",
    "Third-party component: the supplier ships the fix in their next quarterly release",
)


# --------------------------------------------------------------------------------------
# What the player returns
# --------------------------------------------------------------------------------------


@dataclass
class HistorySummary:
    weeks: int
    first_monday: date
    files_imported: int = 0
    files_skipped: int = 0
    files_quarantined: int = 0
    findings: int = 0
    events: int = 0
    actions: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        workflow = ("finding", "exception", "retest", "override")
        human = {k: v for k, v in self.actions.items() if k.split(".")[0] in workflow}
        return (f"{self.files_imported} files imported, {self.findings} findings, {self.events} activity events "
                f"({', '.join(f'{k}={v}' for k, v in sorted(human.items()))})")


# --------------------------------------------------------------------------------------
# The schedule: scans, their imports, and the team's working sessions
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    at: datetime
    scan: PlannedScan


@dataclass(frozen=True)
class Session:
    at: datetime
    until: datetime
    kind: str  # triage, remediation, retest, risk_review


# Nominal start (UTC) of each working session; a few minutes of jitter are added.
SESSION_TIMES = (("triage", time(8, 45)), ("remediation", time(11, 0)), ("retest", time(13, 30)),
                 ("risk_review", time(15, 30)))


def _import_time(scan: PlannedScan, rng: random.Random, week_end: datetime) -> datetime:
    low, high = IMPORT_DELAY
    delay = timedelta(seconds=rng.randint(int(low.total_seconds()), int(high.total_seconds())))
    # the file is imported in the week the scan completed, so a played week is complete
    return min(scan.completed_at + delay, week_end - timedelta(seconds=1))


def _place_sessions(day: date, imports: list[Import], rng: random.Random) -> list[Session]:
    """The day's sessions, moved clear of every scan-to-import window and of each other."""
    quiet = sorted((i.scan.completed_at - timedelta(minutes=1), i.at + timedelta(minutes=1)) for i in imports)
    sessions: list[Session] = []
    not_before = datetime.combine(day, time(0), UTC)
    for kind, nominal in SESSION_TIMES:
        start = max(not_before, datetime.combine(day, nominal, UTC) + timedelta(minutes=rng.randint(0, 40)))
        for begin, end in quiet:  # sorted, so one pass pushes the start past every window it hits
            if begin <= start < end:
                start = end
        until = start + SESSION_LENGTH
        next_quiet = [begin for begin, _end in quiet if begin > start]
        if next_quiet:
            until = min(until, next_quiet[0])
        sessions.append(Session(start, until, kind))
        not_before = until  # a session never overlaps the next one
    return sessions


def _week_schedule(
    scans: list[PlannedScan], week_start: date, rng: random.Random
) -> list[Import | Session]:
    start = datetime.combine(week_start, time(0), UTC)
    end = start + timedelta(days=7)
    imports = [Import(_import_time(s, rng, end), s) for s in scans if start <= s.completed_at < end]
    sessions = [s for d in range(5) for s in _place_sessions(week_start + timedelta(days=d), imports, rng)]
    return sorted([*imports, *sessions], key=lambda step: (step.at, isinstance(step, Session)))


class Clock:
    """A session's clock: each step a minute or three after the last, until time is up."""

    def __init__(self, session: Session, rng: random.Random):
        self.now = session.at
        self.until = session.until
        self.rng = rng

    def step(self) -> datetime | None:
        """The time of the next step, or None once the session is over (the rest waits)."""
        at = self.now
        if at >= self.until:
            return None
        self.now = at + timedelta(seconds=self.rng.randint(*STEP_SECONDS))
        return at


# --------------------------------------------------------------------------------------
# What the scanner will see
# --------------------------------------------------------------------------------------


def _finding_key(tool: str, plugin_id: str, port: int | None, protocol: str | None, location: str) -> tuple:
    """A finding's identity in the generator's terms (rule, then port/protocol or location)."""
    if tool == "nessus":
        return (int(plugin_id), port or 0, protocol or "")
    return (int(plugin_id), location)


class ScannerTruth:
    """Which findings each planned scan will report.

    The scanner files are generated on their own, while in the story it is the team's
    fixes that make findings disappear. An owner consults this before claiming a fix so
    the claim and the next scan agree, apart from the deliberate failed fixes.
    """

    def __init__(self, scans: list[PlannedScan], seed: int):
        self.series: dict[tuple[str, str], list[tuple[datetime, frozenset]]] = {}
        for scan in sorted(scans, key=lambda s: s.completed_at):
            keys = frozenset(
                _finding_key(scan.tool, str(item.rule_id), item.port, item.protocol,
                             item.spot.location if item.spot else "")
                for item in scan_items(scan, seed)
            )
            self.series.setdefault((scan.asset_ref, scan.tool), []).append((scan.completed_at, keys))

    def next_scan_reports(self, finding: dict, after: datetime) -> bool | None:
        """Whether the next scan of the finding's asset and tool still reports it (None: no further scan)."""
        key = _finding_key(finding["source_tool"], finding["plugin_id"], finding["port"], finding["protocol"],
                           finding["location"])
        for completed_at, keys in self.series.get((finding["asset_ref"], finding["source_tool"]), ()):
            if completed_at > after:
                return key in keys
        return None


# --------------------------------------------------------------------------------------
# The team
# --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the team intends for one triaged finding; kept in memory while the history plays."""

    finding_id: int
    engineer: str  # the right owner: the engineer who looks after the asset
    start_at: datetime
    fix_at: datetime | None  # when the owner ships a fix; None: it waits for the scanner or an exception
    fix_claimed: bool = False  # once a claimed fix has failed, the owner waits for the scanner to confirm
    fix_attempts: int = 0
    reassign_at: datetime | None = None  # set when triage sent it to the wrong person
    suppressed: bool = False  # a false positive: nobody works it
    last_status: str = "open"
    exception_id: int | None = None


@dataclass
class PendingRetest:
    finding_id: int
    due: datetime
    scanner_confirmed: bool  # resolved because the scanner stopped seeing it


def _severity_step(severity: str, up: bool) -> str:
    """One band up or down, staying between critical and low (info is never an override target)."""
    index = SEVERITIES.index(severity) + (-1 if up else 1)  # SEVERITIES runs critical .. info
    return SEVERITIES[min(max(index, 0), len(SEVERITIES) - 2)]


class Team:
    """The security team: triage leads, engineers, a tester, GRC and the CISO."""

    def __init__(self, world: DemoWorld, truth: ScannerTruth, rng: random.Random, *, last_day: date):
        self.world = world
        self.truth = truth
        self.rng = rng
        self.last_day = last_day  # the last played day: some acceptances expire just after it
        self.plans: dict[int, Plan] = {}
        self.gone: dict[int, str] = {}  # finding id -> the scan file that no longer shows it
        self.retests: dict[int, PendingRetest] = {}
        self.exception_due: dict[int, datetime] = {}  # pending exception -> when it is decided
        self.override_kinds_done: set[str] = set()
        self.exceptions_requested = 0
        self.exceptions_decided = 0

    # -- who ----------------------------------------------------------------------------

    def lead_on_duty(self, day: date) -> str:
        leads = self.world.handles("lead")
        return leads[day.weekday() % len(leads)]

    def uid(self, handle: str) -> int:
        return self.world.uid(handle)

    # -- after each import --------------------------------------------------------------

    def note_scan(self, conn: sa.Connection, scan_ids: list[int], file_name: str) -> None:
        """Remember open findings a scan of their asset no longer shows: their owners close them."""
        for scan_id in scan_ids:
            target = conn.execute(
                sa.select(scan_executions.c.asset_ref, scan_executions.c.source_tool)
                .where(scan_executions.c.scan_id == scan_id)
            ).one()
            seen = sa.select(scan_results.c.finding_id).where(scan_results.c.scan_id == scan_id)
            for finding_id in conn.execute(seen).scalars():  # back before anyone closed it
                self.gone.pop(finding_id, None)
            missing = conn.execute(
                sa.select(findings.c.finding_id)
                .where(findings.c.asset_ref == target.asset_ref, findings.c.source_tool == target.source_tool,
                       findings.c.status.in_(OPEN_STATUSES), findings.c.finding_id.not_in(seen))
                .order_by(findings.c.finding_id)
            ).scalars()
            for finding_id in missing:
                self.gone.setdefault(finding_id, file_name)

    # -- sessions -------------------------------------------------------------------------

    def run(self, conn: sa.Connection, session: Session) -> None:
        clock = Clock(session, self.rng)
        getattr(self, session.kind)(conn, clock)

    def triage(self, conn: sa.Connection, clock: Clock) -> None:
        """The lead on duty fixes yesterday's misroutes, reviews new findings and assigns them."""
        lead = self.lead_on_duty(clock.now.date())
        self._fix_misroutes(conn, clock, lead)
        batch = conn.execute(
            sa.select(findings).where(findings.c.owner_id.is_(None), findings.c.severity != "info",
                                      findings.c.status.in_(OPEN_STATUSES))
            .order_by(findings.c.finding_id)
        ).mappings().all()
        batch = [dict(row) for row in batch if row["finding_id"] not in self.plans]
        if not batch:
            return
        suppressed = self._review_severities(conn, clock, lead, batch)
        for row in batch:
            if row["finding_id"] in suppressed:
                continue
            at = clock.step()
            if at is None:
                return
            self._assign(conn, row, lead, at)

    def remediation(self, conn: sa.Connection, clock: Clock) -> None:
        """Engineers start work, ship fixes, and close what the scanner no longer sees."""
        for plan in list(self.plans.values()):
            finding = get_finding(conn, plan.finding_id)
            status = finding["status"]
            if status not in OPEN_STATUSES:
                self.gone.pop(plan.finding_id, None)
                plan.last_status = status
                continue
            if status == "reopened" and plan.last_status != "reopened":
                self._replan_reopened(plan, clock.now)
            plan.last_status = status
            step = self._next_step(plan, finding, clock.now)
            if step is None:
                continue
            at = clock.step()
            if at is None:
                return
            self._take_step(conn, step, plan, finding, at)
        self._close_gone_untriaged(conn, clock)

    def retest(self, conn: sa.Connection, clock: Clock) -> None:
        """The tester works through due retests; a fix that does not hold reopens the finding."""
        tester = self.uid(self.world.handles("tester")[0])
        for retest_id, pending in sorted(self.retests.items()):
            if pending.due > clock.now:
                continue
            at = clock.step()
            if at is None:
                return
            status = get_finding(conn, pending.finding_id)["status"]
            record_retest(conn, retest_id, self._retest_result(status, pending), tester_id=tester, at=at)
            del self.retests[retest_id]

    def risk_review(self, conn: sa.Connection, clock: Clock) -> None:
        """GRC expires lapsed acceptances, decides pending requests; owners file new ones twice a week."""
        self._expire_acceptances(conn, clock)
        self._decide_exceptions(conn, clock)
        if clock.now.weekday() in (1, 3):  # Tuesdays and Thursdays
            self._request_exception(conn, clock)

    # -- triage steps -------------------------------------------------------------------

    def _fix_misroutes(self, conn: sa.Connection, clock: Clock, lead: str) -> None:
        for plan in self.plans.values():
            if plan.reassign_at is None or plan.reassign_at > clock.now:
                continue
            if get_finding(conn, plan.finding_id)["status"] not in OPEN_STATUSES:
                plan.reassign_at = None  # closed before anyone noticed the misroute
                continue
            at = clock.step()
            if at is None:
                return
            assign_owner(conn, plan.finding_id, self.uid(plan.engineer), actor_id=self.uid(lead), at=at)
            plan.reassign_at = None

    def _review_severities(self, conn: sa.Connection, clock: Clock, lead: str, batch: list[dict]) -> set[int]:
        """At most one of each override per batch: raise, lower, dismiss as false positive.

        Returns the false positives, which nobody is assigned to work.
        """
        world = self.world
        candidates = {
            # patient data makes a medium matter more than the scanner thinks
            "raise": [r for r in batch if world.asset_client.get(r["asset_ref"]) == "Globex Health"
                      and r["severity"] in ("medium", "low")],
            # a host service behind the VPN is less exposed than rated
            "lower": [r for r in batch if r["source_tool"] == "nessus" and r["severity"] in ("high", "medium")],
            # web scanners misfire on reflected-value heuristics
            "false_positive": [r for r in batch if r["source_tool"] == "burp" and r["severity"] in ("medium", "low")],
        }
        chosen: set[int] = set()
        suppressed: set[int] = set()
        for kind, rows in candidates.items():
            rows = [r for r in rows if r["finding_id"] not in chosen]
            if not rows or (kind in self.override_kinds_done and self.rng.random() >= OVERRIDE_SHARE):
                continue
            at = clock.step()
            if at is None:
                break
            row = self.rng.choice(rows)
            chosen.add(row["finding_id"])
            self._override(conn, row, kind, lead, at)
            self.override_kinds_done.add(kind)
            if kind == "false_positive":
                suppressed.add(row["finding_id"])
                self.plans[row["finding_id"]] = Plan(row["finding_id"], "", at, fix_at=None, suppressed=True)
            else:
                row["severity"] = get_finding(conn, row["finding_id"])["severity"]
        return suppressed

    def _override(self, conn: sa.Connection, row: dict, kind: str, lead: str, at: datetime) -> None:
        if kind == "false_positive":
            apply_override(conn, row["finding_id"], kind="false_positive", actor_id=self.uid(lead), at=at,
                           reason=self.rng.choice(FALSE_POSITIVE_REASONS))
            return
        up = kind == "raise"
        apply_override(conn, row["finding_id"], kind="severity_override", actor_id=self.uid(lead), at=at,
                       to_severity=_severity_step(row["severity"], up),
                       reason=self.rng.choice(UPGRADE_REASONS if up else DOWNGRADE_REASONS))

    def _assign(self, conn: sa.Connection, row: dict, lead: str, at: datetime) -> None:
        engineer = self.world.asset_engineer[row["asset_ref"]]
        owner, reassign_at = engineer, None
        if self.rng.random() < MISROUTE_SHARE:
            owner = self.rng.choice([e for e in self.world.handles("engineer") if e != engineer])
            reassign_at = at + timedelta(days=self.rng.randint(1, 3))
        assign_owner(conn, row["finding_id"], self.uid(owner), actor_id=self.uid(lead), at=at)
        self.plans[row["finding_id"]] = self._plan(row, engineer, at, reassign_at)

    def _plan(self, row: dict, engineer: str, at: datetime, reassign_at: datetime | None) -> Plan:
        severity = row["severity"]
        low, high = START_DAYS[severity]
        start_at = at + timedelta(days=self.rng.randint(low, high), hours=self.rng.randint(0, 6))
        return Plan(row["finding_id"], engineer, start_at, self._fix_time(severity, at), reassign_at=reassign_at)

    def _fix_time(self, severity: str, at: datetime) -> datetime | None:
        pace = PACE[severity]
        if self.rng.random() >= pace.fixed_share:
            return None
        # on time: somewhere in the first 90 % of the SLA; late: up to 80 % past it
        share = self.rng.uniform(0.15, 0.9) if self.rng.random() < pace.on_time_share else self.rng.uniform(1.1, 1.8)
        return at + timedelta(days=pace.sla_days * share)

    # -- remediation steps --------------------------------------------------------------

    @staticmethod
    def _replan_reopened(plan: Plan, now: datetime) -> None:
        """Back on the owner's list; burned once, they now close it only when a scan confirms the fix."""
        plan.start_at = now
        plan.fix_at = None

    @staticmethod
    def _demand_fix(plan: Plan, at: datetime) -> None:
        """A rejected or lapsed acceptance: the owner must ship a fix by ``at`` (unless one already failed)."""
        if not plan.fix_claimed:
            plan.fix_at = at

    def _next_step(self, plan: Plan, finding: dict, now: datetime) -> str | None:
        if plan.suppressed or finding["owner_id"] is None:
            # a dismissed false positive the scanner dropped: the lead tidies it up
            return "tidy_gone" if plan.finding_id in self.gone else None
        if plan.finding_id in self.gone:
            return "close_gone"
        if plan.fix_at is not None and plan.fix_at <= now and finding["status"] == "in_progress":
            return self._fix_attempt(plan, finding, now)
        if (finding["status"] in ("open", "reopened") and plan.start_at <= now and plan.reassign_at is None
                and not self._retest_pending(plan.finding_id)):  # a pending retest decides first
            return "start"
        return None

    def _fix_attempt(self, plan: Plan, finding: dict, now: datetime) -> str | None:
        """Ship the fix when the next scan will agree with it.

        Otherwise the fix is not ready: now and then, on the first try, it ships anyway and
        the next scan reopens the finding; critical and high stay on the owner's list, the
        rest wait for the scanner or for an exception.
        """
        first_try = plan.fix_attempts == 0
        plan.fix_attempts += 1
        if not self.truth.next_scan_reports(finding, now):
            return "ship_fix"
        if first_try and self.rng.random() < FAILED_FIX_SHARE:
            return "ship_fix"
        if finding["severity"] in ("critical", "high"):
            plan.fix_at = now + timedelta(days=self.rng.randint(2, 5))
        else:
            plan.fix_at = None
        return None

    def _retest_pending(self, finding_id: int) -> bool:
        return any(p.finding_id == finding_id for p in self.retests.values())

    def _take_step(self, conn: sa.Connection, step: str, plan: Plan, finding: dict, at: datetime) -> None:
        owner_id = finding["owner_id"]
        if step == "tidy_gone":
            self._resolve(conn, plan.finding_id, self.uid(self.lead_on_duty(at.date())), at, retest=False)
        elif step == "close_gone":
            self._resolve(conn, plan.finding_id, owner_id, at, retest=True)
        elif step == "ship_fix":
            set_status(conn, plan.finding_id, "resolved", actor_id=owner_id, at=at, reason="fix deployed")
            self._request_retest(conn, plan.finding_id, owner_id, at, scanner_confirmed=False)
            plan.fix_at = None
            plan.fix_claimed = True
        else:
            set_status(conn, plan.finding_id, "in_progress", actor_id=owner_id, at=at)
        plan.last_status = get_finding(conn, plan.finding_id)["status"]

    def _resolve(self, conn: sa.Connection, finding_id: int, actor_id: int, at: datetime, *, retest: bool) -> None:
        file_name = self.gone.pop(finding_id)
        set_status(conn, finding_id, "resolved", actor_id=actor_id, at=at, reason=f"not detected by {file_name}")
        if retest:
            self._request_retest(conn, finding_id, actor_id, at, scanner_confirmed=True)

    def _close_gone_untriaged(self, conn: sa.Connection, clock: Clock) -> None:
        """Informational findings nobody owns: the lead closes them once the scanner drops them."""
        for finding_id in sorted(set(self.gone) - set(self.plans)):
            finding = get_finding(conn, finding_id)
            if finding["status"] not in OPEN_STATUSES:
                self.gone.pop(finding_id)
                continue
            at = clock.step()
            if at is None:
                return
            self._resolve(conn, finding_id, self.uid(self.lead_on_duty(at.date())), at, retest=False)

    def _request_retest(self, conn: sa.Connection, finding_id: int, actor_id: int, at: datetime, *,
                        scanner_confirmed: bool) -> None:
        retest_id = request_retest(conn, finding_id, actor_id=actor_id, at=at)
        due = at + timedelta(days=self.rng.randint(1, 4), hours=self.rng.randint(0, 4))
        self.retests[retest_id] = PendingRetest(finding_id, due, scanner_confirmed)

    def _retest_result(self, status: str, pending: PendingRetest) -> str:
        if status != "resolved":  # the scanner already saw it again: the fix evidently did not hold
            return "not_fixed"
        if pending.scanner_confirmed:
            weights = (92, 8, 0)
        else:
            weights = (75, 18, 7)
        return self.rng.choices(("fixed", "not_fixed", "partially_fixed"), weights)[0]

    # -- risk review steps --------------------------------------------------------------

    def _expire_acceptances(self, conn: sa.Connection, clock: Clock) -> None:
        lapsed = conn.execute(
            sa.select(exceptions.c.exception_id, exceptions.c.finding_id)
            .where(exceptions.c.decision == "approved", exceptions.c.expires_on < clock.now.date())
            .order_by(exceptions.c.exception_id)
        ).all()
        grc = self.uid(self.world.handles("grc")[0])
        for exception_id, finding_id in lapsed:
            at = clock.step()
            if at is None:
                return
            decide_exception(conn, exception_id, "expired", actor_id=grc, at=at)
            plan = self.plans.get(finding_id)
            if plan is not None:  # back on the owner's list, with a firm date this time
                self._demand_fix(plan, at + timedelta(days=self.rng.randint(7, 21)))

    def _decide_exceptions(self, conn: sa.Connection, clock: Clock) -> None:
        for exception_id, due in sorted(self.exception_due.items()):
            if due > clock.now:
                continue
            at = clock.step()
            if at is None:
                return
            row = conn.execute(sa.select(exceptions).where(exceptions.c.exception_id == exception_id)).mappings().one()
            # the CISO signs off high risk; GRC the rest
            approver = self.uid(self.world.handles("ciso" if row["severity"] in ("critical", "high") else "grc")[0])
            approve = self.exceptions_decided == 0 or self.rng.random() < EXCEPTION_APPROVE_SHARE
            decide_exception(conn, exception_id, "approved" if approve else "rejected", actor_id=approver, at=at)
            self.exceptions_decided += 1
            del self.exception_due[exception_id]
            if approve:
                apply_override(conn, row["finding_id"], kind="accepted_risk", actor_id=approver, at=at,
                               reason=f"Risk accepted under exception {exception_id}")
            else:  # rejected: the owner has to fix it after all
                self._demand_fix(self.plans[row["finding_id"]], at + timedelta(days=self.rng.randint(10, 25)))

    def _exception_candidates(self, conn: sa.Connection, now: datetime) -> list[Plan]:
        """Findings with no fix in sight that have been open a few days: the owner asks to accept the risk."""
        candidates = []
        for plan in self.plans.values():
            if plan.suppressed or plan.fix_at is not None or plan.exception_id is not None:
                continue
            finding = get_finding(conn, plan.finding_id)
            if (finding["status"] in ("open", "in_progress") and finding["severity"] in ("high", "medium")
                    and finding["override_id"] is None and finding["owner_id"] is not None
                    and now - finding["opened_at"] >= timedelta(days=3)):
                candidates.append(plan)
        return candidates

    def _request_exception(self, conn: sa.Connection, clock: Clock) -> None:
        candidates = self._exception_candidates(conn, clock.now)
        if not candidates or (self.exceptions_requested and self.rng.random() >= EXCEPTION_REQUEST_SHARE):
            return
        at = clock.step()
        if at is None:
            return
        plan = self.rng.choice(candidates)
        finding = get_finding(conn, plan.finding_id)
        plan.exception_id = request_exception(
            conn, plan.finding_id, compensating_controls=self.rng.choice(COMPENSATING_CONTROLS),
            residual_likelihood=self.rng.choice(("low", "medium")), residual_impact=self.rng.choice(("low", "medium")),
            business_rationale=self.rng.choice(BUSINESS_RATIONALES), expires_on=self._expiry(at.date()),
            review_cadence_days=30 if finding["severity"] == "high" else 90,
            actor_id=finding["owner_id"], at=at,
        )
        self.exception_due[plan.exception_id] = at + timedelta(days=self.rng.randint(1, 4))
        self.exceptions_requested += 1

    def _expiry(self, requested_on: date) -> date:
        """A spread the register should show: one short acceptance that lapses during the
        history, some expiring within a month after it, the rest well beyond."""
        n = self.exceptions_requested
        if n == 0:
            return requested_on + timedelta(days=21)
        if n % 3 == 1:
            return self.last_day + timedelta(days=self.rng.randint(5, 28))
        return requested_on + timedelta(days=self.rng.randint(90, 180))


# --------------------------------------------------------------------------------------
# The player
# --------------------------------------------------------------------------------------


def _rng(seed: int, label: str) -> random.Random:
    return random.Random(f"{seed}:{label}")  # str seeds hash with SHA-512: stable across processes


def _week_starts(first_monday: date, weeks: int) -> Iterator[date]:
    for week in range(weeks):
        yield first_monday + timedelta(weeks=week)


def play_history(
    engine: sa.Engine,
    *,
    first_monday: date = DEFAULT_FIRST_MONDAY,
    weeks: int = DEFAULT_WEEKS,
    seed: int = DEFAULT_SEED,
    scan_dir: Path,
    quarantine_dir: Path,
    on_week: Callable[[date], None] | None = None,
) -> HistorySummary:
    """Seed an empty workspace and play ``weeks`` weeks from ``first_monday`` (a Monday).

    ``on_week(week_start)`` is called once each week is complete, so a caller can
    materialize that week's partitions while the history is still being played.
    """
    if first_monday.weekday() != 0:
        raise ValueError(f"first_monday {first_monday} is not a Monday")
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one():
            raise ValueError("the workspace already holds activity: play the history into an empty workspace")
        # the team sets the portal up first thing on the first Monday, before any scan runs
        world = seed_workspace(conn, datetime.combine(first_monday, time(7, 30), UTC), seed)
    scans = plan_scans(world.assets, first_monday, weeks, seed)
    last_day = first_monday + timedelta(weeks=weeks, days=-1)
    team = Team(world, ScannerTruth(scans, seed), _rng(seed, "team"), last_day=last_day)
    schedule_rng = _rng(seed, "schedule")
    summary = HistorySummary(weeks=weeks, first_monday=first_monday)
    for week_start in _week_starts(first_monday, weeks):
        for step in _week_schedule(scans, week_start, schedule_rng):
            if isinstance(step, Import):
                _import(engine, step, team, summary, seed, scan_dir, quarantine_dir)
            else:
                with engine.begin() as conn:
                    team.run(conn, step)
        if on_week is not None:
            on_week(week_start)
    _count(engine, summary)
    return summary


def _import(engine: sa.Engine, step: Import, team: Team, summary: HistorySummary, seed: int,
            scan_dir: Path, quarantine_dir: Path) -> None:
    path = write_scan_file(step.scan, scan_dir, seed)
    result = import_file(engine, path, now=step.at, quarantine_dir=quarantine_dir)
    if result.outcome == "imported":
        summary.files_imported += 1
        with engine.begin() as conn:
            team.note_scan(conn, result.scan_ids, path.name)
    elif result.outcome == "skipped":
        summary.files_skipped += 1
    else:
        summary.files_quarantined += 1


def _count(engine: sa.Engine, summary: HistorySummary) -> None:
    with engine.connect() as conn:
        summary.findings = conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one()
        summary.events = conn.execute(sa.select(sa.func.count()).select_from(activity_log)).scalar_one()
        summary.actions = dict(conn.execute(
            sa.select(activity_log.c.action, sa.func.count()).group_by(activity_log.c.action)
            .order_by(activity_log.c.action)
        ).all())
