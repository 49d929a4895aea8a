// Heartbeats: every heartbeat with its state (up / late / down) and last ping, refreshed every few
// seconds; admins create one (the ping URL, which carries its secret, is shown once, with how to wire
// a cron job and Alertmanager's Watchdog to it) and delete one (asked twice).
// POST / GET /api/v1/heartbeats, DELETE /api/v1/heartbeats/{id}.

import { api, poll } from "./api.js";
import { $, emptyRow, h, say, showState } from "./dom.js";
import { age, clock, duration, timeElement } from "./format.js";
import { showSecret } from "./secret.js";
import { allows, session } from "./session.js";

const REFRESH_MS = 5000;
const STATE_LABELS = { up: "Up", late: "Late", down: "Down" };
const form = $("#heartbeat-form");
const message = $("#heartbeat-message");
let isAdmin = false;
let refresher = null;

/** How a cron job and Alertmanager's Watchdog ping this heartbeat. */
function snippet(heartbeat) {
  const repeat = Math.max(1, Math.floor(heartbeat.interval_seconds / 2));
  return [`# A cron job: ping when it succeeds`, `curl -fsS -X POST '${heartbeat.ping_url}'`, "",
    "# alertmanager.yml: the always-firing Watchdog alert pings it; a dead Prometheus → Alertmanager chain pages",
    "route:", "  routes:", "    - matchers: [alertname=\"Watchdog\"]", "      receiver: heartbeat",
    "      group_wait: 0s", "      group_interval: 1s", `      repeat_interval: ${repeat}s`,
    "receivers:", "  - name: heartbeat", "    webhook_configs:", `      - url: '${heartbeat.ping_url}'`,
    "        send_resolved: false"].join("\n");
}

function deleteControls(heartbeat) {
  const cell = h("span", { class: "row-actions" });
  const ask = () => cell.replaceChildren(
    h("button", { type: "button", class: "danger", onclick: () => remove(heartbeat) }, `Confirm delete ${heartbeat.name}`),
    h("button", { type: "button", onclick: reset }, "Cancel"));
  const reset = () => cell.replaceChildren(
    h("button", { type: "button", onclick: ask, "aria-label": `Delete heartbeat ${heartbeat.name}` }, "Delete"));
  reset();
  return cell;
}

async function remove(heartbeat) {
  try {
    await api(`/api/v1/heartbeats/${encodeURIComponent(heartbeat.id)}`, { method: "DELETE" });
    say(message, `Heartbeat “${heartbeat.name}” deleted.`);
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
}

function heartbeatRow(heartbeat) {
  const lastPing = heartbeat.last_ping_at
    ? [timeElement(heartbeat.last_ping_at, `${age(heartbeat.last_ping_at)} ago`)]
    : [h("span", { class: "sub" }, "never")];
  return h("tr", { dataset: { heartbeatId: heartbeat.id, state: heartbeat.state } },
    h("td", { class: "title" }, heartbeat.name),
    h("td", {}, heartbeat.service),
    h("td", {}, h("span", { class: `badge hb-${heartbeat.state}` }, STATE_LABELS[heartbeat.state] || heartbeat.state)),
    h("td", { class: "nowrap" }, ...lastPing),
    h("td", { class: "nowrap" }, `${duration(heartbeat.interval_seconds)} + ${duration(heartbeat.grace_seconds)}`),
    h("td", {}, heartbeat.incident_id
      ? h("a", { href: `incident.html?id=${encodeURIComponent(heartbeat.incident_id)}` }, "Open incident")
      : h("span", { class: "sub" }, "—")),
    h("td", {}, isAdmin ? deleteControls(heartbeat) : ""));
}

async function refresh() {
  try {
    const { data } = await api("/api/v1/heartbeats?limit=500");
    $("tbody", $("#heartbeats")).replaceChildren(...(data.length ? data.map(heartbeatRow) : [emptyRow(7, "No heartbeats yet.")]));
    $("#heartbeats").hidden = false;
    showState($("#state"), "");
    $("#updated").textContent = `Updated ${clock()}`;
  } catch (err) {
    showState($("#state"), err.message, "error");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    name: form.elements.name.value.trim(),
    service: form.elements.service.value.trim(),
    interval_seconds: Number(form.elements.interval_seconds.value),
    grace_seconds: Number(form.elements.grace_seconds.value),
    severity: form.elements.severity.value,
  };
  if (!body.name || !body.service) {
    say(message, "Give the heartbeat a name and the service whose incident it opens.", true);
    return;
  }
  try {
    const { data } = await api("/api/v1/heartbeats", { method: "POST", body });
    form.reset();
    say(message, `Heartbeat “${data.name}” created: its first ping is due within ${duration(data.interval_seconds + data.grace_seconds)}.`);
    showSecret($("#heartbeat-secret"), {
      label: "Ping URL", secret: data.ping_url, snippet: snippet(data), snippetTitle: "Ping it",
    });
  } catch (err) {
    say(message, err.message, true);
  }
  refresher.now();
});

session.then((me) => {
  isAdmin = allows(me, "admin");
  $("#heartbeat-create").hidden = !isAdmin;
  refresher = poll(refresh, REFRESH_MS);
});
