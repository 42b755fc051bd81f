// Jobs: a live list. Each unfinished job streams its events into its row.
import { api } from "./api.js";
import { busy, fill, fmtDate, h, toast } from "./dom.js";
import { FINAL, followJob, progressView, tone } from "./progress.js";

export async function render(main) {
  const list = h("div");
  const following = new Map();
  const rows = new Map();
  main.append(h("h1", {}, "Jobs"),
    h("p", { class: "lead" }, "Refinements, long speech and renders run here; this page updates live."),
    list);

  function follow(job) {
    if (FINAL.includes(job.status) || following.has(job.id)) return;
    following.set(job.id, followJob(job.id, show));
  }
  async function refresh(id) {
    try { show(await api(`/api/v1/jobs/${id}`)); } catch { /* gone */ }
  }
  function show(job) {
    if (!job || !job.id) return;
    const old = rows.get(job.id);
    // Rows are redrawn on every event: keep the keyboard where it was, and say only what ends.
    const focused = old?.contains(document.activeElement) ? document.activeElement.textContent : null;
    const row = jobRow(job, refresh, follow);
    if (old) old.replaceWith(row); else list.append(row);
    rows.set(job.id, row);
    if (focused) [...row.querySelectorAll("button, a")].find((el) => el.textContent === focused)?.focus();
    if (old && FINAL.includes(job.status) && old.dataset.status !== job.status) {
      toast(`${job.kind.replaceAll(".", " ")}: ${job.status}`);
    }
    if (FINAL.includes(job.status)) {
      following.get(job.id)?.();
      following.delete(job.id);
    } else {
      follow(job);
    }
  }
  async function load() {
    const page = await api("/api/v1/jobs?limit=30");
    if (!page.items.length) {
      fill(list, h("div", { class: "card empty" }, h("p", {}, "No jobs yet. Adding a voice starts one (its refinement)."),
        h("a", { class: "button", href: "#/add" }, "Add a voice")));
      rows.clear();
      return;
    }
    if (!rows.size) fill(list);
    page.items.forEach(show);
  }
  await load();
  const poll = setInterval(() => load().catch(() => {}), 15000);  // new jobs from elsewhere
  return () => { clearInterval(poll); for (const stop of following.values()) stop(); };
}

function jobRow(job, refresh, follow) {
  const actions = [];
  if (!FINAL.includes(job.status)) {
    const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
    cancel.addEventListener("click", busy(cancel, async () => {
      await api(`/api/v1/jobs/${job.id}/cancel`, { method: "POST" });
      toast("Cancelling…"); refresh(job.id);
    }));
    actions.push(cancel);
  }
  if (["failed", "cancelled", "dead"].includes(job.status)) {
    const retry = h("button", { type: "button", class: "ghost" }, "Retry");
    retry.addEventListener("click", busy(retry, async () => {
      follow(await api(`/api/v1/jobs/${job.id}/retry`, { method: "POST" }));
      refresh(job.id);
    }));
    actions.push(retry);
  }
  for (const [key, value] of Object.entries(job.result || {})) {
    if (typeof value === "string" && value.startsWith("/api/")) {
      actions.push(h("a", { class: "button ghost", href: value, target: "_blank", rel: "noopener" }, `Open ${key.replaceAll("_", " ")}`));
    }
  }
  const error = job.error ? h("p", { class: "error" }, job.error.detail || job.error.message || job.error.code) : null;
  return h("article", { class: "card", "data-job": job.id, "data-status": job.status, "aria-label": `${job.kind} job` },
    h("div", { class: "row" }, h("h2", {}, job.kind.replaceAll(".", " ")),
      h("span", { class: `pill shrink ${tone(job.status)}`, "data-status": job.status }, job.status)),
    progressView(job, `${job.kind} progress`), error,
    h("p", { class: "hint" }, `Started ${fmtDate(job.created_at)} · ${job.cost} credits`),
    actions.length ? h("div", { class: "actions" }, actions) : null);
}
