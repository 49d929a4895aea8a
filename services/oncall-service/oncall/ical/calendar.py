"""Shifts as an RFC 5545 calendar, written with the icalendar library: pure, no I/O.

One VEVENT per stretch in which the primary does not change (what the shifts API lists). Its UID is
derived from the team and the stretch's start, so it is the same on every fetch and a client updates
the event in place when an override later moves its end. Times are UTC (`DTSTART:20270327T080000Z`);
the events are transparent (being on call does not make anyone busy).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from icalendar import Calendar, Event, vDuration

from oncall import rotation

PRODID = "-//Incident Platform//On-call schedules//EN"
MEDIA_TYPE = "text/calendar; charset=utf-8"
REFRESH = timedelta(hours=1)
_UID_NAMESPACE = UUID("6d2a0f3e-5b1c-4c6e-9a43-1f0e7c2b8d51")


def uid(team: str, shift: rotation.Shift) -> str:
    return f"{uuid5(_UID_NAMESPACE, f'{team}/{shift.start.isoformat()}')}@incident-platform"


def summary(team: str) -> str:
    return f"On call: {team} (primary)"


def _who(person: rotation.Person) -> str:
    return f"{person.name} <{person.email}>"


def _event(team: str, shift: rotation.Shift, *, title: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", uid(team, shift))
    event.add("dtstamp", now)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    event.add("summary", title)
    lines = [f"Primary: {_who(shift.primary)}", f"Secondary: {_who(shift.secondary)}"]
    if shift.overridden:
        lines.append("An override puts the primary in place for this stretch.")
    event.add("description", "\n".join(lines))
    event.add("transp", "TRANSPARENT")
    return event


def _calendar(name: str, events: Iterable[Event]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)  # RFC 7986
    calendar.add("x-wr-calname", name)  # the same for clients that predate RFC 7986
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()


def team_calendar(team: str, shifts: Iterable[rotation.Shift], *, now: datetime) -> bytes:
    """A team's feed: every stretch, titled with the team and the primary's name."""
    return _calendar(f"On call: {team}", (_event(team, s, title=f"{summary(team)}: {s.primary.name}", now=now) for s in shifts))


def user_calendar(name: str, shifts: Iterable[tuple[str, rotation.Shift]], *, now: datetime) -> bytes:
    """A person's feed: the (team, stretch) pairs in which they are primary."""
    return _calendar(f"On call: {name}", (_event(team, s, title=summary(team), now=now) for team, s in shifts))
