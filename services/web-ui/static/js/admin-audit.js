// The audit log: every change made on any service, newest first (who, with what role, which request,
// its outcome), filtered by actor, 50 at a time. GET /api/v1/audit?actor=&limit=&offset=.

import { api, poll, query } from "./api.js";
import { $, h, showState } from "./dom.js";
import { shortDateTime, timeElement } from "./format.js";

const REFRESH_MS = 15000;
const PAGE_SIZE = 50;
const form = $("#audit-form");
const state = { actor: "", offset: 0 };
let poller = null;

function entryRow(entry) {
  return h("tr", { dataset: { actor: entry.actor } },
    h("td", { class: "nowrap" }, timeElement(entry.at, shortDateTime(entry.at))),
    h("td", { class: "title" }, entry.actor, h("span", { class: "sub" }, ` (${entry.actor_kind})`)),
    h("td", {}, entry.role || "—"),
    h("td", { class: "title" }, h("code", {}, `${entry.method} ${entry.path}`)),
    h("td", {}, entry.status),
    h("td", {}, entry.service),
    h("td", { class: "title" }, entry.target || "—"));
}

async function refreshAudit() {
  const table = $("#audit");
  try {
    const { data, total } = await api(`/api/v1/audit${query({ actor: state.actor, limit: PAGE_SIZE, offset: state.offset })}`);
    $("tbody", table).replaceChildren(...data.map(entryRow));
    table.hidden = data.length === 0;
    showState($("#audit-state"), data.length ? "" : state.actor ? `Nothing recorded for “${state.actor}”.` : "Nothing recorded yet.");
    const count = total ?? data.length;
    $("#audit-info").textContent = data.length ? `${state.offset + 1}–${state.offset + data.length} of ${count}` : "";
    $("#audit-newer").disabled = state.offset === 0;
    $("#audit-older").disabled = state.offset + data.length >= count;
  } catch (err) {
    showState($("#audit-state"), err.message, "error");
  }
}

function show(actor, offset) {
  state.actor = actor;
  state.offset = offset;
  poller.now();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  show(form.elements.actor.value.trim(), 0);
});
$("#audit-clear").addEventListener("click", () => {
  form.reset();
  show("", 0);
});
$("#audit-newer").addEventListener("click", () => show(state.actor, Math.max(0, state.offset - PAGE_SIZE)));
$("#audit-older").addEventListener("click", () => show(state.actor, state.offset + PAGE_SIZE));

export function startAudit() {
  poller = poll(refreshAudit, REFRESH_MS);
}
