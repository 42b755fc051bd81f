// Chat with a character: the reply is written as it streams, and spoken sentence by sentence in
// the character's voice while the rest is still being written.
import { api, raw, whileStarting } from "./api.js";
import { busy, field, fill, h, toast } from "./dom.js";
import { imageUrl } from "./characters.js";

export async function render(main, { args }) {
  const [characterId, chatId] = args;
  if (!characterId) { location.hash = "#/characters"; return null; }
  const character = await api(`/api/v1/characters/${characterId}`);
  const threads = h("ul", { class: "threads" });
  const log = h("ol", { class: "messages", "aria-label": "Messages", "aria-live": "polite" });
  const content = h("textarea", { rows: "2", maxlength: "4000", required: true, placeholder: `Say something to ${character.display_name}` });
  const speak = h("input", { type: "checkbox", checked: true });
  const send = h("button", { type: "submit" }, "Send");
  const player = new ClipQueue();
  const leaving = new AbortController();  // leaving the page ends the reply (and its cost)
  let current = chatId || null;

  async function loadThreads() {
    const page = await api(`/api/v1/chats?character_id=${encodeURIComponent(characterId)}&limit=50`);
    fill(threads, page.items.map((t) => h("li", {}, h("a", {
      href: `#/chat/${characterId}/${t.id}`, "aria-current": t.id === current ? "page" : null,
    }, t.title || `Chat of ${new Date(t.created_at).toLocaleString()}`))));
    if (!page.items.length) threads.append(h("li", { class: "muted" }, "No chat yet."));
    return page.items;
  }
  async function loadMessages() {
    fill(log);
    if (!current) { log.append(h("li", { class: "empty" }, `Start talking to ${character.display_name}.`)); return; }
    const page = await api(`/api/v1/chats/${current}/messages?limit=50`);
    for (const m of page.items.reverse()) log.append(bubble(m.role, m.content, m.audio_url));
  }

  const form = h("form", { class: "composer" }, field("Message", content),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", {}, speak, " Speak the replies")),
      h("div", { class: "shrink field" }, send)));
  content.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", busy(send, async () => {
    const text = content.value.trim();
    if (!text) return;
    if (!current) {
      current = (await api("/api/v1/chats", { method: "POST", body: { character_id: characterId, title: text.slice(0, 60) } })).id;
      history.replaceState(null, "", `#/chat/${characterId}/${current}`);
      await loadThreads();
      fill(log);
    }
    content.value = "";
    log.append(bubble("user", text));
    const reply = bubble("assistant", "");
    reply.classList.add("writing");
    log.append(reply);
    const words = reply.querySelector(".text");
    const response = await ask(current, text, speak.checked, words, leaving.signal).catch((err) => {
      reply.classList.remove("writing"); reply.classList.add("failed");
      words.textContent = err.message;
      throw err;
    });
    for await (const { event, data } of readEvents(response)) {
      if (event === "delta") words.textContent += data.text;
      else if (event === "audio") player.add(data.audio_base64);
      else if (event === "audio_error") toast(`The reply could not be spoken: ${data.detail}`, true);
      else if (event === "error") { reply.classList.add("failed"); words.textContent += ` (${data.detail || data.title})`; }
      else if (event === "done") { words.textContent = data.content; addReplay(reply, data.audio_url); }
    }
    reply.classList.remove("writing");
  }));

  const portrait = character.images[0]
    ? h("img", { class: "portrait", src: imageUrl(character, character.images[0]), alt: character.display_name, width: "64", height: "64" })
    : null;
  const newChat = h("a", { class: "button ghost", href: `#/chat/${characterId}` }, "New chat");
  main.append(h("div", { class: "row heading" }, portrait, h("h1", {}, `Chat with ${character.display_name}`)),
    h("div", { class: "chat" },
      h("nav", { class: "card", "aria-label": "Chats" }, h("h2", {}, "Chats"), newChat, threads),
      h("section", { class: "card", "aria-label": "Conversation" }, log, form, player.audio)));
  await Promise.all([loadThreads(), loadMessages()]);
  content.focus();
  return () => { leaving.abort(); player.stop(); };
}

/** Send the message; while the model is still loading (503), wait as told and ask for the reply
 * to the message already stored. Resolves to the streaming Response. */
function ask(chatId, text, speak, words, signal) {
  const options = { stream: true, speak };
  return whileStarting(async (attempt) => {
    const [path, body] = attempt === 0
      ? [`/api/v1/chats/${chatId}/messages`, { content: text, ...options }]
      : [`/api/v1/chats/${chatId}/reply`, options];
    const response = await raw(path, { method: "POST", body, signal });
    words.textContent = "";
    return response;
  }, (message) => { words.textContent = message; });
}

function bubble(role, text, audioUrl) {
  const el = h("li", { class: `bubble ${role}` }, h("span", { class: "sr-only" }, role === "user" ? "You: " : "Reply: "),
    h("span", { class: "text" }, text));
  addReplay(el, audioUrl);
  return el;
}

function addReplay(el, audioUrl) {
  if (!audioUrl || el.querySelector("audio")) return;
  el.append(h("audio", { controls: true, preload: "none", src: audioUrl, "aria-label": "Spoken reply" }));
}

/** Server-sent events from a fetch Response (EventSource cannot POST). */
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message"; let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

/** Plays spoken sentences one after another as they arrive. */
class ClipQueue {
  constructor() {
    // In the page (hidden) so that what it played can be seen: data-played counts sentences.
    this.audio = h("audio", { hidden: true, "data-played": "0", "aria-label": "Reply voice" });
    this.queue = [];
    this.stopped = false;
    this.audio.addEventListener("ended", () => this.next());
    this.audio.addEventListener("error", () => this.next());  // an undecodable clip is skipped
    this.audio.addEventListener("playing", () => {
      this.audio.dataset.played = String(Number(this.audio.dataset.played) + 1);
    });
  }

  add(base64) {
    if (this.stopped) return;
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    this.queue.push(URL.createObjectURL(new Blob([bytes], { type: "audio/mpeg" })));
    if (!this.playing) this.next();
  }

  next() {
    if (this.audio.src.startsWith("blob:")) URL.revokeObjectURL(this.audio.src);
    const url = this.stopped ? undefined : this.queue.shift();
    this.playing = Boolean(url);
    if (!url) return;
    this.audio.src = url;
    this.audio.play().catch(() => this.next());
  }

  stop() {
    this.stopped = true;
    this.audio.pause();
    this.queue.forEach((url) => URL.revokeObjectURL(url));
    this.queue = [];
  }
}
