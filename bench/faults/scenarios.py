"""The fault scenarios. Each one starts from a fresh database and a fresh platform, puts it under
alert load, injects one fault, lets the platform drain for a bounded time, and accounts for every
accepted alert and every page owed (faults.ledger).

Teams get a schedule (primary, secondary, one further level). Outside the escalation scenarios the
escalation time is long enough that fast-forwarding the clock never escalates anything.
"""

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx

from faults.harness import Platform
from faults.ledger import EscalationDue, Ledger, Row, drain
from faults.load import Group, Picker, send_alerts

NO_ESCALATION = 24 * 60  # minutes
ESCALATION_MINUTES = 15
RECEIVER_LATENCY = 0.1  # seconds a Slack-like receiver takes to answer, in the notification-kill scenario
STORM_DUE_AFTER = 10  # seconds into the storm the older incidents' first escalation falls due


@dataclass(frozen=True)
class Profile:
    load_seconds: float  # alert load around the PostgreSQL restart
    concurrency: int  # concurrent alert senders
    groups: int  # (service, severity) groups, each owed one page
    im_down_seconds: float  # incident-management killed for this long
    escalating: int  # incidents escalated while an oncall-service replica dies / during the storm
    storm_alerts: int
    storm_services: int
    slow_notifications: int  # notifications parked on the one-byte-a-second receiver
    drain_seconds: float  # after the fault, how long owed pages may take


QUICK = Profile(12, 8, 40, 8, 30, 1000, 200, 2, 15)
FULL = Profile(40, 16, 120, 30, 100, 10_000, 2_000, 5, 60)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: Callable[[Platform, Profile], Awaitable[Row]]


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(count)]


def one_each(groups: list[Group]) -> Picker:
    return lambda number, _fraction: groups[number % len(groups)]


def spreading(groups: list[Group]) -> Picker:
    """New groups keep opening through the run (so some first appear during the fault); every other
    alert repeats a group already opened."""

    def pick(number: int, fraction: float) -> Group:
        newest = min(len(groups) - 1, int(fraction * len(groups)))
        return groups[newest] if number % 2 == 0 else groups[random.randint(0, newest)]

    return pick


def ledger_for(platform: Platform, **kwargs) -> Ledger:
    return Ledger(platform.name, platform.clock, platform.query, **kwargs)


def alerts(platform: Platform, pick: Picker, concurrency: int, **kwargs):
    url = f"{platform.url('alert-ingestion')}/api/v1/alerts"
    return send_alerts(url, pick, platform.clock.now, concurrency=concurrency, label=platform.name, **kwargs)


async def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.1)
    return False


async def pg_restart(platform: Platform, profile: Profile) -> Row:
    teams = names("pg", profile.groups // 2)
    groups = [(team, severity) for team in teams for severity in ("critical", "high")]
    await platform.create_schedules(teams, NO_ESCALATION)
    ledger = ledger_for(platform)
    load = asyncio.create_task(alerts(platform, spreading(groups), profile.concurrency, seconds=profile.load_seconds))
    await asyncio.sleep(profile.load_seconds / 3)
    started = time.monotonic()
    await asyncio.to_thread(platform.cluster.restart)
    outage = time.monotonic() - started
    ledger.record(await load)
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    row.notes.append(f"PostgreSQL stopped (fast) and started in {outage:.1f} s, {profile.load_seconds / 3:.0f} s into the load")
    return row


async def incident_management_killed(platform: Platform, profile: Profile) -> Row:
    teams = names("im", profile.groups // 2)
    groups = [(team, severity) for team in teams for severity in ("critical", "high")]
    await platform.create_schedules(teams, NO_ESCALATION)
    ledger = ledger_for(platform)
    seconds = profile.im_down_seconds + 8
    load = asyncio.create_task(alerts(platform, spreading(groups), profile.concurrency, seconds=seconds))
    await asyncio.sleep(3)
    platform.kill(platform.stack, "incident-management")
    await asyncio.sleep(profile.im_down_seconds)
    await platform.restart(platform.stack, "incident-management")
    ledger.record(await load)
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    row.notes.append(f"incident-management SIGKILLed 3 s into {seconds:.0f} s of load, restarted after {profile.im_down_seconds:.0f} s")
    return row


def escalations_due(platform: Platform, level: int) -> list[EscalationDue]:
    rows = platform.query("SELECT id::text, created_at FROM incident_management.incidents WHERE service LIKE %s", ("esc-%",))
    return [EscalationDue(incident_id, level, created + timedelta(minutes=ESCALATION_MINUTES * level)) for incident_id, created in rows]


async def oncall_killed(platform: Platform, profile: Profile) -> Row:
    teams = names("esc", profile.escalating)
    groups = [(team, "critical") for team in teams]
    await platform.create_schedules(teams, ESCALATION_MINUTES)
    await asyncio.to_thread(platform.add_replica, "oncall-service")
    ledger = ledger_for(platform)
    ledger.record(await alerts(platform, one_each(groups), profile.concurrency, count=len(groups)))
    await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)  # first pages out before time moves
    platform.clock.advance((ESCALATION_MINUTES + 1) * 60)
    ledger.escalations += escalations_due(platform, 1)

    def escalating() -> bool:
        return any("[ESCALATED" in d.body.get("message", "") for d in platform.healthy.snapshot())

    started = await wait_for(escalating, 15)
    platform.kill(platform.stack, "oncall-service")
    paged_at_kill = sum("[ESCALATED" in d.body.get("message", "") for d in platform.healthy.snapshot())
    await asyncio.sleep(2)
    platform.clock.advance(ESCALATION_MINUTES * 60)  # level 2 falls due while one replica is down
    ledger.escalations += escalations_due(platform, 2)
    await asyncio.sleep(2)
    await platform.restart(platform.stack, "oncall-service")
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    when = f"after {paged_at_kill} escalation pages" if started else "before any escalation page (none within 15 s)"
    row.notes.append(f"2 oncall-service replicas; one SIGKILLed {when}, level 2 fell due while it was down, restarted 4 s later")
    return row


async def notification_killed(platform: Platform, profile: Profile) -> Row:
    teams = names("nf", profile.groups * 2)
    groups = [(team, "high") for team in teams]
    await platform.create_schedules(teams, NO_ESCALATION)
    ledger = ledger_for(platform)
    platform.healthy.latency = RECEIVER_LATENCY  # a backlog builds up: pages are in flight when the kill comes
    load = asyncio.create_task(alerts(platform, one_each(groups), profile.concurrency, count=len(groups)))
    await wait_for(lambda: len(platform.healthy.snapshot()) >= len(groups) // 5, 20)
    platform.kill(platform.stack, "notification-service")
    delivered = len(platform.healthy.snapshot())
    (pending,) = platform.query("SELECT count(*) FROM notification.notifications WHERE status = 'pending'")[0]
    await asyncio.sleep(3)
    await platform.restart(platform.stack, "notification-service")
    ledger.record(await load)
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    row.notes.append(
        f"receiver answers in {RECEIVER_LATENCY * 1000:.0f} ms; notification-service SIGKILLed after {delivered} pages with "
        f"{pending} notifications pending, restarted 3 s later"
    )
    return row


async def receiver_down(platform: Platform, profile: Profile) -> Row:
    teams = names("rx", profile.groups)
    groups = [(team, "critical") for team in teams]
    await platform.create_schedules(teams, NO_ESCALATION)
    ledger = ledger_for(platform)
    platform.healthy.down()
    ledger.record(await alerts(platform, one_each(groups), profile.concurrency, count=len(groups)))
    await asyncio.sleep(2)  # first attempts fail against the closed port
    for _ in range(20):  # ten minutes of platform time in ten seconds
        platform.clock.advance(30)
        await asyncio.sleep(0.5)
    platform.healthy.up()
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds, tick=lambda: platform.clock.advance(15))
    (failed,) = platform.query("SELECT count(*) FROM notification.notifications WHERE status = 'failed'")[0]
    row.notes.append(
        f"receiver down for 10 min of platform time (clock offset file), then up; the drain moves the clock 30 s per real second; "
        f"{failed} notifications ended 'failed'"
    )
    return row


async def slow_receiver(platform: Platform, profile: Profile) -> Row:
    teams = names("slow", profile.groups)
    groups = [(team, "high") for team in teams]
    await platform.create_schedules(teams, NO_ESCALATION)
    ledger = ledger_for(platform)
    async with httpx.AsyncClient(base_url=platform.url("notification-service"), timeout=10) as client:
        for number in range(profile.slow_notifications):
            body = {"incident_id": str(uuid.uuid4()), "channel": "webhook", "recipient": platform.slow.url, "message": f"slow {number}"}
            response = await client.post("/api/v1/notify", json=body)
            if response.status_code != 201:
                raise RuntimeError(f"notify to the slow receiver: HTTP {response.status_code} {response.text[:200]}")
    await wait_for(lambda: platform.slow.requests > 0, 5)
    ledger.record(await alerts(platform, one_each(groups), profile.concurrency, count=len(groups)))
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    row.notes.append(
        f"pages and delay are the healthy receiver's; {profile.slow_notifications} notifications went to a receiver answering "
        f"1 byte/s (it was sent {platform.slow.requests} requests)"
    )
    return row


async def storm(platform: Platform, profile: Profile) -> Row:
    older = names("esc", profile.escalating)
    stormy = names("storm", profile.storm_services)
    await platform.create_schedules(older, ESCALATION_MINUTES)
    await platform.create_schedules(stormy, NO_ESCALATION)
    ledger = ledger_for(platform, headline_delay="escalation")
    ledger.record(await alerts(platform, one_each([(team, "critical") for team in older]), profile.concurrency, count=len(older)))
    await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    dues = escalations_due(platform, 1)
    # Move the clock to just before the first deadline: the older incidents fall due by themselves mid-storm.
    platform.clock.advance((min(due.deadline for due in dues) - platform.clock.now()).total_seconds() - STORM_DUE_AFTER)
    ledger.escalations += dues
    severities = ("critical", "high", "medium", "low")
    storm_groups = [(team, severities[i % 4]) for i, team in enumerate(stormy)]
    started = time.monotonic()
    ledger.record(await alerts(platform, one_each(storm_groups), 2 * profile.concurrency, count=profile.storm_alerts))
    storm_seconds = time.monotonic() - started
    row = await drain(ledger, platform.healthy.snapshot, seconds=profile.drain_seconds)
    row.notes.append(
        f"{profile.storm_alerts} alerts over {profile.storm_services} services in {storm_seconds:.1f} s "
        f"({profile.storm_alerts / storm_seconds:.0f}/s); {len(older)} older incidents fell due {STORM_DUE_AFTER} s into it"
    )
    return row


SCENARIOS = [
    Scenario("pg-restart", "PostgreSQL restart (fast shutdown + start) under alert load", pg_restart),
    Scenario("im-kill", "incident-management SIGKILLed under load, then restarted", incident_management_killed),
    Scenario("oncall-kill", "an oncall-service replica SIGKILLed mid-escalation (2 replicas)", oncall_killed),
    Scenario("notify-kill", "notification-service SIGKILLed with pages in flight, then restarted", notification_killed),
    Scenario("receiver-down", "webhook receiver down for 10 minutes of fast-forwarded time", receiver_down),
    Scenario("slow-receiver", "a receiver answering 1 byte/s next to a healthy one", slow_receiver),
    Scenario("storm", "alert storm while older incidents are due for escalation", storm),
]
