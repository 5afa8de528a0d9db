// The phase editor: a form over one phase of the document, and the controls that shape the
// cycle (add, duplicate, move and remove phases, components and pattern steps). Every change
// writes the document and calls `changed(structural, editing)`, which redraws the timeline and
// asks the controller to validate; `editing` is the phase to show next, when it moved.

import { get as getv, set } from "./cycle.js";

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) e.append(c);
  return e;
}

function numberField(label, obj, name, fallback, changed, extra = {}) {
  const input = el("input", {
    type: "number", min: extra.min ?? 0, step: 1, value: getv(obj, name, fallback),
    "data-field": extra.field ?? name,
    oninput: (e) => {
      const v = e.target.valueAsNumber;
      if (Number.isFinite(v)) { set(obj, name, v); changed(); }
    },
  });
  return el("label", {}, label, input);
}

/**
 * Renders the editor for phase `index` of `doc` into `root`. `outputs` are the board's
 * (from hello), `error` the controller's last refusal (`phase`, `component`: the component
 * it names is outlined).
 */
export function renderEditor(root, doc, index, outputs, changed, error) {
  root.replaceChildren(el("h2", {}, "Edit"));
  const phases = getv(doc, "phases", []);
  const phase = phases[index];
  if (!phase) {
    root.append(el("p", { class: "muted" }, phases.length ? "Choose “Edit” on a phase above." : "No phases yet."),
      el("button", { type: "button", onclick: () => { phases.push(newPhase(phases)); changed(true, phases.length - 1); } }, "Add phase"));
    return;
  }
  const label = getv(phase, "id", "") || getv(phase, "name", "") || `phase ${index + 1}`;
  const head = el("fieldset", { "data-phase": index }, el("legend", {}, `Phase ${index + 1} '${label}'`));
  const nameInput = el("input", { type: "text", "aria-label": "phase name", value: getv(phase, "name", ""), oninput: (e) => { set(phase, "name", e.target.value); changed(); } });
  const colour = String(getv(phase, "color", "") || "");
  const colourInput = el("input", { type: "color", "aria-label": "phase colour", value: /^[0-9a-f]{6}$/i.test(colour) ? `#${colour}` : "#60a5fa",
    oninput: (e) => { set(phase, "color", e.target.value.slice(1)); changed(); } });
  head.append(el("div", { class: "grid" },
    el("label", {}, "Name", nameInput),
    el("label", {}, "Colour", colourInput),
    numberField("Start delay, startTime (ms)", phase, "startTime", 0, changed)));
  head.append(el("div", { class: "row" }, ...moves(phases, index, "phase", (to) => changed(true, to), () => newPhase(phases))));
  root.append(head, triggerFields(phase, changed));

  const comps = getv(phase, "components", []);
  comps.forEach((c, ci) => {
    const box = componentFields(c, ci, index, outputs, changed, error);
    box.append(el("div", { class: "row" }, ...moves(comps, ci, "component", () => changed(true, index))));
    root.append(box);
  });
  const firstPlain = outputs.find((o) => !o.role)?.name ?? "";
  root.append(el("div", { class: "row" },
    el("button", { type: "button", onclick: () => { comps.push({ compId: firstPlain, start: 0, duration: 1000 }); set(phase, "components", comps); changed(true, index); } }, "Add output"),
    el("button", { type: "button", onclick: () => {
      comps.push({ compId: "Motor", start: 0, motorConfig: { repeatTimes: 1, pattern: [{ stepTime: 1000, pauseTime: 500, direction: "cw" }] } });
      set(phase, "components", comps);
      changed(true, index);
    } }, "Add motor pattern")));
}

/** A phase to add: an id and a name not taken yet, no components. */
function newPhase(phases) {
  let n = phases.length + 1;
  while (phases.some((p) => getv(p, "id", "") === `phase-${n}`)) n++;
  return { id: `phase-${n}`, name: `Phase ${n}`, startTime: 0, components: [] };
}

/** Up, down, duplicate, remove (and add after, when `fresh` makes one) for item `i` of `list`;
 *  `moved(to)` gets the item's new index. */
function moves(list, i, what, moved, fresh) {
  const swap = (j) => { [list[i], list[j]] = [list[j], list[i]]; moved(j); };
  const b = (text, disabled, onclick) => el("button", { type: "button", "aria-label": `${text} ${what} ${i + 1}`, disabled, onclick }, text);
  const buttons = [
    b("Up", i === 0, () => swap(i - 1)),
    b("Down", i === list.length - 1, () => swap(i + 1)),
    b("Duplicate", false, () => {
      const copy = structuredClone(list[i]);
      if (what === "phase" && getv(copy, "id", "")) set(copy, "id", `${getv(copy, "id", "")}-copy`);
      list.splice(i + 1, 0, copy);
      moved(i + 1);
    }),
    b("Remove", false, () => { list.splice(i, 1); moved(Math.min(i, list.length - 1)); }),
  ];
  if (fresh) buttons.splice(2, 0, b("Add after", false, () => { list.splice(i + 1, 0, fresh()); moved(i + 1); }));
  return buttons;
}

function triggerFields(phase, changed) {
  const box = el("fieldset", {}, el("legend", {}, "Sensor trigger"));
  const trig = getv(phase, "sensorTrigger", null);
  const toggle = el("input", {
    type: "checkbox", checked: Boolean(trig),
    onchange: (e) => {
      set(phase, "sensorTrigger", e.target.checked ? { type: "Pressure", threshold: 26000, triggerAbove: false, cooldownMs: 15000 } : null);
      changed(true);
    },
  });
  box.append(el("label", { class: "inline" }, el("span", {}, "Ends the phase on a sensor reading"), toggle));
  if (!trig) return box;
  const select = (label, name, options, value) => el("label", {}, label, el("select", {
    onchange: (e) => {
      set(trig, name, name === "triggerAbove" ? e.target.value === "true" : e.target.value);
      // "wait" needs a timeout: write the one the form shows, so the document has it too.
      if (name === "mode" && e.target.value === "wait" && getv(trig, "timeoutMs", undefined) === undefined) set(trig, "timeoutMs", 30000);
      changed(true);
    },
  }, ...options.map(([v, text]) => el("option", { value: v, selected: String(value) === v }, text))));
  const mode = String(getv(trig, "mode", "end")).toLowerCase();
  const grid = el("div", { class: "grid" },
    select("Sensor", "type", [["RPM", "RPM"], ["Pressure", "Pressure"]], getv(trig, "type", "RPM")),
    select("Fires when reading is", "triggerAbove", [["true", "above"], ["false", "below"]], getv(trig, "triggerAbove", true)),
    numberField("Threshold", trig, "threshold", 0, changed),
    numberField("Cooldown (ms)", trig, "cooldownMs", 15000, changed),
    select("Mode", "mode", [["end", "end early"], ["wait", "wait for it"]], mode));
  if (mode === "wait") grid.append(numberField("Timeout after last event (ms)", trig, "timeoutMs", 30000, changed));
  box.append(grid);
  return box;
}

function componentFields(c, ci, phaseIndex, outputs, changed, error) {
  const bad = Boolean(error) && error.phase === phaseIndex && error.component === ci;
  const motor = getv(c, "motorConfig", null);
  const title = getv(c, "label", "") || getv(c, "compId", "") || "component";
  const box = el("fieldset", { class: bad ? "error" : "", "data-component": `${phaseIndex}.${ci}` },
    el("legend", {}, `Component ${ci + 1}: ${title}${motor ? " (motor pattern)" : ""}`));
  const grid = el("div", { class: "grid" });
  if (!motor) {
    const current = String(getv(c, "compId", ""));
    const options = outputs.map((o) => o.name);
    if (!options.some((o) => o.toLowerCase() === current.trim().toLowerCase())) options.unshift(current);
    grid.append(el("label", {}, "Output", el("select", {
      onchange: (e) => { set(c, "compId", e.target.value); changed(); },
    }, ...options.map((o) => el("option", { value: o, selected: o.toLowerCase() === current.trim().toLowerCase() || o === current }, o)))));
  }
  // A motor pattern plays its own length (its steps, pauses and repeats): no duration to set.
  grid.append(numberField("Start (ms after startTime)", c, "start", 0, changed));
  if (!motor) grid.append(numberField("Duration (ms)", c, "duration", 0, changed));
  box.append(grid);
  if (motor) box.append(patternFields(motor, changed));
  return box;
}

function patternFields(motor, changed) {
  const wrap = el("div", {});
  wrap.append(el("div", { class: "grid" }, numberField("Repeat times", motor, "repeatTimes", 1, changed, { min: 1 })));
  const steps = getv(motor, "pattern", []);
  const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Step (ms)"), el("th", {}, "Pause (ms)"), el("th", {}, "Direction"), el("th", {}, ""))));
  const body = el("tbody", {});
  steps.forEach((s, i) => {
    const num = (name, fallback, min) => el("input", {
      type: "number", min, step: 1, value: getv(s, name, fallback), "aria-label": `step ${i + 1} ${name}`,
      oninput: (e) => { if (Number.isFinite(e.target.valueAsNumber)) { set(s, name, e.target.valueAsNumber); changed(); } },
    });
    const dir = String(getv(s, "direction", "cw")).toLowerCase();
    body.append(el("tr", {},
      el("td", {}, String(i + 1)),
      el("td", {}, num("stepTime", 1000, 1)),
      el("td", {}, num("pauseTime", 0, 0)),
      el("td", {}, el("select", { "aria-label": `step ${i + 1} direction`, onchange: (e) => { set(s, "direction", e.target.value); changed(); } },
        el("option", { value: "cw", selected: dir === "cw" }, "cw"), el("option", { value: "ccw", selected: dir === "ccw" }, "ccw"))),
      el("td", {},
        el("button", { type: "button", "aria-label": `move step ${i + 1} up`, disabled: i === 0,
          onclick: () => { [steps[i - 1], steps[i]] = [steps[i], steps[i - 1]]; changed(true); } }, "↑"),
        el("button", { type: "button", "aria-label": `remove step ${i + 1}`, disabled: steps.length <= 1,
          onclick: () => { steps.splice(i, 1); changed(true); } }, "Remove"))));
  });
  table.append(body);
  wrap.append(table, el("button", { type: "button", onclick: () => {
    const last = steps[steps.length - 1] ?? {};
    steps.push({ stepTime: getv(last, "stepTime", 1000), pauseTime: getv(last, "pauseTime", 0), direction: String(getv(last, "direction", "cw")).toLowerCase() === "cw" ? "ccw" : "cw" });
    changed(true);
  } }, "Add step"));
  return wrap;
}
