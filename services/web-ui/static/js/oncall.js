// On-call: for every team's schedule, who is primary and secondary right now and the upcoming shifts
// (GET /api/v1/schedules, /api/v1/oncall/current?team=, /api/v1/schedules/{team}/shifts).

import { api, poll, query } from "./api.js";
import { $, h, showState } from "./dom.js";
import { clock, shortDateTime, timeElement } from "./format.js";
import "./session.js";

const REFRESH_MS = 30000;
const UPCOMING_DAYS = 14;
const UPCOMING_MAX = 6;

function person(role, who, primary) {
  return h("div", { class: primary ? "person primary" : "person", dataset: { role } },
    h("p", { class: "role" }, role),
    h("p", { class: "name" }, who ? who.name : "nobody"),
    who && who.email ? h("p", { class: "email" }, who.email) : null);
}

function shiftsTable(shifts) {
  if (!shifts.length) return h("p", { class: "sub" }, `No shifts in the next ${UPCOMING_DAYS} days.`);
  return h("table", { class: "table shifts" },
    h("caption", { class: "visually-hidden" }, "Upcoming shifts"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "Until"),
      h("th", { scope: "col" }, "Primary"), h("th", { scope: "col" }, "Secondary"))),
    h("tbody", {}, shifts.slice(0, UPCOMING_MAX).map((shift) => h("tr", {},
      h("td", { class: "nowrap" }, timeElement(shift.start, shortDateTime(shift.start))),
      h("td", { class: "nowrap" }, timeElement(shift.end, shortDateTime(shift.end))),
      h("td", {}, shift.primary ? shift.primary.name : "—", shift.overridden ? " (override)" : ""),
      h("td", {}, shift.secondary ? shift.secondary.name : "—")))));
}

async function teamCard(schedule) {
  const team = schedule.team;
  const now = new Date();
  const until = new Date(now.getTime() + UPCOMING_DAYS * 86400000);
  const [current, shifts] = await Promise.allSettled([
    api(`/api/v1/oncall/current${query({ team })}`),
    api(`/api/v1/schedules/${encodeURIComponent(team)}/shifts${query({ from: now.toISOString(), until: until.toISOString() })}`),
  ]);
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
  if (shifts.status === "fulfilled") {
    const list = Array.isArray(shifts.value.data) ? shifts.value.data : shifts.value.data.shifts || [];
    body.push(shiftsTable(list.filter((shift) => Date.parse(shift.end) > Date.now())));
  } else {
    body.push(h("p", { class: "state error" }, `Upcoming shifts unavailable: ${shifts.reason.message}`));
  }
  return h("section", { class: "panel team", dataset: { team }, "aria-label": `On-call for ${team}` },
    h("h2", {}, team), h("p", { class: "sub" }, rotation), ...body);
}

async function refresh() {
  const banner = $("#page-error");
  const teams = $("#teams");
  try {
    const { data } = await api(`/api/v1/schedules${query({ limit: 200 })}`);
    const schedules = (Array.isArray(data) ? data : data.items || []).slice().sort((a, b) => a.team.localeCompare(b.team));
    const cards = await Promise.all(schedules.map(teamCard));
    teams.replaceChildren(...cards);
    banner.hidden = true;
    showState($("#state"), schedules.length ? "" : "No on-call schedules yet. Create one with POST /api/v1/schedules.");
    $("#updated").textContent = `Updated ${clock()} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    banner.textContent = err.message;
    banner.hidden = false;
    if (!teams.childElementCount) showState($("#state"), "On-call schedules cannot be shown right now.", "error");
    $("#updated").textContent = `Last attempt ${clock()} failed`;
  }
}

poll(refresh, REFRESH_MS);
