// IFVC Studio page. Plain JavaScript, no external resources.
// The server draws every frame (the reference decoder's synthesis); the page asks for the frame
// under the current edits over a WebSocket, one request in flight, and keeps only the newest
// request waiting (latest wins), so dragging never queues stale frames. (Two in flight, ?depth=2,
// let the server draw the next frame while the page shows the last; on the 2-core development
// machine that gained little and not consistently, tools/bench_studio.py, and shows a frame
// one step behind the slider.)
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  session: null, info: null, frame: 0, focus: "head_yaw",
  edits: [], undo: [], redo: [], draft: null,
  socket: null, connecting: null, inflight: [], pending: null, nextId: 1, header: null,
  playing: false, playTimer: null, lastShown: 0,
  curve: null, editedAll: null, lastBlob: null, lastBlobUrl: null,
  frameTimes: [], roundTrips: [], serverMs: [], firstFrameMs: null,
};
window.studio = state;          // read by the browser tests and the benchmark

// ---------------------------------------------------------------- messages
function message(kind, text) {
  const box = $("messages");
  const div = document.createElement("div");
  div.className = `message ${kind}`;
  div.textContent = text;
  box.prepend(div);
  while (box.children.length > 4) box.lastChild.remove();
}
function clearMessages() { $("messages").replaceChildren(); }

async function errorText(resp) {
  try { const body = await resp.json(); if (body && body.error) return body.error; } catch (e) { /* not JSON */ }
  return `the server answered ${resp.status} ${resp.statusText}`;
}

// ---------------------------------------------------------------- edits
function opName() { return document.querySelector("input[name=op]:checked").value; }
function rangeFirst() { return clampFrame(parseInt($("range-first").value, 10) || 0); }
function rangeLast() { return Math.max(rangeFirst(), clampFrame(parseInt($("range-last").value, 10) || 0)); }
// Frames are numbered as in the stream (frame_idx, as --edit counts them): first..last, where
// first is 0 unless the stream starts later.
function firstFrame() { return state.info ? state.info.first_frame : 0; }
function lastFrame() { return state.info ? state.info.first_frame + state.info.frames - 1 : 0; }
function clampFrame(i) { return Math.min(Math.max(i, firstFrame()), lastFrame()); }
function fmt(v) { return String(Number(Number(v).toFixed(4))); }
function rangeText() { const a = rangeFirst(), b = rangeLast(); return a === b ? `${a}` : `${a}-${b}`; }
function editText(element, op, value) {
  return op === "hold" ? `${element}:hold@${rangeText()}` : `${element}:${op}=${fmt(value)}@${rangeText()}`;
}
function sameTarget(a, b) {                     // element, operation and frames equal
  const [ea, ra] = [a.split("=")[0].split("@")[0], a.split("@")[1]];
  const [eb, rb] = [b.split("=")[0].split("@")[0], b.split("@")[1]];
  return ea === eb && ra === rb;
}
function previewEdits() { return state.draft ? [...state.edits, state.draft] : state.edits; }

function commit(newEdits) {
  state.undo.push(state.edits);
  state.redo = [];
  state.edits = newEdits;
  state.draft = null;
  editsChanged();
}
function commitDraft() {
  if (!state.draft) return;
  const last = state.edits[state.edits.length - 1];
  const base = last && sameTarget(last, state.draft) ? state.edits.slice(0, -1) : state.edits;
  commit([...base, state.draft]);
}
function editsChanged() {
  renderEdits();
  requestFrame();
  fetchValues();
}
// Every element's edited values (the server replays the edits as the decoder does): the plot
// and, for "set", the sliders' positions at the playhead.
async function fetchValues() {
  if (!state.session) return;
  const edits = state.edits.slice();
  try {
    const resp = await fetch("/api/values", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session: state.session, edits }) });
    if (!resp.ok) return;                         // the preview request reports the error
    const r = await resp.json();
    if (JSON.stringify(edits) !== JSON.stringify(state.edits)) return;   // stale
    state.editedAll = r.edited;
    state.curve = null;
    drawCurves();
    syncSliders();
  } catch (e) { /* the preview request reports connection errors */ }
}
function editedValue(k, i) {
  return (state.editedAll ? state.editedAll[k] : state.info.original[k])[i - firstFrame()];
}
function syncSliders() {                          // "set": each slider shows the value at the playhead
  if (!state.info || opName() !== "set" || state.draft) return;
  state.info.elements.forEach((el, k) => {
    const slider = $(`slider-${el.name}`);
    if (!slider || slider.disabled) return;
    slider.value = editedValue(k, state.frame);
    slider.parentElement.querySelector("output").textContent = fmt(slider.value);
  });
}
function renderEdits() {
  const list = $("edit-list");
  list.replaceChildren(...state.edits.map((text, k) => {
    const li = document.createElement("li");
    li.append(text);
    const rm = document.createElement("button");
    rm.textContent = "×"; rm.title = "remove this edit";
    rm.onclick = () => commit(state.edits.filter((_, j) => j !== k));
    li.append(rm);
    return li;
  }));
  const name = state.info ? state.info.name : "STREAM.ifvc";
  const args = state.edits.map((e) => ` \\\n    --edit ${e}`).join("");
  const character = state.info && state.info.character ? " \\\n    --character CHARACTER.ifvc" : "";
  $("cli").textContent = `ifvc-decode ${name} -o out.mp4${character}${args}\n` +
    (state.edits.length ? `ifvc-edit ${name} -o edited.ifvc${args}` : "");
  $("undo").disabled = !state.undo.length;
  $("redo").disabled = !state.redo.length;
  $("clear-edits").disabled = !state.edits.length;
}

// ---------------------------------------------------------------- element sliders
function niceStep(x) {                             // 1, 2 or 5 times a power of ten, at most x
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  return [5, 2, 1].map((m) => m * p).find((s) => s <= x);
}
function sliderRange(el, op) {
  const step = niceStep((el.max - el.min) / 1000);
  if (op === "set") return el.name === "head_loc" ? [0, 15, 1] : [el.min, el.max, step];
  if (op === "offset") { const h = (el.max - el.min) / 2; return [-h, h, step]; }
  return [0, 3, 0.01];                            // scale
}
function sliderStart(el, op) {
  if (op === "offset") return 0;
  if (op === "scale") return 1;
  return editedValue(state.info.elements.indexOf(el), state.frame);
}
function buildSliders() {
  const box = $("elements");
  box.replaceChildren();
  if (!state.info) return;
  const op = opName();
  for (const el of state.info.elements) {
    const row = document.createElement("div");
    row.className = "element" + (el.name === state.focus ? " focus" : "") + (el.signalled ? "" : " unsignalled");
    row.dataset.element = el.name;
    const name = document.createElement("span");
    name.className = "name"; name.textContent = el.name;
    name.title = `${el.unit}, ${el.min}..${el.max}` + (el.signalled ? "" : " (not signalled: the decoder can edit it, ifvc-edit cannot)");
    name.onclick = () => setFocus(el.name);
    const slider = document.createElement("input");
    slider.type = "range"; slider.id = `slider-${el.name}`;
    const out = document.createElement("output");
    const hold = document.createElement("button");
    hold.textContent = "hold"; hold.id = `hold-${el.name}`;
    hold.title = "keep the value of the range's first frame over the range";
    const invalid = el.name === "head_loc" && (op === "offset" || op === "scale");
    if (op === "hold" || invalid) {
      slider.disabled = true;
    } else {
      const [lo, hi, step] = sliderRange(el, op);
      slider.min = lo; slider.max = hi; slider.step = step;
      slider.value = sliderStart(el, op);
    }
    hold.disabled = op !== "hold";
    out.textContent = slider.disabled ? "" : fmt(slider.value);
    slider.addEventListener("input", () => {
      out.textContent = fmt(slider.value);
      if (state.focus !== el.name) setFocus(el.name, false);
      state.draft = editText(el.name, op, slider.value);
      requestFrame();
    });
    slider.addEventListener("change", () => { state.draft = editText(el.name, op, slider.value); commitDraft(); });
    hold.onclick = () => { setFocus(el.name, false); state.draft = editText(el.name, "hold"); commitDraft(); };
    row.append(name, slider, out, hold);
    box.append(row);
  }
}
function setFocus(name, refresh = true) {
  state.focus = name;
  $("focus-label").textContent = name;
  for (const row of document.querySelectorAll(".element")) row.classList.toggle("focus", row.dataset.element === name);
  state.curve = null;
  drawCurves();
  if (refresh) requestFrame();
}

// ---------------------------------------------------------------- preview over the WebSocket
function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.binaryType = "blob";
    ws.onopen = () => { state.socket = ws; resolve(ws); };
    ws.onerror = () => reject(new Error("the preview connection failed"));
    ws.onclose = () => { if (state.socket === ws) { state.socket = null; state.inflight = []; } };
    ws.onmessage = onSocketMessage;
  });
}

function requestFrame() {
  if (!state.session) return;
  const req = { id: state.nextId++, session: state.session, frame: state.frame,
                edits: previewEdits(), focus: state.focus };
  $("preview").dataset.settled = "0";
  if (state.inflight.length >= MAX_IN_FLIGHT) { state.pending = req; return; }
  send(req);
}
// ?depth=N (1..4) changes it, for tools/bench_studio.py's comparison
const MAX_IN_FLIGHT = Math.min(Math.max(parseInt(new URLSearchParams(location.search).get("depth") || "1", 10) || 1, 1), 4);
async function send(req) {
  const entry = { req, sent: performance.now() };
  state.inflight.push(entry);
  try {
    if (!state.socket) state.connecting = state.connecting || connect().finally(() => { state.connecting = null; });
    const ws = state.socket || await state.connecting;
    ws.send(JSON.stringify(req));
  } catch (e) {
    state.inflight = state.inflight.filter((x) => x !== entry);
    message("error", String(e.message || e));
  }
}
function onSocketMessage(ev) {
  if (typeof ev.data === "string") {
    const header = JSON.parse(ev.data);
    if (header.error) { refused(header.error); finishRequest(); return; }
    state.header = header;
    return;                                       // the PNG follows
  }
  const header = state.header, inflight = state.inflight[0];
  state.header = null;
  if (!header || !inflight) return;
  showFrame(ev.data, header, inflight);
  finishRequest();
}
// An edit the server refuses (unreadable, outside the stream) is taken back, with its message.
function refused(text) {
  message("error", text);
  const req = state.inflight.length ? state.inflight[0].req : null;
  if (!req) return;
  if (state.draft && req.edits.includes(state.draft)) { state.draft = null; return; }
  if (JSON.stringify(req.edits) === JSON.stringify(state.edits) && state.undo.length) {
    state.edits = state.undo.pop();
    renderEdits();
    requestFrame();
  }
}
function finishRequest() {
  state.inflight.shift();
  if (state.pending) { const next = state.pending; state.pending = null; send(next); }
  else if (state.inflight.length) return;
  else if (state.playing) schedulePlay();
  else $("preview").dataset.settled = "1";
}
function showFrame(blob, header, inflight) {
  const img = $("preview");
  const url = URL.createObjectURL(blob);
  img.src = url;
  if (state.lastBlobUrl) URL.revokeObjectURL(state.lastBlobUrl);
  state.lastBlobUrl = url;
  state.lastBlob = blob;
  img.dataset.frame = String(header.frame);
  img.dataset.edits = JSON.stringify(inflight.req.edits);
  const now = performance.now();
  state.frameTimes.push(now);
  if (state.frameTimes.length > 30) state.frameTimes.shift();
  state.roundTrips.push(now - inflight.sent);
  if (state.roundTrips.length > 30) state.roundTrips.shift();
  state.serverMs.push(header.server_ms);
  if (state.serverMs.length > 30) state.serverMs.shift();
  if (state.firstFrameMs === null) state.firstFrameMs = now;
  if (header.curve && header.focus === state.focus) { state.curve = header.curve; }
  for (const w of header.warnings || []) if (!shownWarnings.has(w)) { shownWarnings.add(w); message("warning", w); }
  updateStats();
  drawCurves();
}
const shownWarnings = new Set();
function updateStats() {
  // frames/s over the frames shown in the last 2 s (a drag or playback); round trip and
  // server time per frame over the last 30
  const mean = (a) => a.reduce((x, y) => x + y, 0) / Math.max(a.length, 1);
  const t = state.frameTimes, last = t[t.length - 1], recent = t.filter((x) => last - x <= 2000);
  const busy = recent.length >= 10;              // a drag or playback, not a few clicks
  const fps = busy ? (1000 * (recent.length - 1)) / (last - recent[0]) : 0;
  $("stats").textContent = `preview ${busy ? fps.toFixed(1) : "–"} frames/s (last 2 s); ` +
    `round trip ${mean(state.roundTrips).toFixed(1)} ms, server ${mean(state.serverMs).toFixed(1)} ms per frame ` +
    `(edits + synthesis + PNG)`;
}

// ---------------------------------------------------------------- transport
function seek(i) {
  if (!state.info) return;
  state.frame = clampFrame(i);
  $("scrub").value = state.frame;
  $("frame-label").textContent = `frame ${state.frame} / ${lastFrame()}` +
    (state.info.key_frames.includes(state.frame) ? " (key)" : "");
  drawCurves();
  syncSliders();
  requestFrame();
}
function play(on) {
  state.playing = on && !!state.info;
  $("play").textContent = state.playing ? "Pause" : "Play";
  if (state.playing) { if (state.frame >= lastFrame()) seek(firstFrame()); state.lastShown = performance.now(); if (!state.inflight.length) schedulePlay(); }
  else clearTimeout(state.playTimer);
}
function schedulePlay() {
  clearTimeout(state.playTimer);
  const period = 1000 / (state.info.fps || 25);
  const wait = Math.max(0, period - (performance.now() - state.lastShown));
  state.playTimer = setTimeout(() => {
    if (!state.playing) return;
    if (state.frame >= lastFrame()) { play(false); $("preview").dataset.settled = "1"; return; }
    state.lastShown = performance.now();
    seek(state.frame + 1);
  }, wait);
}

// ---------------------------------------------------------------- curves
function drawCurves() {
  const cv = $("curves"), ctx = cv.getContext("2d");
  ctx.clearRect(0, 0, cv.width, cv.height);
  if (!state.info) return;
  const n = state.info.frames, k = state.info.elements.findIndex((e) => e.name === state.focus);
  const el = state.info.elements[k], orig = state.info.original[k];
  const edited = state.curve && state.curve.length === n ? state.curve : (state.editedAll ? state.editedAll[k] : null);
  const pad = 24, w = cv.width - 2 * pad, h = cv.height - 2 * pad;
  const all = edited ? orig.concat(edited) : orig;
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const m = (hi - lo) * 0.08; lo -= m; hi += m;
  const x = (i) => pad + (n > 1 ? ((i - firstFrame()) * w) / (n - 1) : w / 2);   // i: frame_idx
  const y = (v) => pad + h - ((v - lo) / (hi - lo)) * h;
  ctx.fillStyle = "rgba(243, 156, 50, .18)";
  ctx.fillRect(x(rangeFirst()) - 2, pad, Math.max(x(rangeLast()) - x(rangeFirst()), 0) + 4, h);
  ctx.fillStyle = "#6fcf97";
  for (const kf of state.info.key_frames) ctx.fillRect(x(kf) - 1, pad + h - 8, 2, 8);
  const line = (values, color, width) => {
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.beginPath();
    values.forEach((v, p) => (p ? ctx.lineTo(x(firstFrame() + p), y(v)) : ctx.moveTo(x(firstFrame() + p), y(v))));
    ctx.stroke();
  };
  if (edited) line(edited, "#f39c32", 2.5);
  ctx.setLineDash([5, 3]);
  line(orig, "#8fa3bf", 1.5);
  ctx.setLineDash([]);
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.beginPath();
  ctx.moveTo(x(state.frame), pad); ctx.lineTo(x(state.frame), pad + h); ctx.stroke();
  ctx.fillStyle = "#9aa0aa"; ctx.font = "11px sans-serif";
  ctx.fillText(`${el.name} (${el.unit})  ${fmt(hi)}`, pad, 14);
  ctx.fillText(fmt(lo), pad, cv.height - 6);
  ctx.fillText(`frame ${firstFrame()}`, pad + 60, cv.height - 6);
  ctx.fillText(`${lastFrame()}`, pad + w - 20, cv.height - 6);
}

// ---------------------------------------------------------------- sessions, uploads, exports
function setSession(session, info, keepEdits = false) {
  play(false);
  state.session = session; state.info = info;
  if (!keepEdits) { state.edits = []; state.undo = []; state.redo = []; state.draft = null; state.frame = info.first_frame; }
  state.curve = null; state.editedAll = null; state.firstFrameMs = null; shownWarnings.clear();
  document.body.dataset.state = "ready";
  for (const el of document.querySelectorAll(".needs-stream")) el.disabled = false;
  $("character-clear").disabled = !info.character;
  $("scrub").min = firstFrame(); $("scrub").max = lastFrame();
  $("range-first").min = $("range-last").min = firstFrame();
  $("range-first").max = $("range-last").max = lastFrame();
  if (!keepEdits) { $("range-first").value = firstFrame(); $("range-last").value = lastFrame(); }
  $("stream-info").textContent = `${info.name}: ${info.frames} frames, ${info.width}x${info.height}, ` +
    `${info.fps} fps, ${info.bytes} bytes, ${info.key_frames.length} key frame(s), generator ${info.generator}; ${info.hash}` +
    (info.character ? `; character: ${info.character}` : "");
  if (info.hash.includes("MISMATCH")) message("warning", `${info.name}: ${info.hash}`);
  buildSliders();
  renderEdits();
  seek(state.frame);
  if (keepEdits) fetchValues();
}

async function upload(url, file, what) {
  const resp = await fetch(url, { method: "POST", body: file });
  if (!resp.ok) throw new Error(await errorText(resp));
  return resp.json();
}
async function openStream(file) {
  document.body.dataset.state = "loading";
  try {
    const r = await upload(`/api/open?name=${encodeURIComponent(file.name)}`, file);
    clearMessages();
    setSession(r.session, r.info);
  } catch (e) {
    document.body.dataset.state = state.session ? "ready" : "empty";
    message("error", `cannot open ${file.name}: ${e.message}`);
  }
}
async function encodeVideo(file) {
  const qp = $("encode-qp").value, crop = $("encode-crop").checked ? 1 : 0, frames = $("encode-frames").value;
  showProgress(0, 1, `uploading ${file.name}`);
  try {
    let job = await upload(`/api/encode?name=${encodeURIComponent(file.name)}&qp=${qp}&crop=${crop}&frames=${frames}`, file);
    while (job.state === "running") {
      showProgress(job.done, job.total, `${job.stage}${job.total ? ` ${job.done}/${job.total}` : ""}`);
      await new Promise((r) => setTimeout(r, 300));
      const resp = await fetch(`/api/jobs/${job.job}`);
      if (!resp.ok) throw new Error(await errorText(resp));
      job = await resp.json();
    }
    if (job.state === "failed") throw new Error(job.message);
    if (job.message) message("warning", job.message);
    setSession(job.session, job.info);
  } catch (e) {
    message("error", e.message);
  } finally {
    $("progress").hidden = true;
  }
}
function showProgress(done, total, text) {
  $("progress").hidden = false;
  $("progress-bar").max = total || 1; $("progress-bar").value = done;
  $("progress-text").textContent = text;
}
async function setCharacter(file) {
  showProgress(0, 1, `making a character of ${file.name}`);
  try {
    const r = await upload(`/api/character?session=${state.session}&name=${encodeURIComponent(file.name)}`, file);
    setSession(r.session, r.info, true);
    message("info", `the stream now drives the face of ${file.name}`);
  } catch (e) {
    message("error", e.message);
  } finally {
    $("progress").hidden = true;
  }
}
async function clearCharacter() {
  const resp = await fetch(`/api/character/clear?session=${state.session}`, { method: "POST" });
  if (!resp.ok) { message("error", await errorText(resp)); return; }
  const r = await resp.json();
  setSession(r.session, r.info, true);
}
async function exportFile(kind) {
  showProgress(0, 1, `exporting .${kind === "stream" ? "ifvc" : "mp4"}`);
  try {
    const resp = await fetch(`/api/export/${kind}`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session: state.session, edits: state.edits }) });
    if (!resp.ok) throw new Error(await errorText(resp));
    for (const w of JSON.parse(resp.headers.get("X-IFVC-Warnings") || "[]")) message("warning", w);
    const name = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "")?.[1] || `edited.${kind}`;
    const blob = await resp.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = name;
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    message("info", `exported ${name} (${blob.size} bytes)` +
      (kind === "stream" ? `, ${resp.headers.get("X-IFVC-Changed-Frames")} frame(s) changed` : ""));
  } catch (e) {
    message("error", `export failed: ${e.message}`);
  } finally {
    $("progress").hidden = true;
  }
}
function dropFile(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".ifvc")) return openStream(file);
  if (file.type.startsWith("image/")) {
    if (!state.session) { message("error", "open a stream first: its motion drives the character"); return; }
    return setCharacter(file);
  }
  if (file.type.startsWith("video/") || /\.(mp4|mov|avi|mkv|webm)$/.test(name)) return encodeVideo(file);
  message("error", `${file.name}: drop an .ifvc stream, a video or a face photo`);
}

// ---------------------------------------------------------------- wiring
function fileInput(id, fn) {
  $(id).addEventListener("change", (ev) => { const f = ev.target.files[0]; ev.target.value = ""; if (f) fn(f); });
}
fileInput("open-stream", openStream);
fileInput("encode-video", encodeVideo);
fileInput("character-photo", setCharacter);
$("character-clear").onclick = clearCharacter;
$("export-stream").onclick = () => exportFile("stream");
$("export-mp4").onclick = () => exportFile("mp4");
$("first").onclick = () => { play(false); seek(firstFrame()); };
$("last").onclick = () => { play(false); seek(lastFrame()); };
$("step-back").onclick = () => { play(false); seek(state.frame - 1); };
$("step-forward").onclick = () => { play(false); seek(state.frame + 1); };
$("play").onclick = () => play(!state.playing);
$("scrub").addEventListener("input", () => { play(false); seek(parseInt($("scrub").value, 10)); });
for (const r of document.querySelectorAll("input[name=op]")) r.addEventListener("change", buildSliders);
for (const id of ["range-first", "range-last"]) $(id).addEventListener("change", () => { drawCurves(); });
$("range-first-here").onclick = () => { $("range-first").value = state.frame; if (rangeLast() < state.frame) $("range-last").value = state.frame; drawCurves(); };
$("range-last-here").onclick = () => { $("range-last").value = state.frame; if (rangeFirst() > state.frame) $("range-first").value = state.frame; drawCurves(); };
$("range-all").onclick = () => { $("range-first").value = firstFrame(); $("range-last").value = lastFrame(); drawCurves(); };
$("undo").onclick = () => { if (!state.undo.length) return; state.redo.push(state.edits); state.edits = state.undo.pop(); editsChanged(); };
$("redo").onclick = () => { if (!state.redo.length) return; state.undo.push(state.edits); state.edits = state.redo.pop(); editsChanged(); };
$("clear-edits").onclick = () => commit([]);
$("edit-add").onclick = () => {
  const text = $("edit-text").value.trim().replace(/^--edit[ =]/, "");
  if (!text) return;
  commit([...state.edits, text]);
  $("edit-text").value = "";
};
$("edit-text").addEventListener("keydown", (ev) => { if (ev.key === "Enter") $("edit-add").click(); });
$("curves").addEventListener("click", (ev) => {
  if (!state.info) return;
  const r = ev.target.getBoundingClientRect(), pad = 24 * r.width / ev.target.width;
  const t = (ev.clientX - r.left - pad) / (r.width - 2 * pad);
  play(false); seek(firstFrame() + Math.round(t * (state.info.frames - 1)));
});
document.addEventListener("keydown", (ev) => {
  if (!state.info || ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
  if (ev.key === "ArrowLeft" && ev.target.type !== "range") { play(false); seek(state.frame - 1); }
  else if (ev.key === "ArrowRight" && ev.target.type !== "range") { play(false); seek(state.frame + 1); }
  else if (ev.key === " ") { ev.preventDefault(); play(!state.playing); }
  else if ((ev.ctrlKey || ev.metaKey) && ev.key === "z") $("undo").click();
  else if ((ev.ctrlKey || ev.metaKey) && ev.key === "y") $("redo").click();
});
document.addEventListener("dragover", (ev) => { ev.preventDefault(); document.body.classList.add("dragging"); });
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", (ev) => {
  ev.preventDefault(); document.body.classList.remove("dragging");
  const f = ev.dataTransfer.files[0]; if (f) dropFile(f);
});
(async function start() {
  renderEdits();
  try {
    const resp = await fetch("/api/initial");
    const r = await resp.json();
    if (r.session) setSession(r.session, r.info);
  } catch (e) {
    message("error", `the studio server does not answer: ${e.message}`);
  }
})();
