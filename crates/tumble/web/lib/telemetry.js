// A telemetry frame to what the page shows: ON/OFF per output (not raw levels), the phase and
// its progress, and where the playhead stands on the cycle's time axis.

import { phaseStarts } from "./cycle.js";

export function fromTelemetry(t, phases) {
  const c = t.cycle ?? {};
  const running = Boolean(c.cycle_running);
  const phaseIndex = running ? (c.current_phase_index ?? 0) - 1 : -1;
  const starts = phaseStarts(phases);
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
    playheadMs: phaseIndex >= 0 && phaseIndex < starts.length ? starts[phaseIndex] + elapsed : null,
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
