// The app shell: who is signed in, the hash router, the theme.
import { api, keepFresh, whenSignedOut } from "./api.js";
import { fill, h, toast } from "./dom.js";
import * as account from "./account.js";
import * as activities from "./activities.js";
import * as addVoice from "./add_voice.js";
import * as characters from "./characters.js";
import * as chat from "./chat.js";
import * as jobs from "./jobs.js";
import * as script from "./script.js";
import * as scripts from "./scripts.js";
import * as signin from "./signin.js";
import * as speak from "./speak.js";
import * as voices from "./voices.js";

const routes = {
  speak: speak.render,
  voices: voices.render,
  add: addVoice.render,
  characters: characters.render,
  chat: chat.render,
  scripts: scripts.render,
  script: script.render,
  jobs: jobs.render,
  activity: activities.render,
  account: account.render,
};
const main = document.getElementById("view");
export const app = { user: null, config: { max_text_chars: 5000, formats: ["mp3", "wav"] } };
let cleanup = null;
let refresher = null;

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try { localStorage.setItem("vxh_theme", theme); } catch { /* private mode */ }
}

function currentTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen) return chosen;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export async function refreshUser() {
  app.user = await api("/api/v1/me");
  const credits = document.getElementById("credits");
  credits.textContent = `${app.user.credits} credits`;
  credits.hidden = false;
  return app.user;
}

export function signedIn(session) {
  app.user = session.user;
  clearInterval(refresher);
  refresher = keepFresh(session.expires_in);
  showChrome(true);
  refreshUser().catch(() => {});
  const wanted = location.hash.replace(/^#\/?/, "");
  if (!wanted || wanted.startsWith("signin") || wanted.startsWith("login-token")) {
    location.hash = "#/speak";
  } else {
    route();
  }
}

function showChrome(on) {
  document.getElementById("nav").hidden = !on;
  document.getElementById("signout").hidden = !on;
  document.getElementById("credits").hidden = !on;
}

function signedOut(message) {
  app.user = null;
  clearInterval(refresher);
  showChrome(false);
  if (message) toast(message);
  route();
}

let navigation = 0;

async function route() {
  const here = ++navigation;
  if (cleanup) { try { cleanup(); } catch { /* a view's own teardown */ } cleanup = null; }
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  // A chat is part of Characters, one script part of Scripts.
  const section = { chat: "characters", script: "scripts" }[name] || name;
  for (const link of document.querySelectorAll("nav a")) {
    const current = link.getAttribute("href") === `#/${section}`;
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  // Each view draws into its own element: one that finishes after the person has moved on is
  // torn down and never shown.
  const view = h("div");
  fill(main, view);
  main.setAttribute("aria-busy", "true");
  const draw = app.user ? (routes[name] || speak.render) : signin.render;
  let teardown = null;
  try {
    teardown = (await draw(view, { app, args: rest, signedIn, refreshUser })) || null;
  } catch (err) {
    if (here === navigation) {
      fill(view, h("div", { class: "card" }, h("h1", {}, "Something went wrong"),
        h("p", { class: "error" }, err.message || String(err))));
    }
  }
  if (here !== navigation) {
    try { teardown?.(); } catch { /* a view's own teardown */ }
    return;
  }
  cleanup = teardown;
  main.removeAttribute("aria-busy");
  const heading = main.querySelector("h1");
  if (heading) document.title = `${heading.textContent} · voxhub`;
  // Screen readers start at the new view, unless the view put the focus somewhere itself.
  if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

async function start() {
  try { setTheme(localStorage.getItem("vxh_theme") || currentTheme()); } catch { /* no storage */ }
  document.getElementById("theme").addEventListener("click", () => {
    setTheme(currentTheme() === "dark" ? "light" : "dark");
  });
  document.getElementById("signout").addEventListener("click", async () => {
    try { await api("/api/v1/auth/web/logout", { method: "POST" }); } catch { /* gone anyway */ }
    location.hash = "#/signin";
    signedOut("Signed out.");
  });
  // Only a session that was there can end: a first visit's 401 just shows the sign-in form.
  whenSignedOut(() => { if (app.user) signedOut("Your sign-in has ended: sign in again."); });
  window.addEventListener("hashchange", route);
  try { app.config = await api("/app/config.json"); } catch { /* defaults */ }

  const linkToken = new URLSearchParams(location.hash.replace(/^#\/?/, "")).get("login-token");
  if (linkToken) {
    history.replaceState(null, "", location.pathname);  // the secret leaves the address bar
    try {
      signedIn(await api("/api/v1/auth/web/login-link", { method: "POST", body: { token: linkToken } }));
      return;
    } catch (err) {
      toast(`The sign-in link did not work: ${err.message}`, true);
    }
  }
  try {
    const user = await refreshUser();
    signedIn({ user, expires_in: app.config.access_ttl_s || 600 });
  } catch {
    signedOut();
  }
}

start();
