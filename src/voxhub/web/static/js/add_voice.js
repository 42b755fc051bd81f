// Add a voice: record it or drop a file, see the report, watch the profile become ready.
import { api } from "./api.js";
import { consentStep } from "./consent.js";
import { busy, field, fill, h } from "./dom.js";
import { recorderView } from "./recorder.js";
import { reportView, statusPill } from "./report.js";

const LANGUAGES = [["en", "English"], ["es", "Spanish"], ["fr", "French"], ["it", "Italian"],
  ["pt", "Portuguese"], ["hi", "Hindi"], ["ja", "Japanese"], ["zh", "Chinese"]];

export function languageSelect(selected = "en", withAny = false) {
  const options = LANGUAGES.map(([code, name]) => h("option", { value: code }, name));
  if (withAny) options.unshift(h("option", { value: "" }, "Any language"));
  const select = h("select", {}, options);
  select.value = selected;
  return select;
}

export function render(main) {
  let audio = null; let filename = "recording.webm";
  const name = h("input", { type: "text", required: true, maxlength: "100", autocomplete: "off" });
  const language = languageSelect();
  const denoise = h("input", { type: "checkbox" });
  const consent = consentStep();
  const chosen = h("p", { class: "muted", role: "status" }, "Nothing recorded or chosen yet.");
  const create = h("button", { type: "submit", disabled: true }, "Create voice");
  const result = h("div", { "aria-live": "polite" });

  const take = (blob, label) => {
    audio = blob; filename = label;
    chosen.textContent = `Ready to upload: ${label} (${(blob.size / 1024).toFixed(0)} KB).`;
    create.disabled = false;
  };
  const rec = recorderView((blob) => take(blob, `recording.${blob.type.includes("ogg") ? "ogg" : "webm"}`));

  const fileInput = h("input", { type: "file", accept: "audio/*,video/*" });
  fileInput.addEventListener("change", () => {
    const f = fileInput.files[0];
    if (f) take(f, f.name);
  });
  const drop = h("div", { class: "drop" }, h("p", {}, "Drop an audio or video file here, or"),
    field("Choose a file", fileInput, "WAV, MP3, M4A, OGG, WebM, MP4, MOV… up to a few minutes."));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (f) take(f, f.name);
  });

  const form = h("form", { class: "card" },
    h("h2", {}, "2. Name it"),
    h("div", { class: "row" }, field("Voice name", name), field("Language", language)),
    h("div", { class: "field" }, h("label", {}, denoise, " Remove background noise first")),
    consent.el, chosen, h("div", { class: "actions" }, create));
  form.addEventListener("submit", busy(create, async () => {
    if (!name.value.trim()) { name.focus(); throw new Error("Give the voice a name."); }
    const body = new FormData();
    await consent.addTo(body);
    body.append("name", name.value.trim());
    body.append("language", language.value);
    body.append("denoise", denoise.checked ? "true" : "false");
    body.append("file", audio, filename);
    fill(result, h("p", { class: "muted" }, "Uploading and listening to the recording…"));
    try {
      const voice = await api("/api/v1/voices", { method: "POST", body });
      showCreated(voice);
    } catch (err) {
      // A refused consent is explained in the consent step itself.
      fill(result, consent.refused(err) ? null
        : h("div", { class: "card" }, h("p", { class: "error", role: "alert" }, err.message)));
      throw err;
    }
  }));

  let polling = 0;
  function showCreated(voice) {
    const pill = h("span", {}, statusPill(voice));
    fill(result, h("section", { class: "card", "aria-labelledby": "created-title" },
      h("h2", { id: "created-title" }, `“${voice.name}” is ready to speak`),
      h("p", {}, "Status: ", pill),
      (voice.reports || []).map(reportView),
      h("div", { class: "actions" },
        h("a", { class: "button", href: `#/speak/${voice.id}` }, "Speak with this voice"),
        h("a", { class: "button ghost", href: "#/voices" }, "Go to the library"))));
    const poll = async () => {
      try {
        const fresh = await api(`/api/v1/voices/${voice.id}`);
        fill(pill, statusPill(fresh));
        if (["ready", "failed"].includes(fresh.profile_status)) return;
      } catch { /* try again */ }
      polling = setTimeout(poll, 1500);
    };
    polling = setTimeout(poll, 1000);
  }

  main.append(h("h1", {}, "Add a voice"),
    h("p", { class: "lead" }, "Ten to thirty seconds of one person speaking clearly is enough."),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "rec-title" }, h("h2", { id: "rec-title" }, "1. Record"), rec.el),
      h("section", { class: "card", "aria-labelledby": "up-title" }, h("h2", { id: "up-title" }, "…or upload"), drop)),
    form, result);
  return () => { rec.release(); consent.release(); clearTimeout(polling); };
}
