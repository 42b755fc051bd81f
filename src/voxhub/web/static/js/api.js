// The API from the page: cookies carry the session (httpOnly, never readable here); requests
// that change state echo the CSRF cookie (vxh_csrf, or __Host-vxh_csrf over HTTPS) in X-CSRF-Token. Errors arrive as ApiError with
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
  for (const name of ["__Host-vxh_csrf=", "vxh_csrf="]) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name));
    if (found) return decodeURIComponent(found.slice(name.length));
  }
  return "";
}

let refreshing = null;
let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** Renew the session's cookies; resolves to whether the session lives (null: unreachable). One tab at a time: a
 * refresh token works once, so two tabs sending the same one would end the session; under the
 * lock each sends the newest cookie. After a 401 (`ifExpired`), a tab first checks whether
 * another tab has renewed the shared cookies meanwhile. */
async function refresh(ifExpired = false) {
  const renew = async () => {
    if (ifExpired) {
      const again = await fetch("/api/v1/me", { credentials: "same-origin" }).catch(() => null);
      if (again?.ok) return true;
    }
    const r = await fetch("/api/v1/auth/web/refresh", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() },
    }).catch(() => null);
    return r ? r.ok : null;  // null: voxhub could not be reached; the session may well live
  };
  refreshing ||= (navigator.locks ? navigator.locks.request("vxh-refresh", renew) : renew())
    .finally(() => { refreshing = null; });
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
    if (await refresh(true)) return raw(path, options, true);
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
  const every = Math.max(30, Math.floor(seconds * 0.8)) * 1000;
  return setInterval(async () => {
    if ((await refresh()) === false) onSignedOut();
  }, every);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `attempt()` again while the service answers 503 for a while (the local model loading),
 * waiting as long as it says; `onWait(message)` tells the person. Other errors, and a 503 that
 * asks for longer than a short wait (nothing configured), are thrown. */
export async function whileStarting(attempt, onWait, tries = 20) {
  for (let i = 0; ; i += 1) {
    try {
      return await attempt(i);
    } catch (err) {
      const wait = Number(err.problem?.retry_after) || 5;
      if (err.status !== 503 || wait > 30 || i >= tries) throw err;
      onWait(`${err.message}: trying again in a moment…`);
      await sleep(1000 * Math.min(10, Math.max(1, wait)));
    }
  }
}
