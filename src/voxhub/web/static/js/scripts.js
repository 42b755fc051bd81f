// Scripts: let the LLM write a dialogue between characters; open one to edit and render it.
import { api, whileStarting } from "./api.js";
import { busy, field, fill, fmtDate, h } from "./dom.js";

export async function render(main) {
  const [characters, scripts] = await Promise.all([
    api("/api/v1/characters?limit=100"), api("/api/v1/scripts?limit=50"),
  ]);
  main.append(h("h1", {}, "Scripts"),
    h("p", { class: "lead" }, "Pick characters, say what happens, and the LLM writes their dialogue. Edit it, then render it to audio or video."));
  main.append(writeForm(characters.items.filter((c) => c.voice_id)), listView(scripts.items));
  return null;
}

function writeForm(characters) {
  if (characters.length < 1) {
    return h("div", { class: "card empty" }, h("p", {}, "A script needs characters to speak it."),
      h("a", { class: "button", href: "#/characters" }, "Create a character"));
  }
  const boxes = characters.map((c) => h("input", { type: "checkbox", value: c.id, name: "cast" }));
  boxes.slice(0, 2).forEach((b) => { b.checked = true; });
  const cast = h("fieldset", { class: "cast" }, h("legend", {}, "Characters"),
    characters.map((c, i) => h("label", {}, boxes[i], ` ${c.display_name}`)));
  const prompt = h("textarea", { rows: "3", maxlength: "4000", required: true,
    placeholder: "e.g. Two friends plan a trip to the mountains and disagree about the weather." });
  const lines = h("input", { type: "number", min: "2", max: "40", value: "8" });
  const title = h("input", { type: "text", maxlength: "200", placeholder: "Optional" });
  const write = h("button", { type: "submit" }, "Write the script");
  const status = h("p", { class: "muted", role: "status" });
  const form = h("form", { class: "card", "aria-labelledby": "write-title" }, h("h2", { id: "write-title" }, "Write a new script"),
    cast, field("What happens", prompt), h("div", { class: "row" }, field("Lines", lines), field("Title", title)),
    status, h("div", { class: "actions" }, write));
  form.addEventListener("submit", busy(write, async () => {
    const body = { character_ids: boxes.filter((b) => b.checked).map((b) => b.value), prompt: prompt.value.trim(),
      lines: Number(lines.value) };
    if (title.value.trim()) body.title = title.value.trim();
    if (!body.character_ids.length) throw new Error("Choose at least one character.");
    status.textContent = "The LLM is writing the dialogue…";
    try {
      const script = await writeScript(body, status);
      location.hash = `#/script/${script.id}`;
    } catch (err) {
      status.textContent = "";
      throw err;
    }
  }));
  return form;
}

/** Nothing is stored when writing fails, so a model still loading (503) is simply asked again. */
function writeScript(body, status) {
  return whileStarting(() => api("/api/v1/scripts", { method: "POST", body }), (message) => {
    status.textContent = message;
  });
}

function listView(scripts) {
  const section = h("section", { class: "card", "aria-labelledby": "scripts-title" }, h("h2", { id: "scripts-title" }, "Your scripts"));
  if (!scripts.length) {
    section.append(h("p", { class: "empty" }, "No script yet: write one above."));
    return section;
  }
  const list = h("ul", { class: "scripts" });
  fill(list, scripts.map((s) => h("li", {}, h("a", { href: `#/script/${s.id}` }, s.title || s.prompt.slice(0, 80)),
    h("span", { class: "hint" }, ` · ${s.lines.length} lines · ${fmtDate(s.updated_at)}`))));
  section.append(list);
  return section;
}
