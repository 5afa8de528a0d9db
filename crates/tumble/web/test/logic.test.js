// Unit tests for the page's logic: run with `node --test crates/tumble/web/test/`.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { normalise, summary, layout, resolveOutput, phaseStarts } from "../lib/cycle.js";
import { asRun, followRun, fromTelemetry, playheadAt } from "../lib/telemetry.js";
import { duration, clock, tickStep, tick, msUntil } from "../lib/format.js";
import { controllerUrl } from "../lib/conn.js";

// The outputs of the default board as the controller's hello lists them (copied from a real
// hello: crates/tumble-core/tests/protocol.rs checks the same shape).
const OUTPUTS = [
  ["Retractor", 7], ["Detergent Valve", 8], ["Cold Valve", 5], ["Drain Pump", 19],
  ["Hot Valve", 9], ["Soft Valve", 18, ["Softener Valve"]], ["Motor", 4, [], "motor"],
  ["Motor Direction", 10, [], "direction"],
].map(([name, pin, aliases = [], role = null]) => ({ role, name, aliases, pin, active_low: true }));

const example = (name) =>
  JSON.parse(readFileSync(new URL(`../../../../examples/cycles/${name}`, import.meta.url)));

test("the original example: durations and event counts as the controller computes them", () => {
  const phases = normalise(example("original-example.json"));
  assert.deepEqual(phases.map((p) => p.events), [182, 2]);
  assert.deepEqual(phases.map((p) => p.duration), [47500, 6000]);
  const s = summary(phases);
  assert.equal(s.durationMs, 53500);
  assert.equal(s.components, 3);
  assert.deepEqual(phaseStarts(phases), [0, 47500]);
});

test("a reversal pauses for at least the board's dead time, as the controller plays it", () => {
  const doc = { phases: [{ components: [{ compId: "Motor", motorConfig: { repeatTimes: 2, pattern: [
    { stepTime: 300, pauseTime: 0, direction: "cw" }, { stepTime: 300, pauseTime: 250, direction: "ccw" },
    { stepTime: 300, pauseTime: 50, direction: "ccw" }] } }] }] };
  // Without a dead time: 2 passes of 300+0 + 300+250 + 300+50, the last pause not waited out.
  assert.equal(normalise(doc)[0].duration, 2 * 1200 - 50);
  // With 100 ms: the cw->ccw pause becomes 100, ccw->ccw stays 250, the wrap ccw->cw becomes 100.
  assert.equal(normalise(doc, 100)[0].duration, 2 * 1350 - 100);
});

test("defaults, case-insensitive keys, a pure wait", () => {
  const phases = normalise({ Phases: [
    { components: [{ compId: "Motor", motorConfig: { pattern: [{}] } }] },
    { StartTime: 30000 },
  ] });
  assert.equal(phases[0].duration, 1000, "stepTime 1000, one repeat");
  assert.equal(phases[0].events, 3);
  assert.equal(phases[1].duration, 30000, "a phase without events lasts its startTime");
});

test("a million events lay out in visible pieces, merged to pixels", () => {
  const phases = normalise(example("million.json"));
  assert.equal(phases[0].events, 1000004);
  const total = phases[0].duration;
  const whole = layout(phases, OUTPUTS, 0, total, total / 1000);
  const motor = whole.rows.find((r) => r.name === "Motor");
  assert.equal(motor.spans.length, 1, "at 33 s per pixel the 50 ms pulses are one bar");
  const [s, e, on] = motor.spans[0];
  assert.equal(s, 0);
  assert.ok(Math.abs(on / (e - s) - 0.5) < 0.01, "it remembers the 50% duty cycle");
  const zoom = layout(phases, OUTPUTS, 1000, 1500, 0.5);
  const pulses = zoom.rows.find((r) => r.name === "Motor").spans;
  assert.deepEqual(pulses, [[1000, 1050, 50], [1100, 1150, 50], [1200, 1250, 50], [1300, 1350, 50], [1400, 1450, 50], [1500, 1550, 50]]);
});

test("a pattern of billions of repeats draws as one shaded bar, at once", () => {
  const phases = normalise({ phases: [{ components: [{ compId: "Motor", motorConfig: {
    repeatTimes: 4294967295, pattern: [{ stepTime: 1, pauseTime: 0 }] } }] }] });
  // Generating 4.3 billion pulses would take minutes; this returns at once.
  const l = layout(phases, OUTPUTS, 0, phases[0].duration, phases[0].duration / 1000);
  const [s, e, on] = l.rows.find((r) => r.role === "motor").spans[0];
  assert.deepEqual([s, e, on], [0, 4294967295, 4294967295], "ON all the time (no pauses)");
});

test("motor direction rows: cw shaded until the next ccw step", () => {
  const phases = normalise(example("original-example.json"));
  const l = layout(phases, OUTPUTS, 0, 2000, 0.1);
  const dir = l.rows.find((r) => r.name === "Motor Direction").spans;
  assert.deepEqual(dir.slice(0, 2).map(([s, e]) => [s, e]), [[0, 800], [1600, 2400]]);
  const bands = l.bands.map((b) => [b.label, b.startMs, b.endMs]);
  assert.deepEqual(bands, [["Wash", 0, 47500], ["Fill", 47500, 53500]], "phases by their name");
});

test("outputs resolve like the controller: case, spaces, aliases", () => {
  assert.equal(resolveOutput(" cold VALVE ", OUTPUTS).pin, 5);
  assert.equal(resolveOutput("Softener Valve", OUTPUTS).pin, 18);
  assert.equal(resolveOutput("Pump", OUTPUTS), undefined);
});

test("telemetry becomes ON/OFF, progress and a playhead", () => {
  const phases = normalise(example("original-example.json"));
  const t = {
    type: "telemetry", packet_timestamp_ms: 50000,
    gpio: [{ pin: 5, state: 0, name: "Cold Valve", on: true }, { pin: 7, state: 1 }],
    sensors: { rpm: 12.5, pressure_freq: 27000, sensor_error: false },
    cycle: { cycle_running: true, paused: false, current_phase_index: 2, current_phase_name: "phase-2",
      total_phases: 2, phase_elapsed_ms: 1500, phase_total_duration_ms: 6000, fault: null },
  };
  const s = fromTelemetry(t, phases);
  assert.equal(s.phaseIndex, 1);
  assert.equal(s.playheadMs, 47500 + 1500);
  assert.equal(s.phaseProgress, 0.25);
  assert.deepEqual(s.outputs.map((o) => o.on), [true, false], "state 0 is ON; a frame without 'on' is read by level");
  const idle = fromTelemetry({ cycle: { cycle_running: false, current_phase_index: 0 } }, phases);
  assert.equal(idle.playheadMs, null);
  assert.equal(idle.phaseIndex, -1);
});

test("times read well from microseconds to hours", () => {
  assert.equal(duration(0), "0 ms");
  assert.equal(duration(0.05), "50 µs");
  assert.equal(duration(300), "300 ms");
  assert.equal(duration(47500), "47.5 s");
  assert.equal(duration(691600), "11 min 31.6 s");
  assert.equal(duration(33333400), "9 h 15 min");
  assert.equal(clock(3723456), "1:02:03.456");
  assert.equal(tickStep(50), 5);
  assert.equal(tickStep(72e6), 7200000);
  assert.equal(tick(7200000, 3600000), "2:00");
  assert.equal(tick(250, 50), "250 ms");
});

test("the token in the page's address is used and remembered for the origin", () => {
  const kept = new Map();
  const storage = { setItem: (k, v) => kept.set(k, v), getItem: (k) => kept.get(k) ?? null };
  const at = (search) => ({ protocol: "http:", host: "127.0.0.1:8080", search });
  assert.equal(controllerUrl(at(""), storage), "ws://127.0.0.1:8080/ws");
  assert.equal(controllerUrl(at("?token=a%2Bb"), storage), "ws://127.0.0.1:8080/ws?token=a%2Bb");
  assert.equal(controllerUrl(at(""), storage), "ws://127.0.0.1:8080/ws?token=a%2Bb", "remembered");
  assert.equal(controllerUrl({ ...at(""), protocol: "https:" }, undefined), "wss://127.0.0.1:8080/ws");
  const refusing = { setItem() { throw new Error("no"); }, getItem() { throw new Error("no"); } };
  assert.equal(controllerUrl(at("?token=x"), refusing), "ws://127.0.0.1:8080/ws?token=x");
});

test("a start at a time of day is the wait until it comes, today or tomorrow", () => {
  const now = new Date(2026, 11, 1, 14, 30, 15);
  assert.equal(msUntil("15:00", now), 29 * 60000 + 45000);
  assert.equal(msUntil("14:30", now), 24 * 3600000 - 15000, "just passed: tomorrow");
  assert.equal(msUntil("06:00", now), (15 * 60 + 29) * 60000 + 45000);
});

test("the playhead follows the run: a phase its sensor ended early is drawn as long as it ran", () => {
  const phases = normalise(example("sensor-fill.json"));
  const planned = phaseStarts(phases);
  const frame = (phase, phaseMs, cycleMs, running = true) => fromTelemetry({
    cycle: { cycle_running: running, current_phase_index: running ? phase + 1 : 0, phase_elapsed_ms: phaseMs, cycle_elapsed_ms: cycleMs },
  }, phases);
  let run = null;
  const heads = [];
  // The fill ends by its sensor 20 s before its planned end; the next phase runs 5 s.
  const fillMs = phases[0].duration - 20000;
  for (const [phase, at, cycle] of [[0, 1000, 1000], [0, fillMs - 100, fillMs - 100], [1, 100, fillMs + 100], [1, 5000, fillMs + 5000]]) {
    run = followRun(run, frame(phase, at, cycle));
    heads.push(playheadAt(phase, at, asRun(phases, run)));
  }
  assert.deepEqual(heads, [1000, fillMs - 100, fillMs + 100, fillMs + 5000], "no jump at the phase change");
  assert.deepEqual(run.actual, { 0: fillMs });
  const drawn = asRun(phases, run);
  assert.equal(drawn[0].duration, fillMs);
  assert.equal(phaseStarts(drawn)[1], planned[1] - 20000, "the next phase starts where the fill ended");
  // What the fill switched is cut at its real end.
  const { rows } = layout(drawn, OUTPUTS, 0, drawn[0].duration + drawn[1].duration, 1);
  for (const r of rows) for (const [s, e] of r.spans) assert.ok(!(s < fillMs && e > fillMs) || r.name === "Motor" || r.name === "Motor Direction", `${r.name} ${s}-${e}`);
  // The run's end keeps its record (the chart stays as it ran); the next run starts afresh.
  run = followRun(run, frame(0, 0, 0, false));
  assert.equal(run.running, false);
  assert.deepEqual(run.actual, { 0: fillMs });
  run = followRun(run, frame(0, 500, 500));
  assert.deepEqual(run.actual, {});
  run = followRun(run, frame(1, 100, 40000));
  assert.deepEqual(run.actual, { 0: 39900 });
  // A jump past a phase is not a run the chart can draw in order: the record starts afresh.
  run = followRun(run, frame(0, 100, 50000));
  assert.deepEqual(run.actual, {});
});
