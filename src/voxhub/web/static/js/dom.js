// Building the page from elements and text nodes only: no string ever becomes HTML here
// (the page also requires Trusted Types, so an HTML sink would throw).

/** An element: h("button", {class: "ghost", onclick: f}, "Text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what `el` holds. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field; `input` gets an id tied to its label. */
let ids = 0;
export function field(labelText, input, hint) {
  input.id ||= `f${++ids}`;
  const hintEl = hint ? h("p", { class: "hint", id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, labelText), input, hintEl);
}

/** A modal dialog, removed from the page once closed. */
export function dialog(title, ...content) {
  const d = h("dialog", { "aria-label": title }, h("h2", {}, title), ...content);
  document.body.append(d);
  d.addEventListener("close", () => d.remove());
  d.showModal();
  return d;
}

/** Ask before something that cannot be undone; `work` runs on yes, then the dialog closes. */
export function confirmDialog(title, text, yesLabel, work) {
  const yes = h("button", { type: "button", class: "danger" }, yesLabel);
  const d = dialog(title, h("p", {}, text),
    h("div", { class: "actions" }, yes, h("button", { type: "button", class: "ghost", onclick: () => d.close() }, "Keep it")));
  yes.addEventListener("click", busy(yes, async () => { await work(); d.close(); }));
  return d;
}

/** A table that scrolls sideways inside its card on a narrow screen (keyboard too). */
export function scrollTable(label, ...children) {
  return h("div", { class: "scroll", role: "region", "aria-label": label, tabindex: "0" },
    h("table", {}, ...children));
}

export function toast(message, bad = false) {
  const el = h("div", { class: bad ? "toast bad" : "toast" }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), bad ? 7000 : 3500);
}

export function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  return `${Number(s).toFixed(1)} s`;
}

export function fmtDate(iso) {
  return new Date(iso).toLocaleString();
}

/** A button that is disabled while `work` runs, and shows failures in words. */
export function busy(button, work) {
  return async (event) => {
    event?.preventDefault?.();
    if (button.disabled) return;
    button.disabled = true;
    try {
      await work(event);
    } catch (err) {
      if (err.name !== "AbortError") toast(err.message || String(err), true);  // not if left
    } finally {
      button.disabled = false;
    }
  };
}
