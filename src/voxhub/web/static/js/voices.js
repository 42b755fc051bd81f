// The voice library: search, filter, page, play, edit, delete, add a reference, export.
import { api, raw } from "./api.js";
import { busy, confirmDialog, dialog, field, fill, h, toast } from "./dom.js";
import { languageSelect } from "./add_voice.js";
import { consentStep } from "./consent.js";
import { reportView, statusPill } from "./report.js";

export function render(main, { app }) {
  const q = h("input", { type: "search", placeholder: "Name or description", maxlength: "200" });
  const language = languageSelect("", true);
  const kids = h("select", {}, [["", "All ages"], ["false", "Adult voices"], ["true", "Kids' voices"]]
    .map(([v, l]) => h("option", { value: v }, l)));
  const tag = h("input", { type: "text", maxlength: "40", placeholder: "e.g. narrator" });
  const mine = h("select", {}, [["false", "Mine and public"], ["true", "Only mine"]]
    .map(([v, l]) => h("option", { value: v }, l)));
  const list = h("div", { class: "grid", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "ghost", hidden: true }, "Show more");
  let cursor = null;

  async function load(reset) {
    const params = new URLSearchParams({ limit: "12" });
    if (q.value.trim()) params.set("q", q.value.trim());
    if (language.value) params.set("language", language.value);
    if (kids.value) params.set("is_kids_voice", kids.value);
    if (tag.value.trim()) params.set("tag", tag.value.trim());
    params.set("mine", mine.value);
    if (!reset && cursor) params.set("cursor", cursor);
    const page = await api(`/api/v1/voices?${params}`);
    if (reset) fill(list);
    if (reset && !page.items.length) {
      list.append(h("div", { class: "card empty" }, h("p", {}, "No voice matches."),
        h("a", { class: "button", href: "#/add" }, "Add a voice")));
    }
    for (const v of page.items) list.append(voiceCard(v, app, () => load(true)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  let timer = 0;
  const reload = () => { clearTimeout(timer); timer = setTimeout(() => load(true).catch(showError), 250); };
  const showError = (err) => toast(err.message, true);
  for (const el of [q, tag]) el.addEventListener("input", reload);
  for (const el of [language, kids, mine]) el.addEventListener("change", reload);
  more.addEventListener("click", busy(more, () => load(false)));

  main.append(h("h1", {}, "Voices"),
    h("p", { class: "lead" }, "Your voices, and the public ones you can use."),
    h("form", { class: "card", role: "search", onsubmit: (e) => { e.preventDefault(); reload(); } },
      h("div", { class: "row" }, field("Search", q), field("Language", language), field("Age", kids),
        field("Tag", tag), field("Whose", mine))),
    list, h("div", { class: "actions" }, more));
  return load(true).then(() => () => clearTimeout(timer));
}

function voiceCard(v, app, reload) {
  const sample = h("audio", { controls: true, preload: "none", src: `/api/v1/voices/${v.id}/sample`,
    "aria-label": `Sample of ${v.name}` });
  const mine = v.owner_id === app.user.id;
  const card = h("article", { class: "card voice", "aria-label": v.name },
    h("h3", {}, v.name),
    h("p", { class: "muted" }, v.description || "No description."),
    h("div", { class: "tags" }, h("span", { class: "pill" }, v.language),
      v.is_kids_voice ? h("span", { class: "pill" }, "kids") : null,
      h("span", { class: "pill" }, v.visibility), v.tags.map((t) => h("span", { class: "pill" }, t))),
    statusPill(v), sample,
    h("div", { class: "actions" },
      h("a", { class: "button", href: `#/speak/${v.id}` }, "Speak"),
      mine ? h("button", { type: "button", class: "ghost", onclick: () => edit(v, reload) }, "Edit") : null,
      mine ? h("button", { type: "button", class: "ghost", onclick: () => addReference(v, reload) }, "Add a recording") : null,
      mine ? h("button", { type: "button", class: "ghost", onclick: () => exportProfile(v) }, "Export") : null,
      mine ? h("button", { type: "button", class: "danger", onclick: () => remove(v, reload) }, "Delete") : null));
  return card;
}

function edit(v, reload) {
  const name = h("input", { type: "text", value: v.name, maxlength: "100", required: true });
  const description = h("textarea", {}, v.description);
  const tags = h("input", { type: "text", value: v.tags.join(", ") });
  const visibility = h("select", {}, ["private", "public"].map((x) => h("option", { value: x }, x)));
  visibility.value = v.visibility;
  const save = h("button", { type: "submit" }, "Save");
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { method: "dialog" }, field("Name", name), field("Description", description),
    field("Tags", tags, "Separated by commas."), field("Visibility", visibility), error,
    h("div", { class: "actions" }, save, h("button", { type: "button", class: "ghost", onclick: () => d.close() }, "Cancel")));
  const d = dialog(`Edit “${v.name}”`, form);
  form.addEventListener("submit", busy(save, async () => {
    try {
      await api(`/api/v1/voices/${v.id}`, { method: "PATCH", body: {
        name: name.value.trim(), description: description.value, visibility: visibility.value,
        tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
      } });
      d.close(); toast("Saved."); reload();
    } catch (err) { error.textContent = err.message; }
  }));
}

function remove(v, reload) {
  confirmDialog(`Delete “${v.name}”?`,
    "The voice, its recordings and its profile are removed. Speech already made stays.",
    "Delete for good", async () => {
      await api(`/api/v1/voices/${v.id}`, { method: "DELETE" });
      toast(`Deleted “${v.name}”.`); reload();
    });
}

function addReference(v, reload) {
  const file = h("input", { type: "file", accept: "audio/*,video/*", required: true });
  const send = h("button", { type: "submit" }, "Add");
  const out = h("div", { "aria-live": "polite" });
  const consent = consentStep();
  const form = h("form", {}, field("Another recording of this voice", file,
    "More recordings of the same person make a closer clone."), consent.el, out,
  h("div", { class: "actions" }, send, h("button", { type: "button", class: "ghost", onclick: () => d.close() }, "Close")));
  const d = dialog(`Add a recording to “${v.name}”`, form);
  d.addEventListener("close", () => consent.release());
  form.addEventListener("submit", busy(send, async () => {
    if (!file.files[0]) throw new Error("Choose a file first.");
    const body = new FormData();
    await consent.addTo(body);
    body.append("file", file.files[0], file.files[0].name);
    try {
      const voice = await api(`/api/v1/voices/${v.id}/references`, { method: "POST", body });
      fill(out, (voice.reports || []).map(reportView));
      reload();
    } catch (err) {
      // A refused consent is explained in the consent step itself.
      fill(out, consent.refused(err) ? null : h("p", { class: "error", role: "alert" }, err.message));
    }
  }));
}

async function exportProfile(v) {
  const response = await raw(`/api/v1/voices/${v.id}/profile`).catch((err) => { toast(err.message, true); });
  if (!response) return;
  const link = h("a", { href: URL.createObjectURL(await response.blob()), download: `${v.name}.voxhub-profile.json` });
  document.body.append(link);
  link.click();
  link.remove();
}
