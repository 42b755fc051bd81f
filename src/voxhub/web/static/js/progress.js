// A job's progress as the page shows it, and following a job live (server-sent events).
import { api } from "./api.js";
import { h } from "./dom.js";

export const FINAL = ["succeeded", "failed", "cancelled", "dead"];
const TONE = { succeeded: "ok", completed: "ok", failed: "bad", dead: "bad", running: "warn", in_progress: "warn" };

export function tone(status) {
  return TONE[status] || "";
}

/** The bar and the named steps of `job` (anything with progress and steps). */
export function progressView(job, label) {
  const bar = h("div");
  bar.style.width = `${job.progress}%`;
  const steps = (job.steps || []).map((s) => h("li", {}, h("span", {}, s.name.replaceAll("_", " ")),
    h("span", { class: `pill ${tone(s.status)}` },
      s.status === "in_progress" ? `${s.progress ?? 0}%` : s.status.replaceAll("_", " "))));
  return [h("div", { class: "progress", role: "progressbar", "aria-label": label, "aria-valuemin": "0",
    "aria-valuemax": "100", "aria-valuenow": String(job.progress) }, bar),
  steps.length ? h("ul", { class: "steps" }, steps) : null];
}

/** Call `onJob(job)` with each state of job `id` until it is final; returns a stop function.
 * Server-sent events while they flow; if the stream closes early (a sign-in that lapsed, a
 * restart), polling through the API, which renews the sign-in, takes over. */
export function followJob(id, onJob) {
  let stopped = false;
  let timer = 0;
  const source = new EventSource(`/api/v1/jobs/${id}/events`);
  const poll = async () => {
    if (stopped) return;
    try {
      const job = await api(`/api/v1/jobs/${id}`);
      onJob(job);
      if (FINAL.includes(job.status)) return;
    } catch { /* try again */ }
    timer = setTimeout(poll, 2000);
  };
  const update = (e) => {
    try { onJob(JSON.parse(e.data)); } catch { /* not a job: a comment or a keep-alive */ }
  };
  for (const type of ["created", "status", "progress", "cancel_requested"]) source.addEventListener(type, update);
  source.addEventListener("end", () => { source.close(); poll(); });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) poll();  // the browser will not reconnect
  });
  return () => { stopped = true; source.close(); clearTimeout(timer); };
}
