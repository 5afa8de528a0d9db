// A telemetry frame to what the page shows: ON/OFF per output (not raw levels), the phase and
// its progress, and where the playhead stands on the cycle's time axis.

import { phaseStarts } from "./cycle.js";

/** What the page has seen of the run in progress: the length each of its phases really took,
 *  so that the chart and the playhead follow the run (a fill its sensor ended early is drawn
 *  as long as it ran, and the playhead goes on from there instead of jumping to the planned
 *  start of the next phase). `run` is the last call's result (null at first); `live` a
 *  fromTelemetry frame. A jump to a phase other than the next starts the record afresh: the
 *  chart draws phases in their order. Kept when the run ends, until the next one starts. */
export function followRun(run, live) {
  if (!live.running) return run && { ...run, running: false };
  const start = live.cycleElapsedMs - live.phaseElapsedMs;
  const fresh = !run || !run.running || live.cycleElapsedMs < run.cycleMs;
  const r = fresh ? { running: true, phase: live.phaseIndex, startMs: start, cycleMs: 0, actual: {} } : { ...run, actual: { ...run.actual } };
  if (live.phaseIndex !== r.phase) {
    if (live.phaseIndex === r.phase + 1) r.actual[r.phase] = Math.max(0, start - r.startMs);
    else r.actual = {};
    r.phase = live.phaseIndex;
    r.startMs = start;
  }
  r.cycleMs = live.cycleElapsedMs;
  return r;
}

/** The phases as this run played them: an ended phase as long as it really was. */
export function asRun(phases, run) {
  const actual = run?.actual ?? {};
  return phases.map((p, i) => (i in actual ? { ...p, duration: actual[i] } : p));
}

/** Where the playhead stands on the cycle's time axis of `phases`: phase `phaseIndex`'s start
 *  plus its elapsed time; null while nothing runs. */
export function playheadAt(phaseIndex, elapsedMs, phases) {
  const starts = phaseStarts(phases);
  return phaseIndex >= 0 && phaseIndex < starts.length ? starts[phaseIndex] + elapsedMs : null;
}

export function fromTelemetry(t, phases) {
  const c = t.cycle ?? {};
  const running = Boolean(c.cycle_running);
  const phaseIndex = running ? (c.current_phase_index ?? 0) - 1 : -1;
  const elapsed = c.phase_elapsed_ms ?? 0;
  const total = c.phase_total_duration_ms ?? 0;
  return {
    running,
    paused: Boolean(c.paused),
    status: c.status ?? (running ? "running" : "idle"),
    phaseIndex,
    phaseName: c.current_phase_title ?? c.current_phase_name ?? "",
    totalPhases: c.total_phases ?? phases.length,
    phaseElapsedMs: elapsed,
    phaseTotalMs: total,
    phaseProgress: total > 0 ? Math.min(1, elapsed / total) : running ? 1 : 0,
    cycleElapsedMs: c.cycle_elapsed_ms ?? 0,
    cycleTotalMs: c.cycle_total_duration_ms ?? 0,
    playheadMs: playheadAt(phaseIndex, elapsed, phases),
    outputs: (t.gpio ?? []).map((g) => ({ pin: g.pin, name: g.name ?? `GPIO ${g.pin}`, on: g.on ?? g.state === 0, level: g.state })),
    rpm: t.sensors?.rpm ?? 0,
    pressureHz: t.sensors?.pressure_freq ?? 0,
    levelLitres: t.sensors?.level_litres ?? null,
    sensorError: Boolean(t.sensors?.sensor_error),
    fault: c.fault ?? null,
    startInMs: c.start_in_ms ?? null,
    lastPhaseEnd: c.last_phase_end ?? null,
    timestampMs: t.packet_timestamp_ms ?? 0,
  };
}
