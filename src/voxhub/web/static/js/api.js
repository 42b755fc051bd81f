// The API from the page: cookies carry the session (httpOnly, never readable here); requests
// that change state echo the vxh_csrf cookie in X-CSRF-Token. Errors arrive as ApiError with
// the problem's `detail` in words.

export class ApiError extends Error {
  constructor(status, problem) {
    super(describe(status, problem));
    this.status = status;
    this.code = problem?.code || "";
    this.problem = problem;
  }
}

function describe(status, problem) {
  if (problem && typeof problem.detail === "string" && problem.detail) return problem.detail;
  if (problem && Array.isArray(problem.errors) && problem.errors.length) {
    return problem.errors.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  }
  if (problem && typeof problem.title === "string") return problem.title;
  if (status === 0) return "voxhub cannot be reached: is it running?";
  return `The request failed (HTTP ${status}).`;
}

export function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("vxh_csrf="));
  return found ? decodeURIComponent(found.slice("vxh_csrf=".length)) : "";
}

let refreshing = null;
let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function refresh() {
  refreshing ||= fetch("/api/v1/auth/web/refresh", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken() },
  }).then((r) => r.ok).finally(() => { refreshing = null; });
  return refreshing;
}

/** fetch with the session; one refresh and retry on 401. Returns the Response. */
export async function raw(path, options = {}, retried = false) {
  const method = (options.method || "GET").toUpperCase();
  const headers = new Headers(options.headers || {});
  if (!["GET", "HEAD"].includes(method)) headers.set("X-CSRF-Token", csrfToken());
  let body = options.body;
  if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob)
      && typeof body !== "string") {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { ...options, method, headers, body, credentials: "same-origin" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, null);
  }
  if (response.status === 401 && !retried && !path.startsWith("/api/v1/auth/web/")) {
    if (await refresh()) return raw(path, options, true);
    onSignedOut();
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON: the status speaks */ }
    throw new ApiError(response.status, problem);
  }
  return response;
}

/** JSON in, JSON out (null for 204). */
export async function api(path, options = {}) {
  const response = await raw(path, options);
  if (response.status === 204) return null;
  return response.json();
}

/** Keep the short-lived access cookie fresh while the page is open. */
export function keepFresh(seconds) {
  const every = Math.max(60, Math.floor(seconds * 0.8)) * 1000;
  return setInterval(() => { refresh(); }, every);
}
