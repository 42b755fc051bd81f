// Playing speech as it arrives: MP3 through Media Source Extensions, so the first words play
// while the rest is still being spoken; other formats play once whole.

/** Plays `response`'s body in `audio`; resolves to the whole audio as a Blob. */
export async function playStreaming(audio, response, type) {
  if (audio.src.startsWith("blob:")) URL.revokeObjectURL(audio.src);  // the previous speech
  if (type === "audio/mpeg" && window.MediaSource && MediaSource.isTypeSupported(type)) {
    return playThroughMediaSource(audio, response, type);
  }
  const blob = await response.blob();
  audio.src = URL.createObjectURL(blob);
  audio.play().catch(() => {});
  return blob;
}

async function playThroughMediaSource(audio, response, type) {
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
  const buffer = source.addSourceBuffer(type);
  const appended = () => new Promise((resolve) => buffer.addEventListener("updateend", resolve, { once: true }));
  const reader = response.body.getReader();
  const parts = [];
  let started = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    buffer.appendBuffer(value);
    await appended();
    if (!started) { started = true; audio.play().catch(() => {}); }
  }
  if (source.readyState === "open") source.endOfStream();
  return new Blob(parts, { type });
}

/** Draw `blob`'s waveform on `canvas` (peaks per pixel column). */
export async function drawWaveform(canvas, blob) {
  const ctx = new OfflineAudioContext(1, 1, 44100);
  let decoded;
  try {
    decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
  } catch {
    return;  // a format this browser cannot decode: no picture, the audio still plays
  }
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 64;
  canvas.width = width * devicePixelRatio;
  canvas.height = height * devicePixelRatio;
  const g = canvas.getContext("2d");
  g.scale(devicePixelRatio, devicePixelRatio);
  g.fillStyle = getComputedStyle(document.documentElement).getPropertyValue("--accent") || "#55f";
  const data = decoded.getChannelData(0);
  const step = Math.max(1, Math.floor(data.length / width));
  for (let x = 0; x < width; x++) {
    let peak = 0;
    for (let i = x * step; i < (x + 1) * step && i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
    const bar = Math.max(1, peak * height);
    g.fillRect(x, (height - bar) / 2, 1, bar);
  }
}
