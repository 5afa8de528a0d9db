// Times for people: durations, clock times and axis ticks, from microseconds to days.

/** A duration in ms as "300 ms", "47.5 s", "11 min 31.6 s" or "9 h 15 min". */
export function duration(ms) {
  if (ms === 0) return "0 ms";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${trim(ms, 3)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${trim(s, 3)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${trim(s - m * 60, 1)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** An instant in ms as "1:02:03.456" (hours only when needed). */
export function clock(ms) {
  const total = Math.max(0, Math.round(ms));
  const f = total % 1000;
  const s = Math.floor(total / 1000) % 60;
  const m = Math.floor(total / 60000) % 60;
  const h = Math.floor(total / 3600000);
  const tail = `${pad(s, 2)}.${pad(f, 3)}`;
  return h > 0 ? `${h}:${pad(m, 2)}:${tail}` : `${m}:${tail}`;
}

/** Tick spacing in ms for a window of `spanMs`: 1, 2 or 5 × a power of ten, or whole
 *  seconds, minutes and hours, giving at most about `count` ticks. */
export function tickStep(spanMs, count = 10) {
  const steps = [];
  for (let e = -3; e <= 3; e++) for (const m of [1, 2, 5]) steps.push(m * 10 ** e);
  steps.push(10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000,
    3600000, 7200000, 10800000, 21600000, 43200000, 86400000);
  return steps.find((s) => spanMs / s <= count) ?? 86400000 * Math.ceil(spanMs / 86400000 / count);
}

/** A tick label, as precise as the tick spacing needs. */
export function tick(ms, step) {
  if (step >= 60000) {
    const m = Math.round(ms / 60000);
    return `${Math.floor(m / 60)}:${pad(m % 60, 2)}`;
  }
  if (step >= 1000) return ms >= 60000 ? `${Math.floor(ms / 60000)}m${pad(Math.round((ms % 60000) / 1000), 2)}s` : `${Math.round(ms / 1000)} s`;
  if (step >= 1) return ms >= 1000 ? `${trim(ms / 1000, 3)} s` : `${Math.round(ms)} ms`;
  return `${trim(ms, 3)} ms`;
}

function trim(x, digits) {
  return String(Number(x.toFixed(digits)));
}

function pad(n, width) {
  return String(n).padStart(width, "0");
}

/** Milliseconds from `now` (a Date) until the next `hh:mm` on the local clock: today when it is
 *  still ahead, else tomorrow. */
export function msUntil(hhmm, now) {
  const [h, m] = hhmm.split(":").map(Number);
  const at = new Date(now);
  at.setHours(h, m, 0, 0);
  if (at <= now) at.setDate(at.getDate() + 1);
  return at - now;
}
