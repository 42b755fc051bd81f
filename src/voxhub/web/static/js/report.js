// A reference's report and a voice's status, in words.
import { fmtSeconds, h } from "./dom.js";

const WARNINGS = {
  low_snr: "There is a lot of background noise. Record again somewhere quieter, or turn on noise removal.",
  clipping: "The recording is distorted (too loud). Move back from the microphone or lower its gain.",
  short_reference: "The speech is short. 10 to 30 seconds of clear speech makes a closer clone.",
  long_reference_truncated: "Only the first part was used: a voice needs no more than that.",
};

export function warningText(code) {
  return WARNINGS[code] || code.replaceAll("_", " ");
}

// ffmpeg's demuxer names, as a person calls the file.
const CONTAINERS = { "matroska,webm": "WebM", "mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV", ogg: "Ogg", wav: "WAV",
  flac: "FLAC", mp3: "MP3", aiff: "AIFF", aac: "AAC" };

export function reportView(report) {
  const rows = [
    ["File", report.filename || "recording"],
    ["Speech", `${fmtSeconds(report.speech_s)} of ${fmtSeconds(report.duration_s)}`],
    ["Loudness", report.loudness_lufs === null ? "–" : `${report.loudness_lufs.toFixed(1)} LUFS`],
    ["Noise (SNR)", report.snr_db === null ? "–" : `${report.snr_db.toFixed(0)} dB`],
    ["Clipping", `${(report.clipping_ratio * 100).toFixed(2)} %`],
    ["Source", `${CONTAINERS[report.container] || report.container}${report.has_video ? " (video: its sound was used)" : ""}, ${report.sample_rate_in} Hz`],
  ];
  const warnings = report.warnings || [];
  return h("div", { class: "report" },
    h("dl", { class: "report" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    warnings.length
      ? h("ul", { class: "warnings", "aria-label": "Warnings" },
        warnings.map((w) => h("li", { class: "pill warn" }, warningText(w))))
      : h("p", { class: "pill ok" }, "A good recording."));
}

const STATUS = {
  instant: ["Ready to speak; refining", "warn"],
  refining: ["Refining (speaks already)", "warn"],
  ready: ["Ready", "ok"],
  failed: ["Refinement failed: the first version is used", "bad"],
};

export function statusPill(voice) {
  const [text, tone] = STATUS[voice.profile_status] || [voice.profile_status, ""];
  const similarity = voice.profile_similarity === null || voice.profile_similarity === undefined
    ? "" : ` · similarity ${voice.profile_similarity.toFixed(2)}`;
  return h("span", { class: `pill ${tone}`, "data-status": voice.profile_status }, text + similarity);
}
