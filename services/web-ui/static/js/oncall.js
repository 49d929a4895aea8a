// On-call: for every team's schedule, who is primary and secondary right now, the upcoming shifts and the
// overrides; "My shifts" (where the logged-in person is primary, across every schedule) and, for
// responders, "Take a shift" (oncall-take.js): an override in their own name for a window they pick.
// GET /api/v1/schedules, /api/v1/oncall/current?team=, /api/v1/schedules/{team}/shifts and /overrides.

import { api, poll, query } from "./api.js";
import { $, h, showState } from "./dom.js";
import { clock, shortDateTime, timeElement } from "./format.js";
import { loadSchedules, samePerson } from "./directory.js";
import { fillTakeShift, overridesTable, setTakeTeams, startTakeShift } from "./oncall-take.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 30000;
const UPCOMING_DAYS = 14;
const UPCOMING_MAX = 6;
const SHIFTS_LIMIT = 200;

let me = null;
let canTake = false;
let refresher = null;

function person(role, who, primary) {
  return h("div", { class: primary ? "person primary" : "person", dataset: { role } },
    h("p", { class: "role" }, role),
    h("p", { class: "name" }, who ? who.name : "nobody"),
    who && who.email ? h("p", { class: "email" }, who.email) : null);
}

function takeButton(team, shift) {
  return h("button", { type: "button", "aria-label": `Take the shift of ${team} from ${shortDateTime(shift.start)}`,
    onclick: () => fillTakeShift(team, shift) }, "Take");
}

function shiftsTable(team, shifts) {
  if (!shifts.length) return h("p", { class: "sub" }, `No shifts in the next ${UPCOMING_DAYS} days.`);
  return h("table", { class: "table shifts" },
    h("caption", { class: "visually-hidden" }, `Upcoming shifts of ${team}`),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "Until"),
      h("th", { scope: "col" }, "Primary"), h("th", { scope: "col" }, "Secondary"),
      canTake ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
    h("tbody", {}, shifts.slice(0, UPCOMING_MAX).map((shift) => h("tr", {},
      h("td", { class: "nowrap" }, timeElement(shift.start, shortDateTime(shift.start))),
      h("td", { class: "nowrap" }, timeElement(shift.end, shortDateTime(shift.end))),
      h("td", {}, shift.primary ? shift.primary.name : "—", shift.overridden ? " (override)" : ""),
      h("td", {}, shift.secondary ? shift.secondary.name : "—"),
      canTake ? h("td", {}, samePerson(shift.primary, me) ? "" : takeButton(team, shift)) : null))));
}

/** Everything shown for one team; `shifts` is the team's upcoming stretches (or null when unavailable). */
async function loadTeam(schedule) {
  const team = schedule.team;
  const path = `/api/v1/schedules/${encodeURIComponent(team)}`;
  const now = new Date();
  const until = new Date(now.getTime() + UPCOMING_DAYS * 86400000);
  const [current, shifts, overrides] = await Promise.allSettled([
    api(`/api/v1/oncall/current${query({ team })}`),
    api(`${path}/shifts${query({ from: now.toISOString(), until: until.toISOString(), limit: SHIFTS_LIMIT })}`),
    api(`${path}/overrides${query({ limit: 100 })}`),
  ]);
  const upcoming = shifts.status === "fulfilled" ? shifts.value.data.filter((shift) => Date.parse(shift.end) > Date.now()) : null;
  return { schedule, current, upcoming, shiftsError: shifts.reason, overrides };
}

function teamCard({ schedule, current, upcoming, shiftsError, overrides }) {
  const team = schedule.team;
  const rotation = `${schedule.rotation_type} rotation · handoff ${schedule.handoff_time} ${schedule.timezone} · escalates after ${schedule.escalation_minutes} min`;
  const body = [];
  if (current.status === "fulfilled") {
    const oncall = current.value.data;
    body.push(h("div", { class: "people" }, person("Primary", oncall.primary, true), person("Secondary", oncall.secondary, false)));
    body.push(h("p", { class: "shift-window" }, "Current shift ", timeElement(oncall.shift_start, shortDateTime(oncall.shift_start)),
      " → ", timeElement(oncall.shift_end, shortDateTime(oncall.shift_end)), oncall.overridden ? " · primary covering by override" : ""));
  } else {
    body.push(h("p", { class: "state error", role: "alert" }, `Current on-call unknown: ${current.reason.message}`));
  }
  body.push(h("h3", {}, "Upcoming shifts"));
  body.push(upcoming ? shiftsTable(team, upcoming) : h("p", { class: "state error" }, `Upcoming shifts unavailable: ${shiftsError.message}`));
  if (overrides.status === "rejected") {
    body.push(h("p", { class: "state error" }, `Overrides unavailable: ${overrides.reason.message}`));
  } else if (overrides.value.data.length) {
    body.push(h("h3", {}, "Overrides"), overridesTable(team, overrides.value.data, canTake, () => refresher.now()));
  }
  return h("section", { class: "panel team", dataset: { team }, "aria-label": `On-call for ${team}` },
    h("h2", {}, team), h("p", { class: "sub" }, rotation), ...body);
}

function renderMyShifts(teams) {
  const mine = teams.flatMap(({ schedule, upcoming }) =>
    (upcoming || []).filter((shift) => samePerson(shift.primary, me)).map((shift) => ({ team: schedule.team, ...shift })));
  mine.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const body = $("#my-shifts-body");
  if (!mine.length) {
    body.replaceChildren(h("p", { class: "sub", id: "my-shifts-none" }, `You are not primary anywhere in the next ${UPCOMING_DAYS} days.`));
    return;
  }
  body.replaceChildren(h("table", { class: "table", id: "my-shifts-table" },
    h("caption", { class: "visually-hidden" }, "My upcoming shifts"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Team"), h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "Until"), h("th", { scope: "col" }, "How"))),
    h("tbody", {}, mine.map((shift) => h("tr", { dataset: { team: shift.team } },
      h("td", {}, shift.team),
      h("td", { class: "nowrap" }, timeElement(shift.start, shortDateTime(shift.start))),
      h("td", { class: "nowrap" }, timeElement(shift.end, shortDateTime(shift.end))),
      h("td", {}, shift.overridden ? "override" : "rotation"))))));
}

async function refresh() {
  const banner = $("#page-error");
  const teams = $("#teams");
  try {
    const schedules = await loadSchedules();
    const loaded = await Promise.all(schedules.map(loadTeam));
    teams.replaceChildren(...loaded.map(teamCard));
    if (me && me.email) renderMyShifts(loaded);
    if (canTake) setTakeTeams(schedules);
    banner.hidden = true;
    showState($("#state"), schedules.length ? "" : "No on-call schedules yet. An admin creates them on the Schedules page.");
    $("#updated").textContent = `Updated ${clock()} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    banner.textContent = err.message;
    banner.hidden = false;
    if (!teams.childElementCount) showState($("#state"), "On-call schedules cannot be shown right now.", "error");
    $("#updated").textContent = `Last attempt ${clock()} failed`;
  }
}

session.then((who) => {
  me = who;
  canTake = allows(me, "responder");
  $("#my-shifts").hidden = !(me && me.email);
  if (canTake) startTakeShift(me, () => refresher.now());
  refresher = poll(refresh, REFRESH_MS);
});
