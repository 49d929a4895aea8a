"""What incident-management asks oncall-service before it pages: who is on call for a team (SPEC §5)
and how a person is paged (their delivery plan, SPEC §12). One item is one request to the single route;
several are one request to the batch route, whatever their number (up to its limit per request)."""

from dataclasses import dataclass
from typing import Any

import httpx

from platform_common.http import PeerUnavailable, ServiceClient
from platform_common.recipients import is_email

MAX_PER_LOOKUP = 100  # teams or people per batch request (oncall-service takes 200; this keeps URLs short)


@dataclass(frozen=True)
class OnCall:
    name: str
    email: str | None

    @property
    def address(self) -> str:
        return self.email or self.name


@dataclass(frozen=True)
class Plan:
    """How oncall-service says to page a person: as a platform user on their contact methods, or not."""

    user_id: str | None = None
    name: str | None = None
    steps: tuple[dict[str, Any], ...] = ()


def lookup_primary(oncall: ServiceClient, team: str) -> OnCall | None:
    """The team's current primary; None when the team has no schedule. Raises PeerUnavailable."""
    response = oncall.get("/api/v1/oncall/current", params={"team": team})
    if response.status_code == 404:
        return None
    return _primary(_ok(response, "the on-call"))


def lookup_primaries(oncall: ServiceClient, teams: set[str]) -> dict[str, OnCall | None]:
    """Each team's current primary (None: no schedule). Raises PeerUnavailable."""
    if len(teams) == 1:
        (team,) = teams
        return {team: lookup_primary(oncall, team)}
    found: dict[str, OnCall | None] = dict.fromkeys(teams)
    for chunk in _chunks(teams):
        response = oncall.get("/api/v1/oncall", params=[("team", team) for team in chunk])
        found.update((entry["team"], _primary(entry)) for entry in _ok(response, "the on-call"))
    return found


def lookup_plans(oncall: ServiceClient, addresses: set[str]) -> dict[str, Plan]:
    """Each address's delivery plan; an address that is not an email, or an oncall-service without
    people (404), has none: page it on PAGE_CHANNELS. Raises PeerUnavailable."""
    plans = dict.fromkeys(addresses, Plan())
    emails = {address for address in addresses if is_email(address)}
    if len(emails) == 1:
        (email,) = emails
        response = oncall.get("/api/v1/people/delivery-plan", params={"email": email})
        if response.status_code != 404:
            plans[email] = _plan(_ok(response, "the delivery plan"))
        return plans
    for chunk in _chunks(emails):
        response = oncall.get("/api/v1/people/delivery-plans", params=[("email", email) for email in chunk])
        if response.status_code != 404:
            plans.update((email, _plan(answer)) for email, answer in zip(chunk, _ok(response, "the delivery plans"), strict=True))
    return plans


def _chunks(items: set[str]) -> list[list[str]]:
    ordered = sorted(items)
    return [ordered[start : start + MAX_PER_LOOKUP] for start in range(0, len(ordered), MAX_PER_LOOKUP)]


def _ok(response: httpx.Response, what: str) -> Any:
    if response.status_code != 200:
        raise PeerUnavailable(f"oncall-service answered {response.status_code} for {what}")
    return response.json()


def _primary(on_call: dict[str, Any] | None) -> OnCall | None:
    primary = (on_call or {}).get("primary") or {}
    if not primary.get("name"):
        return None
    return OnCall(name=primary["name"], email=primary.get("email"))


def _plan(answer: dict[str, Any]) -> Plan:
    return Plan(answer["user_id"], answer["name"], tuple(answer["plan"]))
