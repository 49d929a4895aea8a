// My profile: the logged-in user's contact methods (add, delete, send a test page) and notification
// rules (add, delete). GET / POST /api/v1/users/{me}/contact-methods, DELETE …/{id}, POST …/{id}/test,
// GET / POST /api/v1/users/{me}/notification-rules, DELETE …/{id}. An anonymous caller has no profile.

import { api } from "./api.js";
import { $, emptyRow, h, say, showState } from "./dom.js";
import { shortDateTime, timeElement } from "./format.js";
import { session } from "./session.js";

const TYPE_LABELS = { email: "Email", webhook: "Webhook", apprise: "Apprise" };
const PLACEHOLDERS = { email: "you@example.org", webhook: "https://hooks.slack.com/services/…", apprise: "ntfy://ntfy.example.org/my-pager" };
const methodForm = $("#method-form");
const ruleForm = $("#rule-form");
const methodMessage = $("#method-message");
const ruleMessage = $("#rule-message");
let me = null;
let methods = [];

function path(kind, id = "", action = "") {
  const base = `/api/v1/users/${encodeURIComponent(me.id)}/${kind}`;
  return base + (id ? `/${encodeURIComponent(id)}` : "") + (action ? `/${action}` : "");
}

function describe(method) {
  return method ? `${TYPE_LABELS[method.type]}: ${method.address}` : "a deleted contact method";
}

async function testPage(method) {
  try {
    await api(path("contact-methods", method.id, "test"), { method: "POST" });
    say(methodMessage, `Test page sent to ${describe(method)}. It should arrive within a minute.`);
  } catch (err) {
    say(methodMessage, err.message, true);
  }
}

async function deleteMethod(method) {
  try {
    await api(path("contact-methods", method.id), { method: "DELETE" });
    say(methodMessage, `Deleted ${describe(method)} and its rules.`);
  } catch (err) {
    say(methodMessage, err.message, true);
  }
  await refresh();
}

async function deleteRule(rule) {
  try {
    await api(path("notification-rules", rule.id), { method: "DELETE" });
    say(ruleMessage, "Rule deleted.");
  } catch (err) {
    say(ruleMessage, err.message, true);
  }
  await refresh();
}

function methodRow(method) {
  const label = describe(method);
  return h("tr", { dataset: { methodId: method.id } },
    h("td", {}, TYPE_LABELS[method.type]),
    h("td", { class: "title" }, method.address),
    h("td", { class: "nowrap" }, timeElement(method.created_at, shortDateTime(method.created_at))),
    h("td", { class: "nowrap" },
      h("button", { type: "button", onclick: () => testPage(method), "aria-label": `Send test page to ${label}` }, "Send test page"),
      " ",
      h("button", { type: "button", onclick: () => deleteMethod(method), "aria-label": `Delete ${label}` }, "Delete")));
}

function ruleRow(rule) {
  const method = methods.find((m) => m.id === rule.contact_method_id);
  const after = rule.delay_minutes ? `${rule.delay_minutes} min` : "at once";
  return h("tr", { dataset: { ruleId: rule.id } },
    h("td", { class: "title" }, describe(method)),
    h("td", {}, after),
    h("td", {}, h("button", { type: "button", onclick: () => deleteRule(rule), "aria-label": `Delete the rule ${describe(method)} ${after}` }, "Delete")));
}

async function refresh() {
  try {
    const [{ data: found }, { data: rules }] = await Promise.all([api(path("contact-methods")), api(path("notification-rules"))]);
    methods = found;
    $("tbody", $("#methods")).replaceChildren(...(methods.length ? methods.map(methodRow) : [emptyRow(4, "No contact methods yet: pages go to the platform's default channels.")]));
    $("tbody", $("#rules")).replaceChildren(...(rules.length ? rules.map(ruleRow) : [emptyRow(3, "No rules: every contact method is notified at once.")]));
    $("#rule-method").replaceChildren(...methods.map((m) => h("option", { value: m.id }, describe(m))));
    ruleForm.querySelector("button[type=submit]").disabled = methods.length === 0;
  } catch (err) {
    showState($("#profile-state"), err.message, "error");
  }
}

$("#method-type").addEventListener("change", (event) => {
  $("#method-address").placeholder = PLACEHOLDERS[event.currentTarget.value];
});

methodForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { type: methodForm.elements.type.value, address: methodForm.elements.address.value.trim() };
  try {
    await api(path("contact-methods"), { method: "POST", body });
    methodForm.elements.address.value = "";
    say(methodMessage, `Added ${describe(body)}. Send yourself a test page to check it.`);
  } catch (err) {
    say(methodMessage, err.message, true);
  }
  await refresh();
});

ruleForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { contact_method_id: ruleForm.elements.contact_method_id.value, delay_minutes: Number(ruleForm.elements.delay_minutes.value) };
  try {
    await api(path("notification-rules"), { method: "POST", body });
    say(ruleMessage, "Rule added.");
  } catch (err) {
    say(ruleMessage, err.message, true);
  }
  await refresh();
});

session.then((found) => {
  if (found === null || found.kind !== "user") {
    showState($("#profile-state"), "Log in to manage your contact methods and notification rules: only a platform user has a profile.", "error");
    return;
  }
  me = found;
  showState($("#profile-state"), "");
  $("#profile").hidden = false;
  refresh();
});
