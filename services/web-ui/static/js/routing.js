// Routing rules: the ordered list (refreshed every few seconds); admins add, edit, move up / down and
// delete rules; anyone who may read tests an alert against them ("which rule, and what becomes of it").
// GET / POST /api/v1/routing-rules, PUT / DELETE /api/v1/routing-rules/{id}, POST /api/v1/routing-rules/test.

import { api, poll } from "./api.js";
import { $, emptyRow, h, say, showState } from "./dom.js";
import { clock, matcherText } from "./format.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 5000;
const form = $("#rule-form");
const message = $("#rule-message");
let isAdmin = false;
let refresher = null;
let editing = null;  // the rule being edited, or null when adding

function ruleBody(rule) {
  const keys = ["name", "matchers", "integration_id", "set_service", "set_severity", "drop"];
  return Object.fromEntries(keys.map((key) => [key, rule[key]]));
}

function actionText(rule) {
  if (rule.drop) return "drop";
  return [rule.set_service && `service → ${rule.set_service}`, rule.set_severity && `severity → ${rule.set_severity}`].filter(Boolean).join(", ");
}

async function send(path, options, done) {
  try {
    await api(path, options);
    say(message, done);
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function move(rule, position) {
  send(`/api/v1/routing-rules/${encodeURIComponent(rule.id)}`, { method: "PUT", body: { ...ruleBody(rule), position } },
    `“${rule.name}” is now rule ${position}.`);
}

function edit(rule) {
  editing = rule;
  const f = form.elements;
  f.name.value = rule.name;
  f.matchers.value = rule.matchers.map(matcherText).join("\n");
  f.action.value = rule.drop ? "drop" : "route";
  f.set_service.value = rule.set_service || "";
  f.set_severity.value = rule.set_severity || "";
  f.integration_id.value = rule.integration_id || "";
  $("#rule-form-title").textContent = `Edit rule ${rule.position}: ${rule.name}`;
  $("#rule-submit").textContent = "Save rule";
  $("#rule-cancel").hidden = false;
  f.name.focus();
}

function stopEditing() {
  editing = null;
  form.reset();
  $("#rule-form-title").textContent = "Add a rule";
  $("#rule-submit").textContent = "Add rule";
  $("#rule-cancel").hidden = true;
}

function controls(rule, count) {
  const path = `/api/v1/routing-rules/${encodeURIComponent(rule.id)}`;
  return h("span", { class: "row-actions" },
    h("button", { type: "button", disabled: rule.position === 1, "aria-label": `Move rule ${rule.name} up`, onclick: () => move(rule, rule.position - 1) }, "Up"),
    h("button", { type: "button", disabled: rule.position === count, "aria-label": `Move rule ${rule.name} down`, onclick: () => move(rule, rule.position + 1) }, "Down"),
    h("button", { type: "button", "aria-label": `Edit rule ${rule.name}`, onclick: () => edit(rule) }, "Edit"),
    h("button", { type: "button", "aria-label": `Delete rule ${rule.name}`, onclick: () => send(path, { method: "DELETE" }, `“${rule.name}” deleted.`) }, "Delete"));
}

function ruleRow(rule, count) {
  return h("tr", { dataset: { ruleId: rule.id } },
    h("td", {}, String(rule.position)),
    h("td", { class: "title" }, rule.name),
    h("td", {}, rule.matchers.map(matcherText).join(", ")),
    h("td", {}, actionText(rule)),
    h("td", {}, rule.integration_id || h("span", { class: "sub" }, "any")),
    h("td", {}, isAdmin ? controls(rule, count) : ""));
}

async function refresh() {
  try {
    const { data } = await api("/api/v1/routing-rules");
    $("tbody", $("#rules")).replaceChildren(...(data.length ? data.map((rule) => ruleRow(rule, data.length)) : [emptyRow(6, "No routing rules.")]));
    showState($("#state"), "");
    $("#updated").textContent = `Updated ${clock()}`;
  } catch (err) {
    showState($("#state"), err.message, "error");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = form.elements;
  const body = {
    name: f.name.value.trim(),
    matchers: f.matchers.value.split("\n").map((line) => line.trim()).filter(Boolean),
    integration_id: f.integration_id.value.trim() || null,
    drop: f.action.value === "drop",
    set_service: f.action.value === "drop" ? null : f.set_service.value.trim() || null,
    set_severity: f.action.value === "drop" ? null : f.set_severity.value || null,
  };
  if (editing) {
    await send(`/api/v1/routing-rules/${encodeURIComponent(editing.id)}`, { method: "PUT", body }, `“${body.name}” saved.`);
  } else {
    await send("/api/v1/routing-rules", { method: "POST", body }, `“${body.name}” added.`);
  }
  if (!message.classList.contains("error")) stopEditing();
});

$("#rule-cancel").addEventListener("click", stopEditing);

$("#test-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.currentTarget.elements;
  const labels = Object.fromEntries(f.labels.value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const at = line.indexOf("=");
    return at < 0 ? [line, ""] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
  }));
  const body = { service: f.service.value.trim(), severity: f.severity.value, message: f.message.value.trim(), labels };
  const result = $("#test-result");
  try {
    const { data } = await api("/api/v1/routing-rules/test", { method: "POST", body });
    const rule = data.rule ? `Rule “${data.rule.name}” applies.` : "No rule applies.";
    const outcome = {
      correlate: `It would be correlated as service ${data.alert.service}, severity ${data.alert.severity}.`,
      dropped: "It would be dropped: stored, never paged.",
      silenced: data.silence_id ? "It would be silenced by an active silence." : "It would be silenced by a maintenance window.",
    }[data.outcome];
    say(result, `${rule} ${outcome}`);
  } catch (err) {
    say(result, err.message, true);
  }
});

session.then((me) => {
  isAdmin = allows(me, "admin");
  form.hidden = !isAdmin;
  refresher = poll(refresh, REFRESH_MS);
});
