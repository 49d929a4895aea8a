// Escalation policies: every policy with its steps, targets named (refreshed every half minute); admins
// create one, edit one (PUT: a policy is replaced whole) and delete one (asked again in place).
// POST / GET /api/v1/escalation-policies, PUT / DELETE /api/v1/escalation-policies/{id}.

import { api, poll, query } from "./api.js";
import { $, emptyRow, h, say, showState } from "./dom.js";
import { clock } from "./format.js";
import { loadSchedules, loadTeams, loadUsers } from "./directory.js";
import { stepsEditor } from "./policy-steps.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 30000;
const form = $("#policy-form");
const message = $("#policy-message");
const steps = stepsEditor();
let isAdmin = false;
let refresher = null;
let editing = null;  // the policy being edited, or null when adding
let userNames = new Map();

function targetText(target) {
  if (target.type === "user") return userNames.get(target.id) || `user ${target.id} (not found)`;
  if (target.type === "schedule") return `on call for ${target.id}`;
  return `everyone in team ${target.id}`;
}

function stepsList(policy) {
  return h("ol", { class: "policy-steps" }, policy.steps.map((step) => h("li", {},
    step.targets.map(targetText).join(", "), h("span", { class: "sub" }, ` · then ${step.delay_minutes} min`))));
}

function formBody() {
  const f = form.elements;
  return { name: f.name.value.trim(), team: f.team.value.trim() || null, repeat: Number(f.repeat.value), steps: steps.value() };
}

function problem(body) {
  if (!body.name) return "A policy needs a name.";
  if (!Number.isInteger(body.repeat) || body.repeat < 0 || body.repeat > 10) return "Repeat: a whole number from 0 to 10.";
  const s = body.steps.findIndex((step) => !Number.isInteger(step.delay_minutes) || step.delay_minutes < 0);
  if (s >= 0) return `Step ${s + 1}: the wait is a whole number of minutes (0 or more).`;
  const t = body.steps.findIndex((step) => step.targets.some((target) => !target.id));
  if (t >= 0) return `Step ${t + 1}: pick who each target is.`;
  return null;
}

function edit(policy) {
  editing = policy;
  const f = form.elements;
  f.name.value = policy.name;
  f.team.value = policy.team || "";
  f.repeat.value = policy.repeat;
  steps.set(policy.steps);
  $("#policy-form-title").textContent = `Edit the policy ${policy.name}`;
  $("#policy-submit").textContent = "Save policy";
  $("#policy-cancel").hidden = false;
  say(message, "");
  f.name.focus();
}

function stopEditing() {
  editing = null;
  form.reset();
  steps.reset();
  $("#policy-form-title").textContent = "Add a policy";
  $("#policy-submit").textContent = "Create policy";
  $("#policy-cancel").hidden = true;
}

async function save(event) {
  event.preventDefault();
  const body = formBody();
  const wrong = problem(body);
  if (wrong) {
    say(message, wrong, true);
    return;
  }
  try {
    if (editing) {
      await api(`/api/v1/escalation-policies/${encodeURIComponent(editing.id)}`, { method: "PUT", body });
      say(message, `Policy “${body.name}” saved; running escalations keep the version they started with.`);
    } else {
      await api("/api/v1/escalation-policies", { method: "POST", body });
      say(message, `Policy “${body.name}” created.`);
    }
    stopEditing();
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function controls(policy) {
  const cell = h("span", { class: "row-actions" });
  const ask = () => cell.replaceChildren(
    h("button", { type: "button", class: "danger", onclick: () => remove(policy) }, `Confirm delete ${policy.name}`),
    h("button", { type: "button", onclick: reset }, "Cancel"));
  const reset = () => cell.replaceChildren(
    h("button", { type: "button", "aria-label": `Edit policy ${policy.name}`, onclick: () => edit(policy) }, "Edit"),
    h("button", { type: "button", "aria-label": `Delete policy ${policy.name}`, onclick: ask }, "Delete"));
  reset();
  return cell;
}

async function remove(policy) {
  try {
    await api(`/api/v1/escalation-policies/${encodeURIComponent(policy.id)}`, { method: "DELETE" });
    say(message, `Policy “${policy.name}” deleted${policy.team ? `: ${policy.team} falls back to its schedule` : ""}.`);
    if (editing && editing.id === policy.id) stopEditing();
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function policyRow(policy) {
  return h("tr", { dataset: { policyId: policy.id } },
    h("td", { class: "title" }, policy.name),
    h("td", {}, policy.team || h("span", { class: "sub" }, "none")),
    h("td", { class: "title" }, stepsList(policy)),
    h("td", {}, policy.repeat ? `${policy.repeat} more round${policy.repeat > 1 ? "s" : ""}` : "once"),
    h("td", {}, isAdmin ? controls(policy) : ""));
}

async function refresh() {
  try {
    const { data } = await api(`/api/v1/escalation-policies${query({ limit: 500 })}`);
    $("tbody", $("#policies")).replaceChildren(...(data.length ? data.map(policyRow) : [emptyRow(5, "No escalation policies yet: every team escalates along its schedule.")]));
    $("#policies").hidden = false;
    showState($("#state"), "");
    $("#updated").textContent = `Updated ${clock()} · refreshes every ${REFRESH_MS / 1000} s`;
  } catch (err) {
    showState($("#state"), err.message, "error");
  }
}

/** Users, schedules and teams: to name targets in the list and to pick them in the editor. */
async function loadChoices() {
  const [users, schedules, teams] = await Promise.allSettled([loadUsers(), loadSchedules(), loadTeams()]);
  const value = (result) => (result.status === "fulfilled" ? result.value : []);
  const failed = [users, schedules, teams].find((result) => result.status === "rejected");
  if (failed) say(message, `Some choices cannot be listed: ${failed.reason.message}`, true);
  userNames = new Map(value(users).map((user) => [user.id, user.name]));
  $("#policy-teams").replaceChildren(...value(schedules).map((schedule) => h("option", { value: schedule.team })));
  return { users: value(users), schedules: value(schedules), teams: value(teams) };
}

form.addEventListener("submit", save);
$("#step-add").addEventListener("click", () => steps.add());
$("#policy-cancel").addEventListener("click", () => { stopEditing(); say(message, ""); });

session.then(async (me) => {
  isAdmin = allows(me, "admin");
  const choices = await loadChoices();
  refresher = poll(refresh, REFRESH_MS);
  if (!isAdmin) return;
  steps.setChoices(choices);
  steps.reset();
  $("#policy-editor").hidden = false;
});
