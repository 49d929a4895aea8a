// "Take a shift" on the on-call page: a responder picks a team and a window and covers it as primary
// through an override in their own name (name and email from /auth/me; an anonymous caller of the local
// profile types them). Also a team's overrides as a table, each deletable by responders.
// POST / DELETE /api/v1/schedules/{team}/overrides.

import { api } from "./api.js";
import { $, h, say } from "./dom.js";
import { shortDateTime, timeElement } from "./format.js";
import { localInputValue } from "./directory.js";

const DEFAULT_HOURS = 8;
const form = $("#take-form");
const message = $("#take-message");

/** Turns the form on for `me`; `changed()` runs after an override was added or deleted. */
export function startTakeShift(me, changed) {
  const typed = !me || !me.email;  // nobody to take it for: ask who
  $("#take-name-field").hidden = !typed;
  $("#take-email-field").hidden = !typed;
  $("#take-who").textContent = typed
    ? "Name the person who covers: you are not logged in as a user."
    : `You (${me.name}, ${me.email}) become the primary for the window. Times are in your browser's time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`;
  const now = new Date();
  now.setSeconds(0, 0);
  form.elements.from.value = localInputValue(now);
  form.elements.until.value = localInputValue(new Date(now.getTime() + DEFAULT_HOURS * 3600000));
  $("#take-shift").hidden = false;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const team = f.team.value;
    const start = new Date(f.from.value);
    const end = new Date(f.until.value);
    const who = typed ? { name: f.name.value.trim(), email: f.email.value.trim() } : { name: me.name, email: me.email };
    const wrong = !team ? "Pick a team."
      : Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) ? "Give the window's start and end."
      : end <= start ? "The window must end after it starts."
      : !who.name || !who.email ? "Give the covering person's name and email." : null;
    if (wrong) {
      say(message, wrong, true);
      return;
    }
    try {
      await api(`/api/v1/schedules/${encodeURIComponent(team)}/overrides`, {
        method: "POST", body: { ...who, start: start.toISOString(), end: end.toISOString() },
      });
      say(message, `${who.name} is primary for ${team} from ${shortDateTime(start.toISOString())} until ${shortDateTime(end.toISOString())}.`);
    } catch (err) {
      say(message, err.message, true);
    }
    changed();
  });
}

/** The team picker follows the schedules on every refresh, keeping what was picked. */
export function setTakeTeams(schedules) {
  const select = form.elements.team;
  const picked = select.value;
  select.replaceChildren(...schedules.map((schedule) => h("option", { value: schedule.team, selected: schedule.team === picked }, schedule.team)));
}

/** Put a shift's team and window in the form, ready to take. */
export function fillTakeShift(team, shift) {
  const f = form.elements;
  f.team.value = team;
  f.from.value = localInputValue(new Date(shift.start));
  f.until.value = localInputValue(new Date(shift.end));
  say(message, `The shift of ${team} from ${shortDateTime(shift.start)} is in the form: take it, or change the window first.`);
  $("#take-submit").focus();
}

function deleteControls(team, override, changed) {
  const cell = h("span", { class: "row-actions" });
  const label = `${override.name} ${shortDateTime(override.start)}`;
  const remove = async () => {
    try {
      await api(`/api/v1/schedules/${encodeURIComponent(team)}/overrides/${encodeURIComponent(override.id)}`, { method: "DELETE" });
      say(message, `Override of ${override.name} for ${team} deleted.`);
    } catch (err) {
      say(message, err.message, true);
    }
    changed();
  };
  const ask = () => cell.replaceChildren(
    h("button", { type: "button", class: "danger", onclick: remove }, `Confirm delete override ${label}`),
    h("button", { type: "button", onclick: reset }, "Cancel"));
  const reset = () => cell.replaceChildren(h("button", { type: "button", onclick: ask, "aria-label": `Delete override ${label}` }, "Delete"));
  reset();
  return cell;
}

/** A team's current and coming overrides; `canDelete` offers Delete. */
export function overridesTable(team, overrides, canDelete, changed) {
  return h("table", { class: "table overrides" },
    h("caption", { class: "visually-hidden" }, `Overrides of ${team}`),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Covering"), h("th", { scope: "col" }, "From"), h("th", { scope: "col" }, "Until"),
      h("th", { scope: "col" }, "Actions"))),
    h("tbody", {}, overrides.map((override) => h("tr", { dataset: { overrideId: override.id } },
      h("td", {}, override.name),
      h("td", { class: "nowrap" }, timeElement(override.start, shortDateTime(override.start))),
      h("td", { class: "nowrap" }, timeElement(override.end, shortDateTime(override.end))),
      h("td", {}, canDelete ? deleteControls(team, override, changed) : "")))));
}
