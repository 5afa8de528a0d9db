// Tumble's page: load, check, edit and run a cycle on the controller that serves it.

import { Connection, controllerUrl, forgetToken } from "./lib/conn.js";
import { normalise, summary } from "./lib/cycle.js";
import { drawChart, drawTimeline, hit, phaseColor } from "./lib/draw.js";
import { renderEditor } from "./lib/editor.js";
import { clock, duration, msUntil } from "./lib/format.js";
import { asRun, followRun, fromTelemetry, playheadAt } from "./lib/telemetry.js";

const $ = (id) => document.getElementById(id);

// Undo and redo: snapshots of the document (see remember()).
const undo = { past: [], future: [], last: null, at: 0, typing: false };

const state = {
  doc: null,            // the cycle document being viewed and edited
  text: null,           // the document as written, until the first edit (sent as is)
  name: "",
  phases: [],           // normalise(doc, deadMs)
  outputs: [],          // from hello
  deadMs: 0,            // the board's reverse dead time, from hello
  live: null,           // the latest telemetry, as fromTelemetry made it
  run: null,            // what the page saw of the run (followRun): the phases' real lengths
  view: { fromMs: 0, toMs: 1000 },
  fitted: true,         // the view shows the whole cycle, and keeps doing so as it is edited
  geometry: null,
  editing: null,        // phase index in the editor
  error: null,
  errorPhase: null,
  dirty: false,         // edited since loaded from or sent to the controller
  rpm: [],
  pressure: [],
};

// Assigned below; handlers that run while it is being made see it as not yet connected.
let conn = null;
conn = new Connection(controllerUrl(location, globalThis.localStorage), {
  onState: showConnection,
  onHello: (h) => {
    state.outputs = h.outputs.map((o) => ({ ...o, aliases: o.aliases ?? [] }));
    state.deadMs = h.reverse_dead_time_ms ?? 0;
    if (state.doc) state.phases = normalise(state.doc, state.deadMs);
    renderOutputs();
    if (!state.doc) fetchCycle(true);
    listPrograms();
    showHistory();
    redraw();
  },
  onTelemetry: telemetry,
  onText: (text) => log(text, text.startsWith("error") ? "error" : ""),
  onTokenRefused: () => {
    log("the controller's token was rotated: this page's is forgotten", "warn");
    return forgetToken(location, globalThis.localStorage);
  },
});

// ---- connection -----------------------------------------------------------------------------

function showConnection({ state: s, retryMs, reason }) {
  if (s === "unauthorized") return showNoToken();
  const badge = $("conn");
  badge.className = `conn ${s}`;
  badge.textContent = s === "connected" ? "connected" : s === "connecting" ? "connecting…"
    : `disconnected${reason ? `: ${reason}` : ""}, retrying in ${Math.round(retryMs / 100) / 10} s`;
  if (s === "disconnected") log(`connection lost; retrying in ${duration(retryMs)}`, "warn");
  if (s === "connected") log("connected to the controller");
  updateButtons();
}

/** Connected without the controller's token: nothing can be done from here until the page is
 *  opened with it. */
function showNoToken() {
  const badge = $("conn");
  badge.className = "conn unauthorized";
  badge.textContent = "no token: open the address the controller printed (…/?token=…)";
  log("this page has no token for the controller: commands are refused; open the address `tumble serve` printed at its start (or `tumble token` prints the token)", "error");
}

// ---- loading and checking -------------------------------------------------------------------

async function loadText(text, name) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    showProblems([{ error: true, path: "", message: `not JSON: ${e.message}` }]);
    log(`${name}: not JSON`, "error");
    return;
  }
  setDoc(doc, name);
  state.text = text;
  state.dirty = true;
  log(`opened ${name}`);
  await validate();
}

function setDoc(doc, name) {
  state.doc = doc;
  state.text = null;
  state.name = name;
  state.phases = normalise(doc, state.deadMs);
  state.run = null;
  state.editing = null;
  // Another document: the undo steps were about the one before.
  undo.past = [];
  undo.future = [];
  undo.last = JSON.stringify(doc);
  undo.typing = false;
  updateUndo();
  fitView();
  render();
}

async function fetchCycle(quiet, name = "cycle on the controller") {
  const r = await conn.request("get_cycle");
  if (!r.ok) return quiet || log(`get_cycle: ${r.error.message}`, "error");
  if (quiet && !r.result.phases.length) return;
  setDoc(r.result, name);
  state.dirty = false;
  await validate();
  log("loaded the cycle from the controller");
}

let validation = 0;
async function validate() {
  const mine = ++validation;
  const r = await conn.requestWithCycle("validate_cycle", cycleText());
  if (mine !== validation) return; // a newer edit is being checked
  if (r.ok) {
    state.error = null;
    showProblems(r.result.warnings.map((w) => ({ path: w.path, message: w.message })));
    renderCards(r.result);
  } else {
    state.error = r.error;
    showProblems([{ error: true, path: r.error.path, message: r.error.message }]);
    renderCards(null);
  }
  // Where the controller says the fault is: its phase and component, as indices.
  state.errorPhase = state.error?.phase ?? null;
  if (state.errorPhase !== null && state.errorPhase < state.phases.length && state.editing === null) {
    state.editing = state.errorPhase; // open the offending phase
  }
  renderPhaseList();
  renderEditorPanel();
  redraw();
  updateButtons();
}

function showProblems(problems) {
  const box = $("problems");
  box.replaceChildren(...problems.slice(0, 12).map((p) => {
    const div = document.createElement("div");
    div.className = `problem${p.error ? "" : " warning"}`;
    div.setAttribute("role", p.error ? "alert" : "note");
    const where = document.createElement("code");
    where.textContent = p.path || "(document)";
    div.append(p.error ? "Refused: " : "Warning: ", where, ` ${p.message}`);
    return div;
  }));
  if (problems.length > 12) box.append(`… and ${problems.length - 12} more`);
}

// ---- rendering ------------------------------------------------------------------------------

function render() {
  $("cycle-title").textContent = state.doc ? state.name : "No cycle";
  $("drop-hint").hidden = Boolean(state.doc);
  renderCards(null);
  renderPhaseList();
  renderEditorPanel();
  redraw();
  updateButtons();
}

function renderCards(checked) {
  const s = summary(state.phases);
  const card = (label, big, detail = "") => {
    const d = document.createElement("div");
    d.className = "card";
    d.innerHTML = `<div class="label"></div><div class="big"></div><div class="detail"></div>`;
    d.children[0].textContent = label;
    d.children[1].textContent = big;
    d.children[2].textContent = detail;
    return d;
  };
  if (!state.doc) return $("cards").replaceChildren();
  // The controller's numbers when it has checked the cycle, the page's own until then.
  const events = checked ? checked.events : s.events;
  const perPhaseCounts = checked ? checked.phases.map((p) => p.events) : s.eventsPerPhase;
  const perPhase = perPhaseCounts.map((n, i) => `${i + 1}: ${n.toLocaleString("en")}`).join(" · ");
  $("cards").replaceChildren(
    card("Total duration", duration(checked ? checked.duration_ms : s.durationMs), checked ? "checked by the controller" : ""),
    card("Phases", String(s.phases)),
    card("Components", String(s.components)),
    card("Events", events.toLocaleString("en"), perPhase),
  );
}

function renderPhaseList() {
  const list = $("phase-list");
  const running = state.live?.running;
  list.replaceChildren(...state.phases.map((p, i) => {
    const li = document.createElement("li");
    li.style.borderLeftColor = phaseColor({ color: p.color, index: i });
    if (state.live?.phaseIndex === i) li.classList.add("current");
    if (state.errorPhase === i) li.classList.add("error");
    const label = document.createElement("span");
    const trig = p.trigger ? ` · ends on ${p.trigger.type} ${p.trigger.above ? ">" : "<"} ${p.trigger.threshold}${p.trigger.mode === "wait" ? " (waits)" : ""}` : "";
    label.textContent = `${i + 1}. ${p.name || p.id || "phase"} · ${duration(p.duration)} · ${p.events.toLocaleString("en")} events${trig}`;
    const jump = document.createElement("button");
    jump.type = "button";
    jump.textContent = "Jump here";
    jump.disabled = !running;
    jump.setAttribute("aria-label", `jump to phase ${i + 1}`);
    jump.onclick = () => command("skip_to_phase", { index: i });
    const edit = document.createElement("button");
    edit.type = "button";
    edit.textContent = "Edit";
    edit.setAttribute("aria-label", `edit phase ${i + 1}`);
    edit.onclick = () => { state.editing = i; renderEditorPanel(); $("editor").scrollIntoView({ behavior: "smooth" }); };
    li.append(label, jump, edit);
    return li;
  }));
}

function renderEditorPanel() {
  if (!state.doc) return;
  renderEditor($("editor"), state.doc, state.editing, state.outputs, edited, state.error);
}

/** What to send: the text as written until the first edit, then the edited document. */
function cycleText() {
  return state.text ?? JSON.stringify(state.doc);
}

async function sendCycle() {
  const r = await conn.requestWithCycle("load_cycle", cycleText());
  if (r.ok) {
    state.dirty = false;
    log("load_cycle: ok");
  } else {
    log(`load_cycle: refused: ${r.error.path ? `${r.error.path}: ` : ""}${r.error.message}`, "error");
  }
  return r.ok;
}

let pendingCheck = null;
function edited(structural, editing) {
  remember(structural);
  if (editing !== undefined) state.editing = editing;
  state.text = null;
  state.phases = normalise(state.doc, state.deadMs);
  if (state.fitted) fitView();
  state.dirty = true;
  if (structural) renderEditorPanel();
  renderPhaseList();
  redraw();
  updateButtons();
  clearTimeout(pendingCheck);
  pendingCheck = setTimeout(validate, 250);
}

function renderOutputs() {
  const list = $("outputs");
  list.replaceChildren(...state.outputs.map((o) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.pin = o.pin;
    b.innerHTML = `<span class="name"></span><span class="state">OFF</span>`;
    b.firstChild.textContent = `${o.name} (${o.pin})`;
    b.onclick = () => {
      const on = state.live?.outputs.find((x) => x.pin === o.pin)?.on ?? false;
      command("set_output", { output: o.name, on: !on });
    };
    li.append(b);
    return li;
  }));
}

function fitView() {
  const total = state.phases.reduce((t, p) => t + p.duration, 0);
  state.view = { fromMs: 0, toMs: Math.max(total, 1) };
  state.fitted = true;
}

function redraw() {
  const canvas = $("timeline");
  state.geometry = drawTimeline(canvas, asRun(state.phases, state.run), state.outputs, state.view, state.live?.playheadMs ?? null, state.errorPhase);
  // The playhead's time as text too, for assistive technology and for tests.
  canvas.dataset.playheadMs = String(state.live?.playheadMs ?? "");
  canvas.setAttribute("aria-description", state.live?.playheadMs == null ? "" : `playhead at ${clock(state.live.playheadMs)}`);
  $("window").textContent = state.doc ? `${clock(state.view.fromMs)} – ${clock(state.view.toMs)}` : "";
}

// ---- live -----------------------------------------------------------------------------------

function telemetry(t) {
  const before = state.live;
  const live = fromTelemetry(t, state.phases);
  state.run = followRun(state.run, live);
  // On the axis of the phases as they ran.
  live.playheadMs = playheadAt(live.phaseIndex, live.phaseElapsedMs, asRun(state.phases, state.run));
  state.live = live;
  const ended = live.lastPhaseEnd;
  if (before && ended && JSON.stringify(ended) !== JSON.stringify(before.lastPhaseEnd) && ended.end === "triggered") {
    const p = state.phases[ended.phase];
    log(`phase ${ended.phase + 1} '${p?.name || p?.id || ""}' ended by its sensor`, "phase");
  }
  if (before && before.phaseIndex !== live.phaseIndex) {
    if (live.phaseIndex >= 0) log(`phase ${live.phaseIndex + 1}/${live.totalPhases} '${live.phaseName}' started`, "phase");
    else if (before.phaseIndex >= 0) {
      log(live.fault ? `cycle stopped on a fault` : "cycle ended, all outputs OFF", live.fault ? "error" : "phase");
      // The controller writes the run down as it ends: show it (a moment later).
      setTimeout(showHistory, 300);
    }
    renderPhaseList();
  }
  if (live.fault && JSON.stringify(live.fault) !== JSON.stringify(before?.fault)) log(`FAULT: ${live.fault.message}`, "error");
  const status = live.startInMs !== null ? `Scheduled: starts in ${clock(live.startInMs)}`
    : !live.running ? (live.fault ? `Stopped by a fault: ${live.fault.message}` : "Idle")
    : `${live.paused ? "Paused" : "Running"}: phase ${live.phaseIndex + 1} of ${live.totalPhases}, '${live.phaseName}', ${clock(live.phaseElapsedMs)} of ${clock(live.phaseTotalMs)}`;
  $("run-status").textContent = status;
  $("progress-bar").style.width = `${Math.round(live.phaseProgress * 100)}%`;
  for (const o of live.outputs) {
    const b = document.querySelector(`#outputs button[data-pin="${o.pin}"]`);
    if (!b) continue;
    const s = b.querySelector(".state");
    s.textContent = o.on ? "ON" : "OFF";
    s.classList.toggle("on", o.on);
    b.setAttribute("aria-label", `${o.name}: ${o.on ? "on" : "off"}; press to switch ${o.on ? "off" : "on"}`);
  }
  const push = (arr, v) => { arr.push({ t: live.timestampMs, v }); while (arr.length > 600) arr.shift(); };
  push(state.rpm, live.rpm);
  push(state.pressure, live.pressureHz);
  $("rpm-now").textContent = `${live.rpm.toFixed(0)} rpm`;
  $("pressure-now").textContent = live.sensorError ? "sensor error"
    : live.levelLitres !== null ? `${live.levelLitres.toFixed(1)} L · ${live.pressureHz.toFixed(1)} Hz`
      : `${live.pressureHz.toFixed(1)} Hz`;
  drawChart($("rpm-chart"), state.rpm, "#dc2626", "rpm");
  drawChart($("pressure-chart"), state.pressure, "#2563eb", "Hz");
  redraw();
  updateButtons();
}

function updateButtons() {
  const connected = conn?.ws?.readyState === WebSocket.OPEN;
  const live = state.live;
  const running = Boolean(live?.running);
  // Start only what can start: a refused file never, and nothing when neither the page nor the
  // controller has a cycle. Stop stays enabled: it always leaves every output OFF.
  const nothing = !state.doc && !(live?.totalPhases > 0);
  $("start-btn").disabled = !connected || running || Boolean(state.error) || nothing;
  $("start-btn").title = state.error ? "the cycle on the page is refused: see Problems"
    : nothing ? "load a cycle first" : "";
  $("pause-btn").disabled = !connected || !running;
  $("pause-btn").textContent = live?.paused ? "Resume" : "Pause";
  $("skip-btn").disabled = !connected || !running;
  $("stop-btn").disabled = !connected;
  $("send-btn").disabled = !connected || !state.doc || Boolean(state.error);
  $("save-program-btn").disabled = !connected || !state.doc || Boolean(state.error);
  $("download-btn").disabled = !state.doc;
  $("fetch-btn").disabled = !connected;
}

// ---- commands -------------------------------------------------------------------------------

async function command(cmd, params = {}) {
  const r = await conn.request(cmd, params);
  const what = cmd + (params.index !== undefined ? ` ${params.index + 1}` : params.output ? ` ${params.output} ${params.on ? "ON" : "OFF"}` : "");
  if (r.ok) log(`${what}: ok`);
  else log(`${what}: refused: ${r.error.message}`, "error");
  return r;
}

function log(text, kind = "") {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  const list = $("log");
  list.prepend(li);
  while (list.children.length > 300) list.lastChild.remove();
}

// ---- wiring ---------------------------------------------------------------------------------

$("file").addEventListener("change", async (e) => {
  const f = e.target.files[0];
  if (f) await loadText(await f.text(), f.name);
  e.target.value = "";
});
$("paste-btn").onclick = () => $("paste-dialog").showModal();
$("template").addEventListener("change", async (e) => {
  const file = e.target.value;
  const name = e.target.selectedOptions[0]?.textContent ?? file;
  e.target.value = "";
  if (!file) return;
  const r = await fetch(`templates/${encodeURIComponent(file)}`);
  if (!r.ok) return log(`template ${name}: ${r.status}`, "error");
  await loadText(await r.text(), `${name} (template)`);
});
// The built-in programs the controller serves (the same on the host and the chip).
fetch("templates/index.json")
  .then((r) => (r.ok ? r.json() : []))
  .then((list) => {
    for (const t of list) $("template").append(new Option(t.name, t.file));
  })
  .catch(() => {});
$("paste-dialog").addEventListener("close", () => {
  if ($("paste-dialog").returnValue === "load") loadText($("paste-text").value, "pasted cycle");
});
$("fetch-btn").onclick = () => fetchCycle(false);

// ---- undo and redo: every edit, as snapshots of the document --------------------------------

/** Called after each edit landed in the document: the document as it was goes on the undo
 *  stack (typing in the fields within a second of the last keystroke is one step; a structural
 *  edit, a button, always its own). */
function remember(structural) {
  const now = Date.now();
  const coalesce = !structural && undo.typing && now - undo.at < 1000;
  if (!coalesce && undo.last !== null) {
    undo.past.push(undo.last);
    if (undo.past.length > 200) undo.past.shift();
  }
  undo.last = JSON.stringify(state.doc);
  undo.future = [];
  undo.at = now;
  undo.typing = !structural;
  updateUndo();
}

/** Focus left a field: the next keystroke starts a new undo step. */
function settle() {
  undo.typing = false;
}

function travel(from, to) {
  if (!from.length || !state.doc) return;
  to.push(JSON.stringify(state.doc));
  const doc = JSON.parse(from.pop());
  const editing = state.editing;
  state.doc = doc;
  undo.last = JSON.stringify(doc);
  undo.typing = false;
  state.text = null;
  state.phases = normalise(doc, state.deadMs);
  state.run = null;
  state.editing = editing !== null && editing < state.phases.length ? editing : null;
  state.dirty = true;
  render();
  updateUndo();
  clearTimeout(pendingCheck);
  pendingCheck = setTimeout(validate, 250);
}

function updateUndo() {
  $("undo-btn").disabled = undo.past.length === 0;
  $("redo-btn").disabled = undo.future.length === 0;
}

$("undo-btn").onclick = () => travel(undo.past, undo.future);
$("redo-btn").onclick = () => travel(undo.future, undo.past);
document.addEventListener("keydown", (e) => {
  if (!(e.ctrlKey || e.metaKey) || e.target.closest?.("textarea")) return;
  const key = e.key.toLowerCase();
  if (key === "z" && !e.shiftKey) {
    e.preventDefault();
    travel(undo.past, undo.future);
  } else if ((key === "z" && e.shiftKey) || key === "y") {
    e.preventDefault();
    travel(undo.future, undo.past);
  }
});
document.addEventListener("focusout", settle);

$("new-btn").onclick = () => {
  setDoc({ phases: [{ id: "phase-1", name: "Phase 1", startTime: 0, components: [] }] }, "new cycle");
  state.editing = 0;
  state.dirty = true;
  render();
  log("new cycle: add components and phases in the editor below");
  validate();
};

// ---- what past runs did -------------------------------------------------------------------

async function showHistory() {
  const r = await conn.request("get_history", { limit: 10 });
  const list = $("history");
  list.replaceChildren();
  if (!r.ok) return;
  for (const run of r.result.runs) {
    const li = document.createElement("li");
    const when = run.started_unix_s ? new Date(run.started_unix_s * 1000).toLocaleString() : "";
    const water = run.water_litres === null ? "" : ` · ${run.water_litres.toFixed(1)} L`;
    const name = run.program ?? "(cycle sent as a file)";
    li.textContent = `${when} · ${name} · ${run.outcome} · ${duration(run.duration_ms)}${water}`;
    li.title = run.phases.map((p) => `${p.name}: ${duration(p.actual_ms)} of ${duration(p.planned_ms)} (${p.end})`).join("\n");
    li.className = run.outcome === "completed" ? "phase" : run.outcome === "fault" ? "error" : "warn";
    list.append(li);
  }
}

// ---- the program library on the controller ------------------------------------------------

async function listPrograms() {
  const r = await conn.request("list_programs");
  const select = $("program");
  select.length = 1;
  if (!r.ok) return;
  for (const p of r.result.programs) select.append(new Option(p.name, p.name));
  $("delete-program-btn").disabled = r.result.programs.length === 0;
}

$("program").addEventListener("change", async (e) => {
  const name = e.target.value;
  e.target.value = "";
  if (!name) return;
  const r = await conn.request("load_program", { name });
  if (!r.ok) return log(`load_program ${name}: ${r.error.message}`, "error");
  log(`loaded program '${name}' on the controller`);
  state.program = name;
  await fetchCycle(false, `program ${name}`);
});

$("save-program-btn").onclick = async () => {
  const name = prompt("Save this cycle on the controller as:", state.program ?? "");
  if (!name) return;
  const r = await conn.requestWithCycle("save_program", cycleText(), { name });
  if (!r.ok) return log(`save_program ${name}: ${r.error.message}`, "error");
  state.program = r.result.name;
  log(`saved as program '${r.result.name}' (${r.result.bytes} bytes)`);
  await listPrograms();
};

$("delete-program-btn").onclick = async () => {
  const name = prompt("Delete which program?", state.program ?? "");
  if (!name) return;
  const r = await conn.request("delete_program", { name });
  if (!r.ok) return log(`delete_program ${name}: ${r.error.message}`, "error");
  log(`deleted program '${name}'`);
  await listPrograms();
};
$("send-btn").onclick = sendCycle;
$("download-btn").onclick = () => {
  const blob = new Blob([JSON.stringify(state.doc, null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = state.name.endsWith(".json") ? state.name : "cycle.json";
  a.click();
  URL.revokeObjectURL(a.href);
};
$("start-btn").onclick = async () => {
  // Start what the page shows: load it first when it changed; a refused cycle starts nothing.
  if (state.dirty && state.doc && !(await sendCycle())) return;
  // A delayed start, as washing machines have: the controller keeps it (a stop cancels it).
  // "At a time" is counted here, on this computer's clock, into a delay for the controller.
  const at = $("start-at").value;
  const minutes = Number($("delay-min").value) || 0;
  const delay = at ? msUntil(at, new Date()) : Math.round(minutes * 60000);
  if (at) log(`starts at ${at}, in ${duration(delay)}`);
  await command("start", delay > 0 ? { delay_ms: delay } : {});
};
$("pause-btn").onclick = () => command(state.live?.paused ? "resume" : "pause");
$("skip-btn").onclick = () => command("skip_phase");
$("stop-btn").onclick = () => $("stop-dialog").showModal();
$("stop-dialog").addEventListener("close", () => {
  if ($("stop-dialog").returnValue === "stop") command("stop");
});

document.addEventListener("dragover", (e) => { e.preventDefault(); document.body.classList.add("dragging"); });
document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
document.addEventListener("drop", async (e) => {
  e.preventDefault();
  document.body.classList.remove("dragging");
  const f = e.dataTransfer.files[0];
  if (f) await loadText(await f.text(), f.name);
});

// Zoom and pan: wheel around the pointer, drag, keys, buttons.
function zoom(factor, centerMs) {
  const { fromMs, toMs } = state.view;
  const total = Math.max(state.phases.reduce((t, p) => t + p.duration, 0), 1);
  const c = centerMs ?? (fromMs + toMs) / 2;
  const span = Math.min(Math.max((toMs - fromMs) * factor, 0.05), total * 1.05);
  let from = c - (c - fromMs) * (span / (toMs - fromMs));
  from = Math.min(Math.max(from, 0), Math.max(total - span, 0));
  state.view = { fromMs: from, toMs: from + span };
  state.fitted = false;
  redraw();
}
function pan(fraction) {
  const span = state.view.toMs - state.view.fromMs;
  const total = Math.max(state.phases.reduce((t, p) => t + p.duration, 0), span);
  const from = Math.min(Math.max(state.view.fromMs + span * fraction, 0), total - span);
  state.view = { fromMs: from, toMs: from + span };
  state.fitted = from === 0 && span >= total;
  redraw();
}
const canvas = $("timeline");
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const rect = canvas.getBoundingClientRect();
  zoom(e.deltaY > 0 ? 1.25 : 0.8, state.geometry?.toTime(e.clientX - rect.left));
}, { passive: false });
let drag = null;
canvas.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, from: state.view.fromMs, moved: false }; canvas.setPointerCapture(e.pointerId); });
canvas.addEventListener("pointermove", (e) => {
  const rect = canvas.getBoundingClientRect();
  if (drag) {
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved && state.geometry) {
      const span = state.view.toMs - state.view.fromMs;
      state.view = { fromMs: drag.from, toMs: drag.from + span };
      pan((-dx / state.geometry.plotW));
      drag.x = e.clientX;
      drag.from = state.view.fromMs;
    }
  }
  const h = hit(state.geometry, e.clientX - rect.left, e.clientY - rect.top);
  const tip = $("tooltip");
  tip.hidden = !h;
  if (h) {
    tip.textContent = h.text;
    tip.style.left = `${Math.min(e.clientX - rect.left + 12, rect.width - tip.offsetWidth - 4)}px`;
    tip.style.top = `${e.clientY - rect.top + 14}px`;
  }
});
canvas.addEventListener("pointerleave", () => { $("tooltip").hidden = true; });
canvas.addEventListener("pointerup", (e) => {
  const wasDrag = drag?.moved;
  drag = null;
  if (wasDrag) return;
  const rect = canvas.getBoundingClientRect();
  const h = hit(state.geometry, e.clientX - rect.left, e.clientY - rect.top);
  // A click on a phase jumps there while a cycle runs (forward or backward).
  if (h?.band && state.live?.running && e.clientY - rect.top < 30) command("skip_to_phase", { index: h.band.index });
});
canvas.addEventListener("keydown", (e) => {
  const keys = { "+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2), ArrowLeft: () => pan(-0.2), ArrowRight: () => pan(0.2), Home: () => { fitView(); redraw(); } };
  if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
});
$("zoom-in").onclick = () => zoom(0.5);
$("zoom-out").onclick = () => zoom(2);
$("zoom-fit").onclick = () => { fitView(); redraw(); };
window.addEventListener("resize", redraw);

render();
