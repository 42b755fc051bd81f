// Activity: what you did, newest first, by category; clear it.
import { api } from "./api.js";
import { busy, confirmDialog, field, fill, fmtDate, h, toast } from "./dom.js";

const CATEGORIES = [["", "Everything"], ["voice", "Voices"], ["character", "Characters"],
  ["chat", "Chats"], ["script", "Scripts"], ["video", "Videos"]];

export async function render(main) {
  const category = h("select", {}, CATEGORIES.map(([v, l]) => h("option", { value: v }, l)));
  const list = h("ol", { class: "activities", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "ghost", hidden: true }, "Show more");
  const clear = h("button", { type: "button", class: "danger" }, "Clear the log");
  let cursor = null;

  async function load(reset) {
    const params = new URLSearchParams({ limit: "30" });
    if (category.value) params.set("category", category.value);
    if (!reset && cursor) params.set("cursor", cursor);
    const page = await api(`/api/v1/activities?${params}`);
    if (reset) fill(list);
    if (reset && !page.items.length) list.append(h("li", { class: "empty" }, "Nothing here yet."));
    for (const a of page.items) {
      list.append(h("li", {}, h("span", { class: "pill" }, a.category), " ", a.message,
        h("span", { class: "hint" }, ` · ${fmtDate(a.created_at)}`)));
    }
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  category.addEventListener("change", () => load(true).catch((e) => toast(e.message, true)));
  more.addEventListener("click", busy(more, () => load(false)));
  clear.addEventListener("click", () => confirmDialog("Clear your activity log?",
    "Only the log goes; what it mentions stays.", "Clear it", async () => {
      const { deleted } = await api("/api/v1/activities", { method: "DELETE" });
      toast(`Cleared ${deleted} entr${deleted === 1 ? "y" : "ies"}.`); await load(true);
    }));

  main.append(h("h1", {}, "Activity"),
    h("div", { class: "row" }, field("Show", category), h("div", { class: "shrink field" }, clear)),
    h("section", { class: "card", "aria-label": "Activity log" }, list), h("div", { class: "actions" }, more));
  await load(true);
  return null;
}
