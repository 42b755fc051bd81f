// Recording from the microphone: a countdown, a level meter, a timer, then a Blob to play back.
import { h } from "./dom.js";

export const SUGGESTED = "The quick brown fox jumps over the lazy dog. I like to spend quiet "
  + "mornings by the sea, reading a good book and listening to the waves. Please call me back "
  + "when you have a moment; I would love to hear how your week went.";
const MAX_SECONDS = 30;

/** `text`: what to read (null: the page shows it elsewhere); `label` names the recording and
 * `meterLabel` its level meter. */
export function recorderView(onRecorded,
  { text = SUGGESTED, label = "Your recording", meterLabel = "Microphone level" } = {}) {
  const meterBar = h("div");
  const meter = h("div", { class: "meter", role: "meter", "aria-label": meterLabel,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, meterBar);
  const timer = h("p", { class: "big", "aria-live": "off" }, "0:00");
  const status = h("p", { class: "muted", role: "status" }, "Read the text aloud when the countdown ends.");
  const start = h("button", { type: "button" }, "Start recording");
  const stop = h("button", { type: "button", class: "ghost", disabled: true }, "Stop");
  const playback = h("audio", { controls: true, hidden: true, "aria-label": label });
  let stream = null; let recorder = null; let ctx = null; let raf = 0; let tick = 0;
  let discard = false;

  function release() {
    cancelAnimationFrame(raf); clearInterval(tick);
    if (stream) stream.getTracks().forEach((t) => t.stop());
    if (ctx) ctx.close().catch(() => {});
    stream = null; ctx = null;
  }

  function showLevel(analyser) {
    const data = new Float32Array(analyser.fftSize);
    const draw = () => {
      analyser.getFloatTimeDomainData(data);
      let peak = 0;
      for (const v of data) peak = Math.max(peak, Math.abs(v));
      const pct = Math.min(100, Math.round(Math.sqrt(peak) * 100));
      meterBar.style.width = `${pct}%`;
      meter.setAttribute("aria-valuenow", String(pct));
      raf = requestAnimationFrame(draw);
    };
    draw();
  }

  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: true },
      });
    } catch (err) {
      status.textContent = `The microphone is not available (${err.name}). Allow it for this page, or upload a file instead.`;
      start.disabled = false;
      return;
    }
    ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    showLevel(analyser);
    for (const n of [3, 2, 1]) {
      status.textContent = `Recording in ${n}…`;
      await new Promise((r) => setTimeout(r, 700));
    }
    if (!stream) return;  // the person left the page during the countdown
    const chunks = [];
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"]
      .find((t) => MediaRecorder.isTypeSupported(t));
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    recorder.addEventListener("dataavailable", (e) => { if (e.data.size) chunks.push(e.data); });
    recorder.addEventListener("stop", () => {
      release();
      if (discard) { discard = false; return; }  // cleared while recording
      const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      playback.src = URL.createObjectURL(blob);
      playback.hidden = false;
      status.textContent = "Listen back, then create the voice (or record again).";
      start.textContent = "Record again";
      start.disabled = false; stop.disabled = true;
      onRecorded(blob);
    });
    const began = performance.now();
    recorder.start(250);
    status.textContent = "Recording: read the text aloud.";
    stop.disabled = false;
    tick = setInterval(() => {
      const s = Math.floor((performance.now() - began) / 1000);
      timer.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
      if (s >= MAX_SECONDS) stop.click();
    }, 200);
  });
  stop.addEventListener("click", () => {
    if (recorder && recorder.state === "recording") recorder.stop();
  });

  /** Forget the recording (what it read is no longer asked). */
  function clear(message) {
    if (recorder && recorder.state === "recording") { discard = true; recorder.stop(); }
    playback.hidden = true; playback.removeAttribute("src");
    start.textContent = "Start recording";
    start.disabled = false; stop.disabled = true;
    timer.textContent = "0:00"; status.textContent = message;
  }

  const el = h("div", {},
    text ? h("p", { class: "script", id: "suggested-text" }, text) : null,
    h("div", { class: "row" }, h("div", {}, meter), h("div", { class: "shrink" }, timer)),
    status, h("div", { class: "actions" }, start, stop), playback);
  return { el, release, clear };
}
