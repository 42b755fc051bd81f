// Account: API keys (shown once), credits and their ledger.
import { api } from "./api.js";
import { busy, confirmDialog, field, fill, fmtDate, h, scrollTable, toast } from "./dom.js";

export async function render(main, { app }) {
  const keys = h("div");
  const ledger = h("div");
  const name = h("input", { type: "text", maxlength: "100", required: true, placeholder: "e.g. my laptop" });
  const create = h("button", { type: "submit" }, "Create key");
  const created = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "row" }, field("Key name", name), h("div", { class: "shrink field" }, create));
  form.addEventListener("submit", busy(create, async () => {
    if (!name.value.trim()) { name.focus(); throw new Error("Name the key."); }
    const key = await api("/api/v1/api-keys", { method: "POST", body: { name: name.value.trim() } });
    name.value = "";
    const copy = h("button", { type: "button", class: "ghost" }, "Copy");
    copy.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(key.key); toast("Copied."); } catch { toast("Select the key and copy it.", true); }
    });
    fill(created, h("div", { class: "card" }, h("p", {}, "Your new key. It is shown only now: keep it safe."),
      h("p", { class: "key", "data-key": "" }, key.key), copy));
    await loadKeys();
  }));

  async function loadKeys() {
    const items = await api("/api/v1/api-keys");
    if (!items.length) { fill(keys, h("p", { class: "empty" }, "No API keys yet.")); return; }
    fill(keys, scrollTable("API keys", h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Key"),
      h("th", {}, "Created"), h("th", {}, "Last used"), h("th", {}, h("span", { class: "sr-only" }, "Actions")))),
    h("tbody", {}, items.map((k) => {
      const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
      revoke.addEventListener("click", () => confirmDialog(`Revoke “${k.name}”?`,
        "Programs using this key stop working at once.", "Revoke it", async () => {
          await api(`/api/v1/api-keys/${k.id}`, { method: "DELETE" });
          toast("Revoked."); await loadKeys();
        }));
      return h("tr", {}, h("td", {}, k.name), h("td", { class: "muted" }, `${k.prefix}…`),
        h("td", {}, fmtDate(k.created_at)), h("td", {}, k.last_used_at ? fmtDate(k.last_used_at) : "never"),
        h("td", {}, revoke));
    }))));
  }

  async function loadCredits() {
    const [credits, page] = await Promise.all([api("/api/v1/credits"), api("/api/v1/credits/ledger?limit=20")]);
    const items = page.items || [];
    fill(ledger, h("p", { class: "big" }, `${credits.balance}`, h("span", { class: "muted" }, " credits")),
      credits.held ? h("p", { class: "muted" }, `${credits.held} held for running work`) : null,
      items.length ? scrollTable("Credit movements", h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Change"), h("th", {}, "Why"))),
        h("tbody", {}, items.map((e) => h("tr", {}, h("td", {}, fmtDate(e.created_at)),
          h("td", {}, e.amount > 0 ? `+${e.amount}` : String(e.amount)),
          h("td", {}, (e.reason || e.kind || "").replaceAll("_", " "))))))
        : h("p", { class: "empty" }, "No credit movements yet."));
  }

  main.append(h("h1", {}, "Account"),
    h("p", { class: "lead" }, `Signed in as ${app.user.email}.`),
    h("section", { class: "card", "aria-labelledby": "keys-title" }, h("h2", { id: "keys-title" }, "API keys"),
      h("p", { class: "muted" }, "Use a key from programs: Authorization: Bearer <key>, or X-API-Key."),
      form, created, keys),
    h("section", { class: "card", "aria-labelledby": "credits-title" }, h("h2", { id: "credits-title" }, "Credits"), ledger));
  await Promise.all([loadKeys(), loadCredits().catch((err) => fill(ledger, h("p", { class: "error" }, err.message)))]);
  return null;
}
