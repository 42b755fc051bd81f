// Characters: a voice with a persona, images (one per mood) and stars; chat with one from here.
import { api } from "./api.js";
import { busy, confirmDialog, dialog, field, fill, h, toast } from "./dom.js";

export async function render(main, { app }) {
  const q = h("input", { type: "search", placeholder: "Name or description", maxlength: "200" });
  const whose = h("select", {}, [["", "Mine and public"], ["mine", "Only mine"], ["public", "Only public"]]
    .map(([v, l]) => h("option", { value: v }, l)));
  const list = h("div", { class: "grid", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "ghost", hidden: true }, "Show more");
  const create = h("button", { type: "button" }, "New character");
  let cursor = null;

  async function load(reset) {
    const params = new URLSearchParams({ limit: "12" });
    if (q.value.trim()) params.set("q", q.value.trim());
    if (whose.value) params.set(whose.value, "true");
    if (!reset && cursor) params.set("cursor", cursor);
    const page = await api(`/api/v1/characters?${params}`);
    if (reset) fill(list);
    if (reset && !page.items.length) {
      list.append(h("div", { class: "card empty" },
        h("p", {}, "No character yet. A character gives a voice a persona to chat and act with.")));
    }
    for (const ch of page.items) list.append(characterCard(ch, app, () => load(true)));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  let timer = 0;
  const reload = () => { clearTimeout(timer); timer = setTimeout(() => load(true).catch((e) => toast(e.message, true)), 250); };
  q.addEventListener("input", reload);
  whose.addEventListener("change", reload);
  more.addEventListener("click", busy(more, () => load(false)));
  create.addEventListener("click", busy(create, () => editCharacter(null, () => load(true))));

  main.append(h("h1", {}, "Characters"),
    h("p", { class: "lead" }, "Give a voice a persona, then chat with it or cast it in a script."),
    h("div", { class: "actions" }, create),
    h("form", { class: "card", role: "search", onsubmit: (e) => { e.preventDefault(); reload(); } },
      h("div", { class: "row" }, field("Search characters", q), field("Whose", whose))),
    list, h("div", { class: "actions" }, more));
  await load(true);
  return () => clearTimeout(timer);
}

export function imageUrl(character, image, thumbnail = true) {
  return `/api/v1/characters/${character.id}/images/${encodeURIComponent(image.key)}${thumbnail ? "?thumbnail=true" : ""}`;
}

function characterCard(ch, app, reload) {
  const mine = ch.owner_id === app.user.id;
  const first = ch.images[0];
  const star = h("button", { type: "button", class: "ghost", "aria-pressed": String(ch.starred),
    "aria-label": `${ch.starred ? "Unstar" : "Star"} ${ch.display_name}` }, `★ ${ch.stars}`);
  star.addEventListener("click", busy(star, async () => {
    const now = await api(`/api/v1/characters/${ch.id}/star`, { method: ch.starred ? "DELETE" : "PUT" });
    ch.starred = now.starred; ch.stars = now.stars;
    star.textContent = `★ ${now.stars}`;
    star.setAttribute("aria-pressed", String(now.starred));
    star.setAttribute("aria-label", `${now.starred ? "Unstar" : "Star"} ${ch.display_name}`);
  }));
  return h("article", { class: "card character", "aria-label": ch.display_name },
    first ? h("img", { class: "portrait", src: imageUrl(ch, first), alt: `${ch.display_name} (${first.label || "portrait"})`, width: "96", height: "96" })
      : h("div", { class: "portrait empty", "aria-hidden": "true" }, ch.display_name.slice(0, 1).toUpperCase()),
    h("h3", {}, ch.display_name),
    h("p", { class: "muted" }, ch.description || "No description."),
    h("div", { class: "tags" }, h("span", { class: "pill" }, ch.visibility),
      h("span", { class: "pill" }, `${ch.images.length} image${ch.images.length === 1 ? "" : "s"}`),
      ch.voice_id ? null : h("span", { class: "pill bad" }, "its voice was deleted")),
    h("div", { class: "actions" },
      ch.voice_id ? h("a", { class: "button", href: `#/chat/${ch.id}` }, "Chat") : null,
      star,
      mine ? editButton(ch, reload) : null,
      mine ? h("button", { type: "button", class: "ghost", onclick: () => manageImages(ch, reload) }, "Images") : null,
      mine ? h("button", { type: "button", class: "danger", onclick: () => removeCharacter(ch, reload) }, "Delete") : null));
}

function editButton(ch, reload) {
  const edit = h("button", { type: "button", class: "ghost" }, "Edit");
  edit.addEventListener("click", busy(edit, () => editCharacter(ch, reload)));
  return edit;
}

async function editCharacter(ch, reload) {
  const voices = (await api("/api/v1/voices?limit=100")).items;
  if (ch?.voice_id && !voices.some((v) => v.id === ch.voice_id)) {
    // Beyond the first hundred: listed all the same, or saving would quietly change the voice.
    try { voices.unshift(await api(`/api/v1/voices/${ch.voice_id}`)); } catch { /* gone */ }
  }
  if (!voices.length) throw new Error("Add a voice first: a character speaks with one.");
  const name = h("input", { type: "text", required: true, maxlength: "100", value: ch?.display_name || "" });
  const description = h("textarea", { maxlength: "2000" }, ch?.description || "");
  const persona = h("textarea", { maxlength: "4000", rows: "4" }, ch?.persona_prompt || "");
  const voice = h("select", {}, voices.map((v) => h("option", { value: v.id }, v.name)));
  if (ch?.voice_id) voice.value = ch.voice_id;
  const visibility = h("select", {}, ["private", "public"].map((x) => h("option", { value: x }, x)));
  visibility.value = ch?.visibility || "private";
  const speed = h("input", { type: "number", min: "0.5", max: "2", step: "0.05", value: String(ch?.config.speed ?? 1) });
  const crossFade = h("input", { type: "number", min: "0", max: "2", step: "0.01",
    value: String(ch?.config.cross_fade_duration ?? 0.15) });
  const trim = h("input", { type: "checkbox", checked: Boolean(ch?.config.remove_silences) });
  const error = h("p", { class: "error", role: "alert" });
  const save = h("button", { type: "submit" }, ch ? "Save" : "Create");
  const form = h("form", {}, field("Name", name), field("Description", description),
    field("Persona", persona, "Who they are and how they talk: the LLM plays this part in chats and scripts."),
    h("div", { class: "row" }, field("Voice", voice), field("Visibility", visibility), field("Speed", speed)),
    h("div", { class: "row" }, field("Cross-fade (s)", crossFade, "Between the pieces of speech and the lines of a dialogue."),
      h("div", { class: "field" }, h("label", {}, trim, " Trim silence at each line's ends"))),
    error, h("div", { class: "actions" }, save, h("button", { type: "button", class: "ghost", onclick: () => d.close() }, "Cancel")));
  const d = dialog(ch ? `Edit “${ch.display_name}”` : "New character", form);
  form.addEventListener("submit", busy(save, async () => {
    const body = { display_name: name.value.trim(), description: description.value,
      persona_prompt: persona.value, voice_id: voice.value, visibility: visibility.value,
      config: { speed: Number(speed.value), cross_fade_duration: Number(crossFade.value),
        remove_silences: trim.checked } };
    try {
      await api(ch ? `/api/v1/characters/${ch.id}` : "/api/v1/characters", { method: ch ? "PATCH" : "POST", body });
      d.close(); toast(ch ? "Saved." : "Character created."); reload();
    } catch (err) { error.textContent = err.message; }
  }));
}

function manageImages(ch, reload) {
  const gallery = h("div", { class: "gallery" });
  const file = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", required: true });
  const label = h("input", { type: "text", maxlength: "40", placeholder: "e.g. happy, serious" });
  const add = h("button", { type: "submit" }, "Add image");
  const error = h("p", { class: "error", role: "alert" });
  const show = () => fill(gallery, ch.images.length ? ch.images.map((img) => {
    const remove = h("button", { type: "button", class: "ghost", "aria-label": `Remove image ${img.label || img.key}` }, "Remove");
    remove.addEventListener("click", busy(remove, async () => {
      await api(`/api/v1/characters/${ch.id}/images/${encodeURIComponent(img.key)}`, { method: "DELETE" });
      ch.images = ch.images.filter((x) => x.key !== img.key); show(); reload();
    }));
    return h("figure", {}, h("img", { src: imageUrl(ch, img), alt: img.label || `image ${img.key}`, width: "96", height: "96" }),
      h("figcaption", {}, img.label || "no label"), remove);
  }) : h("p", { class: "empty" }, "No image yet. Scripts show a line's mood by its image's label."));
  const form = h("form", {}, h("div", { class: "row" }, field("Image", file), field("Mood label", label)),
    error, h("div", { class: "actions" }, add, h("button", { type: "button", class: "ghost", onclick: () => d.close() }, "Close")));
  const d = dialog(`Images of “${ch.display_name}”`, gallery, form);
  show();
  form.addEventListener("submit", busy(add, async () => {
    error.textContent = "";
    if (!file.files[0]) { error.textContent = "Choose an image first."; return; }
    const body = new FormData();
    body.append("file", file.files[0], file.files[0].name);
    body.append("label", label.value.trim());
    try {
      ch.images.push(await api(`/api/v1/characters/${ch.id}/images`, { method: "POST", body }));
      file.value = ""; label.value = ""; show(); reload();
    } catch (err) { error.textContent = err.message; }
  }));
}

function removeCharacter(ch, reload) {
  confirmDialog(`Delete “${ch.display_name}”?`, "The character, its images and stars are removed; its voice stays.",
    "Delete for good", async () => {
      await api(`/api/v1/characters/${ch.id}`, { method: "DELETE" });
      toast(`Deleted “${ch.display_name}”.`); reload();
    });
}
