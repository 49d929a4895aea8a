// Integrations (one key per alert source, which may only send alerts): create one (the key is shown
// once, with the receiver configuration for its kind) and revoke.
// POST / GET /api/v1/integrations, DELETE /api/v1/integrations/{id}.

import { api } from "./api.js";
import { $, emptyRow, h, say } from "./dom.js";
import { shortDateTime, timeElement } from "./format.js";
import { showSecret } from "./secret.js";

const form = $("#integration-form");
const message = $("#integration-message");
const KIND_LABELS = { alertmanager: "Alertmanager", grafana: "Grafana", pagerduty: "PagerDuty Events v2", generic: "Generic" };

/** How the alert source is set up to send with this key, through this gateway. */
function snippet(integration) {
  const origin = window.location.origin;
  const key = integration.key;
  switch (integration.kind) {
    case "alertmanager":
      return ["# alertmanager.yml", "receivers:", "  - name: incident-platform", "    webhook_configs:",
        `      - url: ${origin}/api/v1/alerts/alertmanager`, "        send_resolved: true", "        http_config:",
        "          authorization:", "            type: Bearer", `            credentials: ${key}`].join("\n");
    case "grafana":
      return ["Grafana → Alerting → Contact points → New → Integration: Webhook", `URL: ${origin}/api/v1/alerts/grafana`,
        "HTTP method: POST", "Optional settings → Authorization header scheme: Bearer",
        `Optional settings → Authorization header credentials: ${key}`].join("\n");
    case "pagerduty":
      return ["# Any PagerDuty Events API v2 client: change only its URL; the key is the routing key.",
        "# alertmanager.yml", "receivers:", "  - name: incident-platform", "    pagerduty_configs:",
        `      - url: ${origin}/v2/enqueue`, `        routing_key: ${key}`].join("\n");
    default:
      return [`curl -X POST ${origin}/api/v1/alerts \\`, `  -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
        `  -d '{"service":"${integration.service || "my-service"}","severity":"high","message":"Something is wrong"}'`].join("\n");
  }
}

async function revoke(integration) {
  try {
    await api(`/api/v1/integrations/${encodeURIComponent(integration.id)}`, { method: "DELETE" });
    say(message, `“${integration.name}” revoked: its key stops working within seconds.`);
  } catch (err) {
    say(message, err.message, true);
  }
  await refreshIntegrations();
}

function integrationRow(integration) {
  return h("tr", { dataset: { integrationId: integration.id } },
    h("td", { class: "title" }, integration.name),
    h("td", {}, KIND_LABELS[integration.kind] || integration.kind),
    h("td", {}, integration.service || h("span", { class: "sub" }, "any")),
    h("td", { class: "nowrap" }, timeElement(integration.created_at, shortDateTime(integration.created_at))),
    h("td", {}, integration.revoked_at ? "revoked" : "active"),
    h("td", {}, integration.revoked_at ? "" : h("button", {
      type: "button", onclick: () => revoke(integration), "aria-label": `Revoke integration ${integration.name}`,
    }, "Revoke")));
}

async function refreshIntegrations() {
  try {
    const { data } = await api("/api/v1/integrations");
    $("tbody", $("#integrations")).replaceChildren(...(data.length ? data.map(integrationRow) : [emptyRow(6, "No integrations yet.")]));
  } catch (err) {
    say(message, err.message, true);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { name: form.elements.name.value.trim(), kind: form.elements.kind.value };
  if (form.elements.service.value.trim()) body.service = form.elements.service.value.trim();
  if (!body.name) {
    say(message, "Give the integration a name (which alert source uses it).", true);
    return;
  }
  try {
    const { data } = await api("/api/v1/integrations", { method: "POST", body });
    form.reset();
    say(message, "");
    showSecret($("#integration-secret"), {
      label: "Integration key", secret: data.key, snippet: snippet(data), snippetTitle: `Set up ${KIND_LABELS[data.kind]}`,
    });
  } catch (err) {
    say(message, err.message, true);
  }
  await refreshIntegrations();
});

export function startIntegrations() {
  refreshIntegrations();
}
