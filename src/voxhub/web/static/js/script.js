// One script: edit its lines, render it (audio or video, with ambience), watch the job live,
// then play the result. Rendering again after an edit re-speaks only the lines that changed.
import { api } from "./api.js";
import { busy, dialog, field, fill, fmtSeconds, h, toast } from "./dom.js";
import { FINAL, followJob, progressView, tone } from "./progress.js";

export async function render(main, { args }) {
  const [id] = args;
  const [script, beds, backgrounds] = await Promise.all([
    api(`/api/v1/scripts/${id}`), api("/api/v1/ambience"), api("/api/v1/backgrounds").catch(() => ({ items: [] })),
  ]);
  const cast = new Map();
  await Promise.all(script.character_ids.map(async (cid) => {
    try { cast.set(cid, await api(`/api/v1/characters/${cid}`)); } catch { /* deleted since */ }
  }));
  const lines = h("ol", { class: "lines", "aria-label": "Lines" });
  const output = h("section", { class: "card", "aria-labelledby": "render-title" });
  let state = script;
  const streams = [];

  const showLines = () => fill(lines, state.lines.map((line, i) => lineRow(line, i)));
  function lineRow(line, i) {
    const speaker = cast.get(line.speaker);
    const edit = h("button", { type: "button", class: "ghost" }, "Edit");
    edit.addEventListener("click", () => editLine(line));
    const up = h("button", { type: "button", class: "ghost", "aria-label": `Move line ${i + 1} up`, disabled: i === 0 }, "↑");
    up.addEventListener("click", busy(up, () => move(i, -1)));
    const down = h("button", { type: "button", class: "ghost", "aria-label": `Move line ${i + 1} down`,
      disabled: i === state.lines.length - 1 }, "↓");
    down.addEventListener("click", busy(down, () => move(i, 1)));
    const remove = h("button", { type: "button", class: "ghost", "aria-label": `Delete line ${i + 1}` }, "✕");
    remove.addEventListener("click", busy(remove, async () => {
      state = await api(`/api/v1/scripts/${id}/lines/${line.id}`, { method: "DELETE" }); showLines();
    }));
    return h("li", { class: "line", "data-line": line.id },
      h("strong", {}, speaker ? speaker.display_name : "(deleted character)"),
      line.emotion ? h("span", { class: "pill" }, line.emotion) : null,
      line.pause_ms ? h("span", { class: "hint" }, ` pause ${line.pause_ms} ms`) : null,
      h("p", { class: "say" }, line.text), h("div", { class: "actions" }, edit, up, down, remove));
  }
  async function move(i, by) {
    const ids = state.lines.map((l) => l.id);
    [ids[i], ids[i + by]] = [ids[i + by], ids[i]];
    state = await api(`/api/v1/scripts/${id}/order`, { method: "POST", body: { line_ids: ids } });
    showLines();
  }
  function editLine(line) {
    const speaker = h("select", {}, [...cast.values()].map((c) => h("option", { value: c.id }, c.display_name)));
    speaker.value = line.speaker;
    const moods = () => [h("option", { value: "" }, "None"),
      ...(cast.get(speaker.value)?.images || []).filter((im) => im.label).map((im) => h("option", { value: im.label }, im.label))];
    const emotion = h("select", {}, moods());
    emotion.value = line.emotion || "";
    speaker.addEventListener("change", () => fill(emotion, moods()));
    const text = h("textarea", { rows: "3", maxlength: "1000", required: true }, line.text);
    const pause = h("input", { type: "number", min: "0", max: "10000", step: "1", value: String(line.pause_ms ?? "") });
    const save = h("button", { type: "submit" }, "Save line");
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {}, field("Speaker", speaker), field("Text", text),
      h("div", { class: "row" }, field("Mood (image)", emotion), field("Pause after (ms)", pause)), error,
      h("div", { class: "actions" }, save, h("button", { type: "button", class: "ghost", onclick: () => d.close() }, "Cancel")));
    const d = dialog("Edit line", form);
    form.addEventListener("submit", busy(save, async () => {
      try {
        const changed = await api(`/api/v1/scripts/${id}/lines/${line.id}`, { method: "PATCH", body: {
          speaker: speaker.value, text: text.value.trim(), emotion: emotion.value || null,
          pause_ms: pause.value === "" ? null : Number(pause.value) } });
        state.lines = state.lines.map((l) => (l.id === line.id ? changed : l));
        d.close(); showLines(); toast("Line saved: render again to hear it.");
      } catch (err) { error.textContent = err.message; }
    }));
  }

  const kind = h("select", {}, [["audio", "Dialogue audio"], ["video", "Video (MP4)"]].map(([v, l]) => h("option", { value: v }, l)));
  const bed = h("select", {}, [h("option", { value: "" }, "No ambience"),
    ...beds.items.map((b) => h("option", { value: b.name, title: b.description }, b.name.replaceAll("_", " ")))]);
  const level = h("input", { type: "range", min: "-40", max: "-6", step: "1", value: "-22" });
  const background = h("select", {}, [h("option", { value: "" }, "Generated background"),
    ...backgrounds.items.map((b) => h("option", { value: b.id }, b.name))]);
  const backgroundField = field("Background", background);
  backgroundField.hidden = true;
  kind.addEventListener("change", () => { backgroundField.hidden = kind.value !== "video"; });
  const go = h("button", { type: "submit" }, "Render");
  const controls = h("form", { class: "card", "aria-labelledby": "controls-title" }, h("h2", { id: "controls-title" }, "Render"),
    h("div", { class: "row" }, field("Output", kind), field("Ambience", bed),
      field("Ambience level (dB)", level), backgroundField), h("div", { class: "actions" }, go));
  controls.addEventListener("submit", busy(go, async () => {
    const body = { kind: kind.value, format: "mp3" };
    if (bed.value) body.ambience = { bed: bed.value, bed_gain_db: Number(level.value) };
    if (kind.value === "video" && background.value) body.background = background.value;
    const started = await api(`/api/v1/scripts/${id}/renders`, { method: "POST", body });
    follow(started);
  }));

  function follow(r) {
    showRender(r);
    if (FINAL.includes(r.status)) return;
    let finished = false;
    const stop = followJob(r.job_id, async (job) => {
      if (finished) return;
      if (!FINAL.includes(job.status)) {
        showRender({ ...r, status: job.status, progress: job.progress, steps: job.steps || r.steps });
        return;
      }
      finished = true;
      stop();
      try {
        showRender(await api(`/api/v1/renders/${r.id}`));
        toast(`The ${r.kind} render ${job.status}.`, job.status !== "succeeded");
      } catch (err) { toast(err.message, true); }
    });
    streams.push(stop);
  }
  function showRender(r) {
    const done = r.status === "succeeded";
    fill(output, h("h2", { id: "render-title" }, `${r.kind === "video" ? "Video" : "Audio"}: `,
      h("span", { class: `pill ${tone(r.status)}`, "data-status": r.status }, r.status)),
    progressView(r, "Render progress"),
    r.error ? h("p", { class: "error" }, r.error.detail || r.error.message || r.error.code) : null,
    done && r.video_url ? h("video", { controls: true, src: r.video_url, "aria-label": "The video", preload: "metadata" },
      r.captions_vtt_url ? h("track", { kind: "captions", src: r.captions_vtt_url, srclang: "en", label: "Captions", default: true }) : null) : null,
    done && r.audio_url && !r.video_url ? h("audio", { controls: true, src: r.audio_url, "aria-label": "The dialogue" }) : null,
    done ? h("p", { class: "hint" }, fmtSeconds(r.duration_s),
      r.loudness_lufs === null ? "" : ` · ${r.loudness_lufs.toFixed(1)} LUFS`) : null,
    done ? h("div", { class: "actions" },
      r.audio_url ? h("a", { class: "button ghost", href: r.audio_url, download: `script-${id}.mp3` }, "Download audio") : null,
      r.video_url ? h("a", { class: "button ghost", href: r.video_url, download: `script-${id}.mp4` }, "Download video") : null,
      r.captions_srt_url ? h("a", { class: "button ghost", href: r.captions_srt_url, download: `script-${id}.srt` }, "Captions (SRT)") : null) : null,
    done && r.lines.length ? h("details", {}, h("summary", {}, "Each line on its own"),
      h("ol", {}, r.lines.map((l) => h("li", {}, `${cast.get(l.speaker)?.display_name || "?"} (${l.start.toFixed(1)} s) `,
        h("audio", { controls: true, preload: "none", src: l.audio_url, "aria-label": `Line ${l.index + 1}` }))))) : null);
  }

  const heading = h("h1", {}, state.title || "Untitled script");
  const rename = h("button", { type: "button", class: "ghost" }, "Rename");
  rename.addEventListener("click", busy(rename, async () => {
    const title = prompt("Title of the script", state.title);
    if (title === null) return;
    state = await api(`/api/v1/scripts/${id}`, { method: "PATCH", body: { title: title.trim() } });
    heading.textContent = state.title || "Untitled script";
  }));
  main.append(h("div", { class: "row heading" }, heading, h("div", { class: "shrink" }, rename)),
    h("p", { class: "lead" }, state.prompt),
    h("section", { class: "card", "aria-label": "Dialogue" }, lines), controls, output);
  output.hidden = true;
  const observer = new MutationObserver(() => { output.hidden = !output.childElementCount; });
  observer.observe(output, { childList: true });
  showLines();
  const previous = await api(`/api/v1/scripts/${id}/renders?limit=1`).catch(() => ({ items: [] }));
  if (previous.items[0]) follow(previous.items[0]);
  return () => { observer.disconnect(); streams.forEach((stop) => stop()); };
}
