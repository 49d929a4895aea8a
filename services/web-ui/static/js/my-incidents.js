// "My open incidents" on the dashboard: the unresolved incidents (open, acknowledged, in progress)
// assigned to the logged-in person. The incidents API has no assignee filter, so the newest
// LIMIT of each unresolved status are read and matched here on the assignee, which the pager and the
// escalation engine set to the person's name (an explicit assignment may use their email).

import { api, poll, query } from "./api.js";
import { $, badge, h, showState } from "./dom.js";
import { age, timeElement } from "./format.js";

const REFRESH_MS = 10000;
const ACTIVE = ["open", "acknowledged", "in_progress"];
const LIMIT = 100;

function assignedTo(incident, me) {
  const assignee = (incident.assigned_to || "").trim().toLowerCase();
  return assignee !== "" && (assignee === me.name.trim().toLowerCase() || assignee === (me.email || "").toLowerCase());
}

function row(incident, now) {
  return h("tr", { dataset: { incidentId: incident.id } },
    h("td", {}, badge("sev", incident.severity)),
    h("td", { class: "title" }, h("a", { href: `incident.html?id=${encodeURIComponent(incident.id)}` }, incident.title)),
    h("td", {}, incident.service),
    h("td", {}, badge("st", incident.status)),
    h("td", { class: "nowrap" }, timeElement(incident.created_at, age(incident.created_at, now))));
}

async function refresh(me) {
  const table = $("#mine-table");
  try {
    const pages = await Promise.all(ACTIVE.map((status) => api(`/api/v1/incidents${query({ status, limit: LIMIT })}`)));
    const mine = pages.flatMap((page) => page.data).filter((incident) => assignedTo(incident, me))
      .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    const partial = pages.some((page) => (page.total ?? 0) > LIMIT);
    const now = Date.now();
    $("tbody", table).replaceChildren(...mine.map((incident) => row(incident, now)));
    table.hidden = mine.length === 0;
    showState($("#mine-state"), mine.length ? "" : "Nothing assigned to you is unresolved.");
    $("#mine-note").textContent = partial ? `Among the newest ${LIMIT} incidents of each unresolved status.` : "";
  } catch (err) {
    showState($("#mine-state"), `Your incidents cannot be shown right now: ${err.message}`, "error");
  }
}

/** Shown for a person with an identity (not the anonymous caller of the local profile). */
export function startMyIncidents(me) {
  if (!me || me.kind !== "user") return;
  $("#mine-who").textContent = me.name;
  $("#mine").hidden = false;
  poll(() => refresh(me), REFRESH_MS);
}
