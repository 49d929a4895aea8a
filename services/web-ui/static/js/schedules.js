// Schedules: every team's rotation (refreshed every half minute); admins create one (team, rotation,
// first handoff, handoff time and time zone, escalation minutes, members picked from the platform's users
// or typed), edit one (PATCH with only the fields changed, so whatever else the schedule holds, such as
// layers or escalation levels, stays as it is) and delete one (asked again in place).
// POST / GET /api/v1/schedules, PATCH / DELETE /api/v1/schedules/{team}.

import { api, poll } from "./api.js";
import { $, emptyRow, h, say, showState } from "./dom.js";
import { clock } from "./format.js";
import { loadSchedules, loadUsers } from "./directory.js";
import { memberBody, membersEditor } from "./schedule-members.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 30000;
const form = $("#schedule-form");
const message = $("#schedule-message");
const members = membersEditor(message);
let isAdmin = false;
let refresher = null;
let editing = null;  // the schedule being edited, or null when adding

/** The date of an instant in a time zone, as <input type="date"> wants it (YYYY-MM-DD). */
function dateIn(iso, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

function fillTimeZones() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  $("#time-zones").replaceChildren(...["UTC", ...zones.filter((zone) => zone !== "UTC")].map((zone) => h("option", { value: zone })));
}

function formFields() {
  const f = form.elements;
  return {
    team: f.team.value.trim(),
    rotation_type: f.rotation_type.value,
    start: f.start.value,
    handoff_time: f.handoff_time.value,
    timezone: f.timezone.value.trim(),
    escalation_minutes: Number(f.escalation_minutes.value),
    members: members.bodies(),
  };
}

function problem(fields) {
  if (!fields.team) return "A schedule needs a team.";
  if (!/^\d{2}:\d{2}$/.test(fields.handoff_time)) return "Give the handoff time as HH:MM.";
  if (!fields.timezone) return "Give the time zone, e.g. Europe/Berlin.";
  if (!Number.isInteger(fields.escalation_minutes) || fields.escalation_minutes < 1) return "Escalation minutes: a whole number, at least 1.";
  if (!fields.members.length) return "Add at least one member.";
  return null;
}

/** Only what differs from the schedule being edited. */
function changes(fields, schedule) {
  const change = {};
  for (const key of ["rotation_type", "handoff_time", "timezone", "escalation_minutes"]) {
    if (fields[key] !== schedule[key]) change[key] = fields[key];
  }
  if (fields.start && fields.start !== dateIn(schedule.start, schedule.timezone)) change.start = fields.start;
  if (JSON.stringify(fields.members) !== JSON.stringify(schedule.members.map(memberBody))) change.members = fields.members;
  return change;
}

function edit(schedule) {
  editing = schedule;
  const f = form.elements;
  f.team.value = schedule.team;
  f.team.readOnly = true;
  f.rotation_type.value = schedule.rotation_type;
  f.start.value = dateIn(schedule.start, schedule.timezone);
  f.handoff_time.value = schedule.handoff_time;
  f.timezone.value = schedule.timezone;
  f.escalation_minutes.value = schedule.escalation_minutes;
  members.set(schedule.members);
  $("#schedule-form-title").textContent = `Edit the schedule of ${schedule.team}`;
  $("#schedule-submit").textContent = "Save changes";
  $("#schedule-cancel").hidden = false;
  say(message, "");
  f.rotation_type.focus();
}

function stopEditing() {
  editing = null;
  form.reset();
  form.elements.team.readOnly = false;
  members.set([]);
  $("#schedule-form-title").textContent = "Add a schedule";
  $("#schedule-submit").textContent = "Create schedule";
  $("#schedule-cancel").hidden = true;
}

async function save(event) {
  event.preventDefault();
  const fields = formFields();
  const wrong = problem(fields);
  if (wrong) {
    say(message, wrong, true);
    return;
  }
  try {
    if (editing) {
      const change = changes(fields, editing);
      if (!Object.keys(change).length) {
        say(message, "Nothing changed.");
        return;
      }
      await api(`/api/v1/schedules/${encodeURIComponent(editing.team)}`, { method: "PATCH", body: change });
      say(message, `Schedule of ${editing.team} saved.`);
    } else {
      const { start, ...body } = fields;
      const { data } = await api("/api/v1/schedules", { method: "POST", body: start ? { ...body, start } : body });
      say(message, `Schedule of ${data.team} created.`);
    }
    stopEditing();
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function deleteControls(schedule) {
  const cell = h("span", { class: "row-actions" });
  const ask = () => cell.replaceChildren(
    h("button", { type: "button", class: "danger", onclick: () => remove(schedule) }, `Confirm delete ${schedule.team}`),
    h("button", { type: "button", onclick: reset }, "Cancel"));
  const reset = () => cell.replaceChildren(
    h("button", { type: "button", "aria-label": `Edit schedule ${schedule.team}`, onclick: () => edit(schedule) }, "Edit"),
    h("button", { type: "button", "aria-label": `Delete schedule ${schedule.team}`, onclick: ask }, "Delete"));
  reset();
  return cell;
}

async function remove(schedule) {
  try {
    await api(`/api/v1/schedules/${encodeURIComponent(schedule.team)}`, { method: "DELETE" });
    say(message, `Schedule of ${schedule.team} deleted, with its overrides.`);
    if (editing && editing.team === schedule.team) stopEditing();
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function scheduleRow(schedule) {
  const levels = schedule.escalation_levels.length;
  const layers = (schedule.layers || []).map((layer) => layer.name);
  return h("tr", { dataset: { team: schedule.team } },
    h("td", { class: "title" }, schedule.team),
    h("td", {}, `${schedule.rotation_type}, handoff ${schedule.handoff_time} ${schedule.timezone}`,
      layers.length ? h("span", { class: "sub" }, ` · layers on top: ${layers.join(", ")}`) : ""),
    h("td", { class: "title" }, h("ol", { class: "inline-list" }, schedule.members.map((m) => h("li", {}, m.name)))),
    h("td", {}, `secondary after ${schedule.escalation_minutes} min`, levels ? `, then ${levels} more level${levels > 1 ? "s" : ""}` : ""),
    h("td", {}, isAdmin ? deleteControls(schedule) : ""));
}

async function refresh() {
  try {
    const schedules = await loadSchedules();
    $("tbody", $("#schedules")).replaceChildren(...(schedules.length ? schedules.map(scheduleRow) : [emptyRow(5, "No schedules yet.")]));
    $("#schedules").hidden = false;
    showState($("#state"), "");
    $("#updated").textContent = `Updated ${clock()} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    showState($("#state"), err.message, "error");
  }
}

form.addEventListener("submit", save);
$("#schedule-cancel").addEventListener("click", () => { stopEditing(); say(message, ""); });

session.then(async (me) => {
  isAdmin = allows(me, "admin");
  refresher = poll(refresh, REFRESH_MS);
  if (!isAdmin) return;
  fillTimeZones();
  members.set([]);
  $("#schedule-editor").hidden = false;
  try {
    members.setUsers(await loadUsers());
  } catch (err) {
    members.setUsers([]);
    say(message, `Users cannot be listed (${err.message}); type members' names and emails instead.`, true);
  }
});
