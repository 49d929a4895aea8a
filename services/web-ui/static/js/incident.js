// Incident detail: status, assignee, MTTA / MTTR, timeline, linked alerts; Acknowledge / Start work /
// Resolve / Reopen and notes through PATCH /api/v1/incidents/{id}. Refreshes every few seconds so that
// escalations and changes by others appear by themselves. Acting is offered to responders and admins
// only; a logged-in user acts under their own name (the services write the identity on the timeline),
// only the anonymous caller of the local profile types one.

import { api, poll, query } from "./api.js";
import { $, badge, h, say, showState } from "./dom.js";
import { clock, duration, shortDateTime, timeElement } from "./format.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 5000;
const NAME_KEY = "incident-platform.name";
// Which buttons a status allows: the lifecycle moves forward only; resolved can be reopened.
const ALLOWED = {
  open: ["acknowledged", "in_progress", "resolved"],
  acknowledged: ["in_progress", "resolved"],
  in_progress: ["resolved"],
  resolved: ["open"],
};
const EVENT_LABELS = {
  created: "Created",
  assigned: "Assigned",
  acknowledged: "Acknowledged",
  in_progress: "Work started",
  resolved: "Resolved",
  reopened: "Reopened",
  note: "Note",
  escalated: "Escalated",
};

const incidentId = new URLSearchParams(window.location.search).get("id");
const path = `/api/v1/incidents/${encodeURIComponent(incidentId || "")}`;
const buttons = ["#ack", "#start", "#resolve", "#reopen"].map((selector) => $(selector));
let current = null;
let busy = false;
let signedIn = false;  // a user's session: the services name them, no name field

// One remembered name for actions and notes (this browser only).
const actorInput = $("#actor");
const authorInput = $("#note-author");
actorInput.value = authorInput.value = window.localStorage.getItem(NAME_KEY) || "";
for (const input of [actorInput, authorInput]) {
  input.addEventListener("change", () => {
    const name = input.value.trim();
    window.localStorage.setItem(NAME_KEY, name);
    if (!actorInput.value.trim()) actorInput.value = name;
    if (!authorInput.value.trim()) authorInput.value = name;
  });
}

function eventLabel(kind) {
  return EVENT_LABELS[kind] || kind.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

function timelineItem(event) {
  return h("li", { class: `kind-${event.kind}`, dataset: { kind: event.kind } },
    h("div", { class: "event-head" },
      h("span", { class: "event-kind" }, eventLabel(event.kind)),
      h("span", { class: "event-meta" }, "by ", event.actor, " · ", timeElement(event.created_at))),
    h("p", { class: "event-text" }, event.message));
}

function alertRow(alert) {
  const labels = Object.entries(alert.labels || {}).map(([k, v]) => h("span", { class: "label" }, `${k}=${v}`));
  return h("tr", {},
    h("td", { class: "nowrap" }, timeElement(alert.received_at, shortDateTime(alert.received_at))),
    h("td", {}, badge("sev", alert.severity)),
    h("td", { class: "title" }, alert.message, labels.length ? h("div", { class: "labels" }, labels) : null));
}

function render(incident) {
  current = incident;
  document.title = `${incident.title} · Incident Platform`;
  $("#title").textContent = incident.title;
  $("#severity").replaceChildren(badge("sev", incident.severity));
  $("#status").replaceChildren(badge("st", incident.status));
  $("#status").dataset.status = incident.status;
  $("#service").textContent = incident.service;
  $("#assignee").textContent = incident.assigned_to || "unassigned";
  $("#created").replaceChildren(timeElement(incident.created_at));
  $("#acknowledged").replaceChildren(incident.acknowledged_at ? timeElement(incident.acknowledged_at) : "—");
  $("#resolved").replaceChildren(incident.resolved_at ? timeElement(incident.resolved_at) : "—");
  $("#mtta").textContent = duration(incident.mtta_seconds);
  $("#mttr").textContent = duration(incident.mttr_seconds);
  $("#timeline").replaceChildren(...incident.timeline.map(timelineItem));

  const alerts = incident.alerts || [];
  const total = incident.alerts_total ?? alerts.length;
  // The detail carries the newest alerts only; the count is all of them.
  $("#alert-count").textContent = total > alerts.length ? `(newest ${alerts.length} of ${total})` : `(${total})`;
  $("tbody", $("#alerts")).replaceChildren(...[...alerts].reverse().map(alertRow));
  $("#alerts").hidden = alerts.length === 0;
  showState($("#alerts-state"), alerts.length ? "" : "No alerts linked (the incident was opened directly).");

  updateButtons();
  $("#incident").hidden = false;
  showState($("#load-state"), "");
}

function updateButtons() {
  const allowed = current ? ALLOWED[current.status] || [] : [];
  for (const button of buttons) {
    button.disabled = busy || !allowed.includes(button.dataset.target);
    button.hidden = button.dataset.target === "open" && current?.status !== "resolved";
  }
  $("#add-note").disabled = busy || !current;
}

async function change(body, messageNode, done) {
  busy = true;
  updateButtons();
  say(messageNode, "Saving…");
  try {
    await api(path, { method: "PATCH", body });
    say(messageNode, done);
    return true;
  } catch (err) {
    say(messageNode, err.message, true);
    return false;
  } finally {
    busy = false;
    await poller.now();
  }
}

/** The body's author: a signed-in user is named by the services, an anonymous caller by the form. */
function withAuthor(body, typed) {
  return signedIn ? body : { ...body, author: typed || "anonymous" };
}

for (const button of buttons) {
  button.addEventListener("click", () => {
    const body = withAuthor({ status: button.dataset.target }, actorInput.value.trim());
    change(body, $("#action-message"), `${button.textContent} recorded at ${clock()}.`);
  });
}

$("#note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = $("#note-body");
  const note = field.value.trim();
  if (!note) {
    say($("#note-message"), "Write something first.", true);
    field.focus();
    return;
  }
  const body = withAuthor({ note }, authorInput.value.trim() || actorInput.value.trim());
  if (await change(body, $("#note-message"), `Note added at ${clock()}.`)) field.value = "";
});

function pageRow(notification) {
  const when = notification.sent_at || notification.created_at;
  const status = notification.status === "failed" && notification.last_error
    ? `failed after ${notification.attempts} attempt(s): ${notification.last_error}`
    : notification.status === "pending" ? `pending (attempt ${notification.attempts})` : notification.status;
  return h("tr", {},
    h("td", { class: "nowrap" }, timeElement(when, shortDateTime(when))),
    h("td", {}, notification.channel),
    h("td", { class: "title" }, notification.recipient),
    h("td", {}, status));
}

/** The pages notification-service sent for this incident; its absence only affects this panel. */
async function refreshPages() {
  try {
    const { data } = await api(`/api/v1/notifications${query({ incident_id: incidentId, limit: 50 })}`);
    $("tbody", $("#pages")).replaceChildren(...data.map(pageRow));
    $("#pages").hidden = data.length === 0;
    showState($("#pages-state"), data.length ? "" : "Nobody has been paged for this incident.");
  } catch (err) {
    $("#pages").hidden = true;
    showState($("#pages-state"), err.message, "error");
  }
}

async function refresh() {
  refreshPages();
  const banner = $("#page-error");
  try {
    const { data } = await api(path);
    banner.hidden = true;
    render(data);
    $("#updated").textContent = `Updated ${clock()}`;
  } catch (err) {
    if (err.status === 404 || err.status === 422) {
      showState($("#load-state"), `No incident with id “${incidentId}”. It may have been deleted, or the link is wrong.`, "error");
      $("#incident").hidden = true;
      return;
    }
    banner.textContent = err.message;
    banner.hidden = false;
    if (!current) showState($("#load-state"), "The incident cannot be shown right now.", "error");
  }
}

/** Offer the Respond panel to those who may respond; name the signed-in user instead of asking. */
function showActions(me) {
  const mayRespond = allows(me, "responder");
  $("#respond").hidden = !mayRespond;
  $("#read-only").hidden = mayRespond;
  signedIn = me !== null && me.kind === "user";
  $("#actor-field").hidden = signedIn;
  $("#author-field").hidden = signedIn;
  $("#acting-as").hidden = !signedIn;
  if (signedIn) $("#acting-as").textContent = `Acting as ${me.name} (${me.role}).`;
}

session.then(showActions);

let poller = { now: async () => {} };
if (!incidentId) {
  showState($("#load-state"), "No incident chosen. Pick one from the incident list.", "error");
} else {
  poller = poll(refresh, REFRESH_MS);
}
