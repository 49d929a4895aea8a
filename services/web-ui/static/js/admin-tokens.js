// One user's API tokens: create one (the secret is shown once) and revoke.
// GET / POST /api/v1/users/{id}/tokens, DELETE /api/v1/users/{id}/tokens/{token_id}.

import { api } from "./api.js";
import { $, emptyRow, h, say } from "./dom.js";
import { shortDateTime, timeElement } from "./format.js";
import { showSecret } from "./secret.js";

const panel = $("#tokens-panel");
const form = $("#token-form");
const message = $("#token-message");
let owner = null;

function tokensPath(tokenId = "") {
  return `/api/v1/users/${encodeURIComponent(owner.id)}/tokens${tokenId ? `/${encodeURIComponent(tokenId)}` : ""}`;
}

async function revoke(token) {
  try {
    await api(tokensPath(token.id), { method: "DELETE" });
    say(message, `Token “${token.name}” revoked: it stops working within seconds.`);
  } catch (err) {
    say(message, err.message, true);
  }
  await refreshTokens();
}

function tokenRow(token) {
  return h("tr", { dataset: { tokenId: token.id } },
    h("td", { class: "title" }, token.name),
    h("td", { class: "nowrap" }, timeElement(token.created_at, shortDateTime(token.created_at))),
    h("td", {}, token.revoked_at ? "revoked" : "active"),
    h("td", {}, token.revoked_at ? "" : h("button", { type: "button", onclick: () => revoke(token), "aria-label": `Revoke token ${token.name}` }, "Revoke")));
}

async function refreshTokens() {
  try {
    const { data } = await api(tokensPath());
    $("tbody", $("#tokens")).replaceChildren(...(data.length ? data.map(tokenRow) : [emptyRow(4, "No tokens yet.")]));
  } catch (err) {
    say(message, err.message, true);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = form.elements.name.value.trim();
  if (!name) {
    say(message, "Give the token a name (what will use it).", true);
    return;
  }
  try {
    const { data } = await api(tokensPath(), { method: "POST", body: { name } });
    form.reset();
    say(message, "");
    showSecret($("#token-secret"), { label: "API token", secret: data.token });
  } catch (err) {
    say(message, err.message, true);
  }
  await refreshTokens();
});

$("#tokens-close").addEventListener("click", () => {
  panel.hidden = true;
  $("#token-secret").replaceChildren();
  $("#token-secret").hidden = true;
});

/** Show `user`'s tokens in the tokens panel and move there. */
export function openTokens(user) {
  owner = user;
  $("#tokens-user").textContent = user.name;
  $("#token-secret").hidden = true;
  $("#token-secret").replaceChildren();
  say(message, "");
  panel.hidden = false;
  refreshTokens();
  form.elements.name.focus();
}
