// Silences and maintenance windows: list them (refreshed every few seconds), add one, expire or end one
// (responders and admins), and the recently silenced alerts with the silence or window that caught each.
// POST / GET /api/v1/silences, DELETE /api/v1/silences/{id}; the same for /api/v1/maintenance-windows;
// GET /api/v1/alerts?status=silenced.

import { api, poll } from "./api.js";
import { $, badge, emptyRow, h, say, showState } from "./dom.js";
import { age, clock, matcherText, shortDateTime, timeElement } from "./format.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 5000;
const silenceForm = $("#silence-form");
const windowForm = $("#window-form");
let canRespond = false;
let refresher = null;

function windowWhen(window) {
  if (window.kind === "once") return `${shortDateTime(window.starts_at)} – ${shortDateTime(window.ends_at)}`;
  return `${window.weekdays.join(", ")} at ${window.start_time.slice(0, 5)} ${window.timezone}, ${window.duration_minutes} min`;
}

async function act(path, message, done) {
  try {
    await api(path, { method: "DELETE" });
    say(message, done);
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function silenceRow(silence) {
  return h("tr", { dataset: { silenceId: silence.id, state: silence.state } },
    h("td", { class: "title" }, silence.matchers.map(matcherText).join(", ")),
    h("td", {}, badge("silence", silence.state)),
    h("td", { class: "nowrap" }, timeElement(silence.ends_at, shortDateTime(silence.ends_at))),
    h("td", {}, silence.comment),
    h("td", {}, silence.created_by),
    h("td", {}, canRespond && silence.state !== "expired" ? h("button", {
      type: "button", "aria-label": `Expire silence ${silence.matchers.map(matcherText).join(", ")}`,
      onclick: () => act(`/api/v1/silences/${encodeURIComponent(silence.id)}`, $("#silence-message"), "Silence expired."),
    }, "Expire") : ""));
}

function windowRow(window) {
  const ended = window.ended_at !== null || (window.kind === "once" && new Date(window.ends_at) <= new Date());
  return h("tr", { dataset: { windowId: window.id } },
    h("td", { class: "title" }, window.name),
    h("td", {}, window.service),
    h("td", {}, windowWhen(window)),
    h("td", {}, ended ? "ended" : window.active ? "in maintenance" : "scheduled"),
    h("td", {}, window.created_by),
    h("td", {}, canRespond && !ended ? h("button", {
      type: "button", "aria-label": `End maintenance window ${window.name}`,
      onclick: () => act(`/api/v1/maintenance-windows/${encodeURIComponent(window.id)}`, $("#window-message"), "Window ended."),
    }, "End") : ""));
}

function silencedRow(alert, silences, windows) {
  let by = h("span", { class: "sub" }, "—");
  if (alert.silence_id) {
    const silence = silences.get(alert.silence_id);
    by = silence ? `Silence: ${silence.matchers.map(matcherText).join(", ")} (${silence.comment})` : `Silence ${alert.silence_id}`;
  } else if (alert.maintenance_window_id) {
    const window = windows.get(alert.maintenance_window_id);
    by = window ? `Maintenance: ${window.name}` : `Maintenance window ${alert.maintenance_window_id}`;
  }
  return h("tr", { dataset: { alertId: alert.alert_id } },
    h("td", { class: "nowrap" }, timeElement(alert.received_at, `${age(alert.received_at)} ago`)),
    h("td", {}, alert.service),
    h("td", {}, badge("sev", alert.severity)),
    h("td", {}, alert.message),
    h("td", { class: "silenced-by" }, by));
}

async function refresh() {
  try {
    const [silences, windows, silenced] = await Promise.all([
      api("/api/v1/silences?limit=100"), api("/api/v1/maintenance-windows?limit=100"), api("/api/v1/alerts?status=silenced&limit=20"),
    ]);
    $("tbody", $("#silences")).replaceChildren(...(silences.data.length ? silences.data.map(silenceRow) : [emptyRow(6, "No silences.")]));
    $("tbody", $("#windows")).replaceChildren(...(windows.data.length ? windows.data.map(windowRow) : [emptyRow(6, "No maintenance windows.")]));
    const byId = (items) => new Map(items.map((item) => [item.id, item]));
    $("tbody", $("#silenced")).replaceChildren(...(silenced.data.length
      ? silenced.data.map((alert) => silencedRow(alert, byId(silences.data), byId(windows.data)))
      : [emptyRow(5, "No silenced alerts.")]));
    showState($("#state"), "");
    $("#updated").textContent = `Updated ${clock()}`;
  } catch (err) {
    showState($("#state"), err.message, "error");
  }
}

silenceForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("#silence-message");
  const matchers = silenceForm.elements.matchers.value.split("\n").map((line) => line.trim()).filter(Boolean);
  const hours = Number(silenceForm.elements.hours.value);
  const body = { matchers, ends_at: new Date(Date.now() + hours * 3600 * 1000).toISOString(), comment: silenceForm.elements.comment.value.trim() };
  try {
    await api("/api/v1/silences", { method: "POST", body });
    silenceForm.reset();
    say(message, "Silence added.");
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
});

function showKind() {
  const kind = windowForm.elements.kind.value;
  for (const node of windowForm.querySelectorAll("[data-kind]")) node.hidden = node.dataset.kind !== kind;
}

windowForm.elements.kind.addEventListener("change", showKind);

windowForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = $("#window-message");
  const f = windowForm.elements;
  const body = { service: f.service.value.trim(), kind: f.kind.value };
  if (body.kind === "once") {
    if (!f.starts_at.value || !f.ends_at.value) {
      say(message, "Give the window a start and an end.", true);
      return;
    }
    body.starts_at = new Date(f.starts_at.value).toISOString();
    body.ends_at = new Date(f.ends_at.value).toISOString();
  } else {
    body.weekdays = [...windowForm.querySelectorAll("input[name=weekday]:checked")].map((box) => box.value);
    body.start_time = f.start_time.value;
    body.duration_minutes = Number(f.duration_minutes.value);
    body.timezone = f.timezone.value.trim();
  }
  try {
    await api("/api/v1/maintenance-windows", { method: "POST", body });
    windowForm.reset();
    f.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone;
    showKind();
    say(message, "Maintenance window added.");
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
});

session.then((me) => {
  canRespond = allows(me, "responder");
  silenceForm.hidden = !canRespond;
  windowForm.hidden = !canRespond;
  windowForm.elements.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone;
  refresher = poll(refresh, REFRESH_MS);
});
