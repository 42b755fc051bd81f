// Jobs: a live list. Each running job streams its events (server-sent events) into its row.
import { api } from "./api.js";
import { busy, fill, fmtDate, h, toast } from "./dom.js";

const FINAL = ["succeeded", "failed", "cancelled"];
const TONE = { succeeded: "ok", failed: "bad", cancelled: "", running: "warn", queued: "" };

export async function render(main) {
  const list = h("div", { "aria-live": "polite" });
  const streams = new Map();
  main.append(h("h1", {}, "Jobs"),
    h("p", { class: "lead" }, "Refinements, long speech and renders run here; this page updates live."),
    list);

  const rows = new Map();
  function follow(job) {
    if (FINAL.includes(job.status) || streams.has(job.id)) return;
    const source = new EventSource(`/api/v1/jobs/${job.id}/events`);
    streams.set(job.id, source);
    const update = (e) => { try { show(JSON.parse(e.data)); } catch { /* a comment */ } };
    for (const type of ["created", "status", "progress", "cancel_requested"]) {
      source.addEventListener(type, update);
    }
    source.addEventListener("end", () => { source.close(); streams.delete(job.id); refresh(job.id); });
  }
  async function refresh(id) {
    try { show(await api(`/api/v1/jobs/${id}`)); } catch { /* gone */ }
  }
  function show(job) {
    if (!job || !job.id) return;
    const row = jobRow(job, refresh, follow);
    const old = rows.get(job.id);
    if (old) old.replaceWith(row); else list.append(row);
    rows.set(job.id, row);
    follow(job);
  }
  async function load() {
    const page = await api("/api/v1/jobs?limit=30");
    fill(list);
    rows.clear();
    if (!page.items.length) {
      list.append(h("div", { class: "card empty" }, h("p", {}, "No jobs yet. Adding a voice starts one (its refinement)."),
        h("a", { class: "button", href: "#/add" }, "Add a voice")));
    }
    page.items.forEach(show);
  }
  await load();
  const poll = setInterval(() => load().catch(() => {}), 15000);  // new jobs from elsewhere
  return () => { clearInterval(poll); for (const s of streams.values()) s.close(); };
}

function jobRow(job, refresh, follow) {
  const bar = h("div");
  bar.style.width = `${job.progress}%`;
  const progress = h("div", { class: "progress", role: "progressbar", "aria-label": `${job.kind} progress`,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(job.progress) }, bar);
  const steps = (job.steps || []).map((s) => h("li", {}, h("span", {}, s.name.replaceAll("_", " ")),
    h("span", { class: `pill ${TONE[s.status] || ""}` }, s.status === "running" ? `${s.progress}%` : s.status)));
  const actions = [];
  if (!FINAL.includes(job.status)) {
    const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
    cancel.addEventListener("click", busy(cancel, async () => {
      await api(`/api/v1/jobs/${job.id}/cancel`, { method: "POST" });
      toast("Cancelling…"); refresh(job.id);
    }));
    actions.push(cancel);
  }
  if (["failed", "cancelled"].includes(job.status)) {
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
  return h("article", { class: "card", "data-job": job.id, "aria-label": `${job.kind} job` },
    h("div", { class: "row" }, h("h2", {}, job.kind.replaceAll(".", " ")),
      h("span", { class: `pill shrink ${TONE[job.status] || ""}`, "data-status": job.status }, job.status)),
    progress, steps.length ? h("ul", { class: "steps" }, steps) : null, error,
    h("p", { class: "hint" }, `Started ${fmtDate(job.created_at)} · ${job.cost} credits`),
    actions.length ? h("div", { class: "actions" }, actions) : null);
}
