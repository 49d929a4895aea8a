// Building the page safely: every piece of data enters the DOM as text (textContent / attributes),
// never as HTML. No module of the UI uses innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function applyProps(node, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) {
      if (typeof value !== "function") throw new Error(`event handler ${key} must be a function`);
      node.addEventListener(key.slice(2), value);
    }
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

/** h("a", {href: "...", class: "x"}, "text", childNode, [more]) → an HTML element. */
export function h(tag, props, ...children) {
  return append(applyProps(document.createElement(tag), props), children);
}

/** The same for SVG elements. */
export function s(tag, props, ...children) {
  return append(applyProps(document.createElementNS(SVG_NS, tag), props), children);
}

export function $(selector, root = document) {
  const node = root.querySelector(selector);
  if (!node) throw new Error(`missing element ${selector}`);
  return node;
}

/** Show a message in a state box (loading / empty / error); an empty message hides it. */
export function showState(node, message, kind = "info") {
  node.textContent = message || "";
  node.classList.toggle("error", kind === "error");
  node.hidden = !message;
}

/** A one-line message (role="status" / "alert" in the page): text, marked as an error or not. */
export function say(node, message, isError = false) {
  node.textContent = message;
  node.classList.toggle("error", isError);
}

/** A table row saying the table is empty, across its `columns`. */
export function emptyRow(columns, text) {
  return h("tr", {}, h("td", { colspan: columns, class: "sub" }, text));
}

export function badge(kind, value) {
  const label = kind === "st" ? statusLabel(value) : String(value);
  return h("span", { class: `badge ${kind}-${value}` }, label);
}

const STATUS_LABELS = { open: "Open", acknowledged: "Acknowledged", in_progress: "In progress", resolved: "Resolved" };
export function statusLabel(status) {
  return STATUS_LABELS[status] || String(status).replaceAll("_", " ");
}

export const SEVERITIES = ["critical", "high", "medium", "low"];
export const STATUSES = ["open", "acknowledged", "in_progress", "resolved"];
