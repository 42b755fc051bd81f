// What a new voice must show under this instance's consent policy (GET /api/v1/consent/policy):
// "attestation": whose voice it is; "spoken": that, and the speaker reading a phrase aloud
// (POST /api/v1/consent/challenge), recorded here; "off": nothing.
import { api } from "./api.js";
import { fill, h } from "./dom.js";
import { recorderView } from "./recorder.js";

let asked = null;
/** The instance's policy, asked once a page load (again after a failure). */
export function consentPolicy() {
  asked ||= api("/api/v1/consent/policy").catch((err) => { asked = null; throw err; });
  return asked;
}

// Whose voice this is: required, stored for good with the upload (the consent attestation).
export function consentChoice() {
  const radio = (value, label) => h("label", {},
    h("input", { type: "radio", name: "consent", value, required: true }), " ", label);
  const el = h("fieldset", { class: "field consent" },
    h("legend", {}, "Consent"),
    radio("self", "I am the speaker"),
    radio("written_permission", "I have the speaker's written permission"));
  return { el, value: () => el.querySelector("input[name=consent]:checked")?.value || "" };
}

// The server's refusals of a spoken consent, in words that say what to do next.
const REFUSED = {
  consent_mismatch: "The words did not match: read the whole phrase again, code included, and record it again.",
  speaker_mismatch: "The voice reading the phrase is not the voice of the recording: the speaker must read the phrase themself.",
  consent_required: "Record the phrase read aloud first.",
};
const RENEWED = {  // the phrase can no longer be used: a new one is fetched
  consent_phrase_used: "That phrase was used already. Here is a new one: record it again.",
  consent_phrase_expired: "That phrase expired. Here is a new one: record it again.",
  consent_phrase_not_found: "That phrase is not known. Here is a new one: record it again.",
};

/** The consent part of an upload form, for the instance's policy: `el` to place in the form,
 * `addTo(formData)` (throws, in words, while something is missing), `refused(err)` (true when
 * the step has shown what to do about this refusal of the consent) and `release()`. */
export function consentStep() {
  const el = h("div", {});
  const choice = consentChoice();
  let policy = "attestation"; let spoken = null; let released = false;
  const ready = consentPolicy().then((p) => { policy = p.policy; }, () => { /* the server decides */ })
    .then(() => {
      // A form closed before the policy came asks for no phrase.
      if (policy === "spoken" && !released) spoken = spokenConsent();
      fill(el, policy === "off" ? null : choice.el, spoken?.el);
    });
  return {
    el,
    async addTo(body) {
      await ready;
      if (policy === "off") return;
      if (!choice.value()) throw new Error("Say whose voice this is: you, or someone whose written permission you have.");
      body.append("consent", choice.value());
      spoken?.addTo(body);
    },
    refused: (err) => Boolean(spoken?.refused(err)),
    release: () => { released = true; spoken?.release(); },
  };
}

function spokenConsent() {
  let phrase = null; let audio = null; let timer = 0;
  const text = h("blockquote", { class: "script phrase", "aria-live": "polite" }, "Asking for a phrase…");
  const code = h("strong", { class: "code" });
  const until = h("span");
  const note = h("p", { role: "status" });
  const alert = h("p", { class: "error", role: "alert" });
  const rec = recorderView((blob) => { audio = blob; alert.textContent = ""; },
    { text: null, label: "Your consent recording", meterLabel: "Microphone level (consent)" });
  const renew = h("button", { type: "button", class: "ghost" }, "New phrase");

  async function newPhrase(message) {
    renew.disabled = true; clearTimeout(timer); alert.textContent = "";
    phrase = null; audio = null;
    // Never leave the old phrase up while the new one comes: it would be read, and refused.
    fill(text, "Asking for a phrase…"); fill(code, ""); fill(until, "");
    rec.clear("Read the phrase aloud when the countdown ends.");
    try {
      phrase = await api("/api/v1/consent/challenge", { method: "POST" });
      fill(text, phrase.text); fill(code, phrase.code);
      const expires = new Date(phrase.expires_at);
      fill(until, expires.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
      note.textContent = message;
      timer = setTimeout(() => { note.textContent = "This phrase has expired: ask for a new one."; },
        Math.max(0, expires - Date.now()));
    } catch (err) {
      fill(text, "No phrase yet."); note.textContent = "";
      alert.textContent = `No phrase could be fetched: ${err.message}`;
    } finally { renew.disabled = false; }
  }
  renew.addEventListener("click", () => newPhrase("Here is a new phrase."));
  newPhrase("");

  const el = h("fieldset", { class: "field consent spoken" },
    h("legend", {}, "Read this aloud"),
    h("p", { class: "hint" }, "The speaker reads the whole phrase, code included, in one recording. "
      + "It is checked against the voice you upload. A phrase is good for one voice and 10 minutes."),
    text, h("p", {}, "Code: ", code, " · valid until ", until), rec.el,
    h("div", { class: "actions" }, renew), note, alert);
  return {
    el,
    addTo(body) {
      if (!phrase) throw new Error("There is no consent phrase yet: ask for a new one.");
      if (!audio) throw new Error("Record the speaker reading the phrase aloud first.");
      body.append("consent_phrase_id", phrase.phrase_id);
      body.append("consent_audio", audio, `consent.${audio.type.includes("ogg") ? "ogg" : "webm"}`);
    },
    refused(err) {
      if (RENEWED[err.code]) newPhrase(RENEWED[err.code]);
      else if (REFUSED[err.code]) alert.textContent = REFUSED[err.code];
      else return false;
      return true;
    },
    release() { clearTimeout(timer); rec.release(); },
  };
}
