// The cycle document as the page sees it: defaults applied (the controller's rules, see
// docs/cycle-format.md), durations and event counts, and the timeline laid out for drawing.
// The controller stays the judge of validity: the page asks it (validate_cycle) for errors.

export const DEFAULTS = { stepTime: 1000, pauseTime: 0, direction: "cw", repeatTimes: 1, cooldownMs: 15000 };

/** The key of `obj` that the controller reads for `name`: the first one in document order
 *  that matches regardless of case (the controller keeps the first of duplicates). */
export function keyOf(obj, name) {
  if (obj === null || typeof obj !== "object") return undefined;
  return Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
}

/** The value the controller reads for `name`, or `fallback`. */
export function get(obj, name, fallback = undefined) {
  const k = keyOf(obj, name);
  return k === undefined ? fallback : obj[k];
}

/** Sets `name`, writing over the key the controller reads if the document spells it otherwise. */
export function set(obj, name, value) {
  obj[keyOf(obj, name) ?? name] = value;
}

const num = (v, d = 0) => (typeof v === "number" && Number.isFinite(v) ? v : d);
const str = (v, d = "") => (typeof v === "string" ? v : d);

/** A document to the model the page draws. Tolerant: the controller reports errors.
 *  `deadMs`: the board's reverse dead time (hello's `reverse_dead_time_ms`), the shortest
 *  pause a motor reversal is played with. */
export function normalise(doc, deadMs = 0) {
  const phases = Array.isArray(get(doc, "phases")) ? get(doc, "phases") : [];
  return phases.map((p, index) => {
    const comps = Array.isArray(get(p, "components")) ? get(p, "components") : [];
    const trigger = get(p, "sensorTrigger");
    const phase = {
      index,
      id: str(get(p, "id")),
      name: str(get(p, "name")),
      color: str(get(p, "color")),
      startTime: num(get(p, "startTime")),
      trigger: trigger && typeof trigger === "object" ? {
        type: str(get(trigger, "type"), "RPM"),
        threshold: num(get(trigger, "threshold")),
        above: get(trigger, "triggerAbove") !== false,
        cooldownMs: num(get(trigger, "cooldownMs"), DEFAULTS.cooldownMs),
        mode: str(get(trigger, "mode"), "end").toLowerCase(),
        timeoutMs: num(get(trigger, "timeoutMs")),
      } : null,
      components: comps.map((c, ci) => {
        const mc = get(c, "motorConfig");
        const motor = mc && typeof mc === "object" ? {
          repeat: num(get(mc, "repeatTimes"), DEFAULTS.repeatTimes),
          pattern: playedPauses((Array.isArray(get(mc, "pattern")) ? get(mc, "pattern") : []).map((s) => ({
            step: num(get(s, "stepTime"), DEFAULTS.stepTime),
            pause: num(get(s, "pauseTime"), DEFAULTS.pauseTime),
            ccw: str(get(s, "direction"), DEFAULTS.direction).toLowerCase() === "ccw",
          })), deadMs),
        } : null;
        return {
          index: ci,
          label: str(get(c, "label")),
          compId: motor ? "Motor" : str(get(c, "compId")),
          start: num(get(c, "start")),
          duration: num(get(c, "duration")),
          motor,
        };
      }),
    };
    phase.events = phase.components.reduce((n, c) => n + componentEvents(c), 0);
    phase.duration = phaseDuration(phase);
    return phase;
  });
}

/** The pauses as played: one before a reversal (to the next step, or the first after the last)
 *  lasts at least the dead time, as the controller plays it (`Cycle::pause_after`). */
function playedPauses(pattern, deadMs) {
  return pattern.map((s, i) => {
    const next = pattern[(i + 1) % pattern.length];
    return next.ccw !== s.ccw ? { ...s, pause: Math.max(s.pause, deadMs) } : s;
  });
}

export function componentEvents(c) {
  if (c.motor) return 3 * c.motor.pattern.length * c.motor.repeat;
  return c.duration > 0 ? 2 : 0;
}

/** One pass of a motor pattern, in ms. */
function period(motor) {
  return motor.pattern.reduce((t, s) => t + s.step + s.pause, 0);
}

/** Offset of the component's last event from its phase start, or null without events. */
export function lastEvent(phase, c) {
  const base = phase.startTime + c.start;
  if (c.motor) {
    const p = c.motor.pattern;
    if (p.length === 0 || c.motor.repeat < 1) return null;
    const P = period(c.motor);
    return base + (c.motor.repeat - 1) * P + P - p[p.length - 1].pause;
  }
  return c.duration > 0 ? base + c.duration : null;
}

/** The phase lasts until its last event, or its startTime when it has none. */
export function phaseDuration(phase) {
  const ends = phase.components.map((c) => lastEvent(phase, c)).filter((t) => t !== null);
  return ends.length ? Math.max(...ends) : phase.startTime;
}

export function summary(phases) {
  return {
    durationMs: phases.reduce((t, p) => t + p.duration, 0),
    phases: phases.length,
    components: phases.reduce((n, p) => n + p.components.length, 0),
    events: phases.reduce((n, p) => n + p.events, 0),
    eventsPerPhase: phases.map((p) => p.events),
  };
}

/** Start of each phase on the cycle's time axis (ms). */
export function phaseStarts(phases) {
  let t = 0;
  return phases.map((p) => { const s = t; t += p.duration; return s; });
}

/** Resolves a compId to a board output the way the controller does: case and surrounding
 *  spaces ignored, aliases count. */
export function resolveOutput(compId, outputs) {
  const want = compId.trim().toLowerCase();
  return outputs.find((o) => [o.name, ...(o.aliases ?? [])].some((n) => n.toLowerCase() === want));
}

/**
 * Lays the cycle out for the window [fromMs, toMs]: phase bands and, per output, ON spans.
 * Spans closer than `mergeMs` (a pixel) merge; each keeps how long it was really ON, so dense
 * motor pulses can be drawn lighter. Only events inside the window are generated, so a
 * 20-hour, million-event cycle costs what is visible.
 */
export function layout(phases, outputs, fromMs, toMs, mergeMs) {
  const starts = phaseStarts(phases);
  const rows = outputs.map((o) => ({ name: o.name, pin: o.pin, role: o.role ?? null, direction: o.role === "direction", spans: [] }));
  const row = (name) => rows.find((r) => r.name === name);
  const byRole = (role) => rows.find((r) => r.role === role);
  const bands = phases.map((p, i) => ({
    index: i, startMs: starts[i], endMs: starts[i] + p.duration,
    label: p.name || p.id || `phase ${i + 1}`, name: p.name, color: p.color, trigger: p.trigger,
  }));
  phases.forEach((p, i) => {
    const t0 = starts[i];
    if (t0 > toMs || t0 + p.duration < fromMs) return;
    for (const c of p.components) {
      const base = t0 + p.startTime + c.start;
      if (c.motor) {
        motorSpans(c.motor, base, fromMs, toMs, mergeMs, byRole("motor"), byRole("direction"), t0 + p.duration);
      } else if (c.duration > 0) {
        const out = resolveOutput(c.compId, outputs);
        // A phase that ended early (its sensor, a skip: see asRun) cuts what it switched.
        const end = Math.min(base + c.duration, t0 + p.duration);
        if (out && end > base) add(row(out.name), base, end, mergeMs, fromMs, toMs);
      }
    }
  });
  for (const r of rows) r.spans.sort((a, b) => a[0] - b[0]);
  return { bands, rows, starts };
}

function add(r, s, e, mergeMs, fromMs, toMs) {
  if (!r || e < fromMs || s > toMs) return;
  const last = r.spans[r.spans.length - 1];
  if (last && s >= last[0] && s - last[1] < mergeMs) {
    last[1] = Math.max(last[1], e);
    last[2] += e - s;
  } else {
    r.spans.push([s, e, e - s]);
  }
}

/** A span ON for `share` of its length, clipped to the window. */
function addShare(r, s, e, share, mergeMs, fromMs, toMs) {
  if (!r || share <= 0) return;
  const cs = Math.max(s, fromMs);
  const ce = Math.min(e, toMs);
  if (ce <= cs) return;
  add(r, cs, ce, mergeMs, fromMs, toMs);
  const last = r.spans[r.spans.length - 1];
  last[2] += (ce - cs) * share - (ce - cs);
}

function motorSpans(motor, base, fromMs, toMs, mergeMs, motorRow, dirRow, phaseEnd) {
  const P = period(motor);
  if (P <= 0 || motor.pattern.length === 0) return;
  if (P < mergeMs) {
    // A whole pass is narrower than a pixel: one bar whose shade is the duty cycle, computed,
    // not generated (a pattern can repeat billions of times).
    const last = motor.pattern[motor.pattern.length - 1];
    const end = base + motor.repeat * P - last.pause;
    const on = motor.pattern.reduce((t, s) => t + s.step, 0) / P;
    const cw = motor.pattern.reduce((t, s) => t + (s.ccw ? 0 : s.step + s.pause), 0) / P;
    addShare(motorRow, base, end, on, mergeMs, fromMs, toMs);
    addShare(dirRow, base, Math.min(phaseEnd, end + last.pause), cw, mergeMs, fromMs, toMs);
    return;
  }
  const first = Math.max(0, Math.floor((fromMs - base) / P) - 1);
  const last = Math.min(motor.repeat - 1, Math.ceil((toMs - base) / P));
  // The direction relay is ON (clockwise) from a cw step's start until the next ccw step,
  // and the safe state parks it at the phase end.
  let cwFrom = null;
  for (let r = first; r <= last; r++) {
    let t = base + r * P;
    for (const s of motor.pattern) {
      if (!s.ccw && cwFrom === null) cwFrom = t;
      if (s.ccw && cwFrom !== null) { add(dirRow, cwFrom, t, mergeMs, fromMs, toMs); cwFrom = null; }
      add(motorRow, t, t + s.step, mergeMs, fromMs, toMs);
      t += s.step + s.pause;
    }
  }
  if (cwFrom !== null) {
    const end = last === motor.repeat - 1 ? phaseEnd : Math.min(phaseEnd, base + (last + 1) * P);
    add(dirRow, cwFrom, end, mergeMs, fromMs, toMs);
  }
}
