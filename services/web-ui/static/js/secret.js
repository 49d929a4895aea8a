// A secret shown once (an API token, an integration key): a clear "copy it now" warning, the value in
// a read-only field with a Copy button, optional set-up instructions, and Done, which removes it from
// the page. The platform stores only a hash, so this is the only time anyone sees it.

import { h } from "./dom.js";

async function copy(input, status) {
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = "Copied.";
  } catch {
    // No clipboard API (a plain-http origin): the value is selected for Ctrl+C / Cmd+C.
    status.textContent = "Selected: press Ctrl+C (Cmd+C) to copy.";
  }
}

/** Fill `box` with the secret; `snippet` (text) is shown under it as a code block when given. */
export function showSecret(box, { label, secret, snippet = null, snippetTitle = "" }) {
  const id = `${box.id}-value`;
  const input = h("input", { id, class: "secret-value", readonly: true, value: secret, spellcheck: "false", autocomplete: "off" });
  const status = h("span", { class: "sub", role: "status" });
  const done = () => { box.replaceChildren(); box.hidden = true; };
  box.replaceChildren(
    h("p", { class: "secret-warning" }, h("strong", {}, "Copy it now: "),
      `this ${label.toLowerCase()} is shown only this once. The platform keeps only a hash of it; if it is lost, revoke it and create another.`),
    h("label", { for: id }, label),
    h("div", { class: "secret-row" }, input,
      h("button", { type: "button", class: "primary", onclick: () => copy(input, status) }, "Copy"),
      h("button", { type: "button", onclick: done }, "Done"), status),
    ...(snippet ? [h("h3", { class: "snippet-title" }, snippetTitle), h("pre", { class: "snippet" }, h("code", {}, snippet))] : []),
  );
  box.hidden = false;
  input.focus();
  input.select();
}
