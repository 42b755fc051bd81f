// Speak: a voice, some text, and audio that starts while the rest is still being made.
import { api, raw } from "./api.js";
import { busy, field, fill, fmtDate, fmtSeconds, h, scrollTable } from "./dom.js";
import { drawWaveform, playStreaming } from "./player.js";

const TYPES = { mp3: "audio/mpeg", wav: "audio/wav", opus: "audio/ogg", flac: "audio/flac",
  pcm: "audio/L16", mulaw: "audio/basic", aac: "audio/aac" };
const PLAYABLE = ["mp3", "wav", "opus", "flac"];

export async function render(main, { app, args, refreshUser }) {
  const page = await api("/api/v1/voices?limit=100");
  const voices = page.items;
  main.append(h("h1", {}, "Speak"));
  if (!voices.length) {
    main.append(h("div", { class: "card empty" }, h("p", {}, "There is no voice yet."),
      h("a", { class: "button", href: "#/add" }, "Add your first voice")));
    return null;
  }
  const limit = app.config.max_text_chars;
  const voice = h("select", {}, voices.map((v) => h("option", { value: v.id }, v.name)));
  if (args[0] && voices.some((v) => v.id === args[0])) voice.value = args[0];
  const text = h("textarea", { maxlength: String(limit), required: true },
    "Hello! This is my voice, cloned by voxhub. It can read anything you type, in any length, as it streams.");
  const count = h("p", { class: "hint", "aria-live": "polite" });
  const updateCount = () => {
    count.textContent = `${text.value.length} / ${limit} characters`;
    count.classList.toggle("error", text.value.length > limit);
  };
  text.addEventListener("input", updateCount);
  updateCount();
  const format = h("select", {}, PLAYABLE.filter((f) => app.config.formats.includes(f))
    .map((f) => h("option", { value: f }, f === "mp3" ? "MP3 (streams)" : f.toUpperCase())));
  const rate = h("select", {}, [["", "Engine's own"], ["16000", "16 kHz"], ["22050", "22.05 kHz"],
    ["24000", "24 kHz"], ["44100", "44.1 kHz"], ["48000", "48 kHz"]].map(([v, l]) => h("option", { value: v }, l)));
  const speed = h("input", { type: "range", min: "0.5", max: "2", step: "0.05", value: "1" });
  const speedOut = h("output", {}, "1.00×");
  speed.addEventListener("input", () => { speedOut.textContent = `${Number(speed.value).toFixed(2)}×`; });
  const go = h("button", { type: "submit" }, "Speak");
  const audio = h("audio", { controls: true, "aria-label": "Speech" });
  const wave = h("canvas", { class: "wave", "aria-hidden": "true" });
  const download = h("a", { class: "button ghost", hidden: true }, "Download");
  const info = h("p", { class: "muted", role: "status" });
  const history = h("div");

  const form = h("form", { class: "card" },
    field("Voice", voice), field("Text", text), count,
    h("div", { class: "row" }, field("Format", format), field("Sample rate", rate),
      h("div", { class: "field" }, h("label", { for: "speed" }, "Speed ", speedOut), speed)),
    h("div", { class: "actions" }, go), info, audio, wave, h("div", { class: "actions" }, download));
  speed.id = "speed";
  form.addEventListener("submit", busy(go, async () => {
    info.textContent = "Speaking…";
    download.hidden = true;
    const chosen = format.value;
    const body = { voice_id: voice.value, text: text.value, format: chosen,
      speed: Number(speed.value), stream: chosen === "mp3" };
    if (rate.value) body.sample_rate = Number(rate.value);
    const t0 = performance.now();
    const response = await raw("/api/v1/speech", { method: "POST", body });
    const id = response.headers.get("X-Voxhub-Generation-Id");
    let firstSound = "";
    audio.addEventListener("playing", () => {
      firstSound = `${((performance.now() - t0) / 1000).toFixed(2)} s`;
      info.textContent = `Playing after ${firstSound}…`;
    }, { once: true });
    const blob = await playStreaming(audio, response, TYPES[chosen]);
    const total = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    info.textContent = `Done: ${(blob.size / 1024).toFixed(0)} KB in ${total}`
      + (firstSound ? `; the first words played after ${firstSound}.` : ".");
    if (download.href.startsWith("blob:")) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(blob);
    download.download = `voxhub-${id || "speech"}.${chosen === "opus" ? "ogg" : chosen}`;
    download.hidden = false;
    drawWaveform(wave, blob);
    refreshUser().catch(() => {});
    setTimeout(() => loadHistory(history).catch(() => {}), 500);
  }));
  main.append(form, h("section", { class: "card", "aria-labelledby": "hist-title" },
    h("h2", { id: "hist-title" }, "Recent speech"), history));
  loadHistory(history).catch((err) => fill(history, h("p", { class: "error" }, err.message)));
  return () => audio.pause();
}

async function loadHistory(el) {
  const page = await api("/api/v1/generations?limit=10");
  if (!page.items.length) {
    fill(el, h("p", { class: "empty" }, "Nothing spoken yet: what you speak appears here."));
    return;
  }
  const player = h("audio", { "aria-label": "Replay" });
  fill(el, player, scrollTable("Recent speech", h("thead", {}, h("tr", {}, h("th", {}, "Text"),
    h("th", {}, "Length"), h("th", {}, "When"), h("th", {}, h("span", { class: "sr-only" }, "Audio")))),
  h("tbody", {}, page.items.map((g) => h("tr", {},
    h("td", {}, g.text.length > 90 ? `${g.text.slice(0, 90)}…` : g.text),
    h("td", {}, fmtSeconds(g.duration_s)),
    h("td", {}, fmtDate(g.created_at)),
    h("td", { class: "nowrap" }, g.audio_url ? replayButtons(player, g) : h("span", { class: "muted" }, "not kept")))))));
}

function replayButtons(player, g) {
  const play = h("button", { type: "button", class: "ghost", "aria-label": `Play: ${g.text.slice(0, 40)}` }, "Play");
  play.addEventListener("click", () => {
    const here = player.src.endsWith(g.audio_url);
    if (here && !player.paused) { player.pause(); return; }
    if (!here) player.src = g.audio_url;
    player.play().catch(() => {});
  });
  player.addEventListener("play", () => { play.textContent = player.src.endsWith(g.audio_url) ? "Pause" : "Play"; });
  player.addEventListener("pause", () => { play.textContent = "Play"; });
  return [play, " ", h("a", { href: g.audio_url, download: `voxhub-${g.id}.${g.format}` }, "Download")];
}
