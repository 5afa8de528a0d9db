// Drawing on canvases: the cycle timeline (phase bands, one row per output, a time axis, the
// playhead) and the small sensor charts. Layout comes from cycle.js; this only paints.

import { layout } from "./cycle.js";
import { clock, duration, tick, tickStep } from "./format.js";

const PALETTE = ["60A5FA", "4ADE80", "FBBF24", "F87171", "A78BFA", "2DD4BF", "FB923C", "94A3B8"];
/** Room for the output names: narrower on a phone, where names are shortened. */
let LABEL_W = 150;
const HEADER_H = 30;
const AXIS_H = 24;

/** Sizes a canvas's backing store to its CSS size and returns a 2D context in CSS pixels. */
export function fit(canvas) {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth);
  const h = Math.max(1, canvas.clientHeight);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

export function phaseColor(band) {
  return /^[0-9a-f]{6}$/i.test(band.color) ? `#${band.color}` : `#${PALETTE[band.index % PALETTE.length]}`;
}

/**
 * Paints the timeline for `view` ({fromMs, toMs}) and returns the geometry a pointer needs
 * (hit testing for tooltips and clicks).
 */
export function drawTimeline(canvas, phases, outputs, view, playheadMs, highlight) {
  const { ctx, w, h } = fit(canvas);
  LABEL_W = w < 600 ? 92 : 150;
  const plotW = w - LABEL_W - 10;
  const span = Math.max(view.toMs - view.fromMs, 1e-3);
  const x = (t) => LABEL_W + ((t - view.fromMs) / span) * plotW;
  const rowsTop = HEADER_H;
  const rowH = Math.max(16, (h - HEADER_H - AXIS_H) / Math.max(outputs.length, 1));
  const { bands, rows } = layout(phases, outputs, view.fromMs, view.toMs, span / plotW);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";

  const clipLeft = (v) => Math.max(LABEL_W, Math.min(LABEL_W + plotW, v));
  for (const b of bands) {
    if (b.endMs < view.fromMs || b.startMs > view.toMs) continue;
    const x0 = clipLeft(x(b.startMs));
    const x1 = clipLeft(x(b.endMs));
    const color = phaseColor(b);
    ctx.fillStyle = color + "2e";
    ctx.fillRect(x0, 0, Math.max(1, x1 - x0), h - AXIS_H);
    ctx.fillStyle = color;
    ctx.fillRect(x0, 0, Math.max(1, x1 - x0), 4);
    ctx.strokeStyle = color;
    ctx.setLineDash(b.trigger ? [4, 3] : []);
    ctx.strokeRect(x0 + 0.5, 0.5, Math.max(1, x1 - x0) - 1, h - AXIS_H - 1);
    ctx.setLineDash([]);
    if (highlight === b.index) {
      ctx.strokeStyle = "#b91c1c";
      ctx.lineWidth = 3;
      ctx.strokeRect(x0 + 1.5, 1.5, Math.max(1, x1 - x0) - 3, h - AXIS_H - 3);
      ctx.lineWidth = 1;
    }
    const name = `${b.index + 1} ${b.label}${b.trigger ? " ⚡" : ""}`;
    ctx.fillStyle = "#1f2937";
    ctx.font = "bold 12px system-ui, sans-serif";
    if (ctx.measureText(name).width + 8 < x1 - x0) ctx.fillText(name, x0 + 4, 17);
    else if (x1 - x0 > 16) ctx.fillText(String(b.index + 1), x0 + 3, 17);
    ctx.font = "12px system-ui, sans-serif";
  }

  rows.forEach((r, i) => {
    const y = rowsTop + i * rowH;
    ctx.fillStyle = "#1f2937";
    ctx.textAlign = "right";
    const name = LABEL_W < 150 ? r.name.replace("Motor Direction", "Direction").replace(" Valve", "") : r.name;
    ctx.fillText(`${name}${r.direction ? " (cw)" : ""}`, LABEL_W - 8, y + rowH / 2);
    ctx.textAlign = "left";
    ctx.strokeStyle = "#e5e7eb";
    ctx.beginPath();
    ctx.moveTo(LABEL_W, y + rowH + 0.5);
    ctx.lineTo(LABEL_W + plotW, y + rowH + 0.5);
    ctx.stroke();
    for (const [s, e, on] of r.spans) {
      const x0 = clipLeft(x(s));
      const x1 = clipLeft(x(e));
      const duty = on / Math.max(e - s, 1e-9);
      ctx.globalAlpha = 0.35 + 0.65 * Math.min(1, duty);
      if (r.direction) {
        ctx.fillStyle = "#64748b";
        ctx.fillRect(x0, y + rowH * 0.3, Math.max(0.8, x1 - x0), rowH * 0.4);
      } else {
        ctx.fillStyle = "#1d4ed8";
        ctx.fillRect(x0, y + 4, Math.max(0.8, x1 - x0), rowH - 8);
      }
      ctx.globalAlpha = 1;
    }
  });

  // Time axis.
  const step = tickStep(span, Math.max(2, Math.floor(plotW / 90)));
  const axisY = h - AXIS_H;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, axisY, w, AXIS_H);
  ctx.strokeStyle = "#1f2937";
  ctx.beginPath();
  ctx.moveTo(LABEL_W, axisY + 0.5);
  ctx.lineTo(LABEL_W + plotW, axisY + 0.5);
  ctx.stroke();
  ctx.fillStyle = "#374151";
  ctx.textAlign = "center";
  for (let t = Math.ceil(view.fromMs / step) * step; t <= view.toMs; t += step) {
    const tx = x(t);
    ctx.fillRect(tx, axisY, 1, 5);
    ctx.fillText(tick(t, step), tx, axisY + 14);
  }
  ctx.textAlign = "left";

  if (playheadMs !== null && playheadMs >= view.fromMs && playheadMs <= view.toMs) {
    const px = x(playheadMs);
    ctx.strokeStyle = "#dc2626";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px, 0);
    ctx.lineTo(px, axisY);
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = "#dc2626";
    ctx.beginPath();
    ctx.moveTo(px - 6, 0);
    ctx.lineTo(px + 6, 0);
    ctx.lineTo(px, 8);
    ctx.fill();
  }
  return { bands, rows, x, plotW, rowsTop, rowH, axisY, view, toTime: (px) => view.fromMs + ((px - LABEL_W) / plotW) * span };
}

/** What is under the pointer, as text for a tooltip, and the phase band (for clicks). */
export function hit(geom, px, py) {
  if (!geom || px < LABEL_W) return null;
  const t = geom.toTime(px);
  const band = geom.bands.find((b) => t >= b.startMs && t <= b.endMs);
  const rowIndex = Math.floor((py - geom.rowsTop) / geom.rowH);
  const row = py >= geom.rowsTop && py < geom.axisY ? geom.rows[rowIndex] : null;
  const tolerance = (geom.view.toMs - geom.view.fromMs) / geom.plotW * 2;
  const span = row?.spans.find(([s, e]) => t >= s - tolerance && t <= e + tolerance);
  let text = `${clock(t)}`;
  if (span) {
    const [s, e, on] = span;
    const what = row.direction ? "clockwise" : "ON";
    const dense = on < (e - s) * 0.999 ? `, pulses ON ${Math.round((on / (e - s)) * 100)}% of it` : "";
    text = `${row.name} ${what}: ${clock(s)} → ${clock(e)} (${duration(e - s)}${dense})`;
  } else if (band) {
    const trig = band.trigger ? ` · ends when ${band.trigger.type} ${band.trigger.above ? ">" : "<"} ${band.trigger.threshold}${band.trigger.mode === "wait" ? " (waits)" : ""}` : "";
    text = `Phase ${band.index + 1} '${band.label}': ${clock(band.startMs)} → ${clock(band.endMs)} (${duration(band.endMs - band.startMs)})${trig}`;
  }
  return { text, band };
}

/** A small line chart of the recent samples. */
export function drawChart(canvas, samples, color, unit) {
  const { ctx, w, h } = fit(canvas);
  ctx.clearRect(0, 0, w, h);
  if (samples.length < 2) return;
  const values = samples.map((s) => s.v);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1) { hi += 0.5; lo -= 0.5; }
  const t0 = samples[0].t;
  const t1 = samples[samples.length - 1].t;
  const x = (t) => 44 + ((t - t0) / Math.max(t1 - t0, 1)) * (w - 50);
  const y = (v) => 6 + (1 - (v - lo) / (hi - lo)) * (h - 20);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#6b7280";
  ctx.fillText(`${hi.toFixed(0)}`, 2, y(hi) + 4);
  ctx.fillText(`${lo.toFixed(0)}`, 2, y(lo));
  ctx.fillText(`last ${duration(t1 - t0)}, ${unit}`, 44, h - 3);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  samples.forEach((s, i) => (i ? ctx.lineTo(x(s.t), y(s.v)) : ctx.moveTo(x(s.t), y(s.v))));
  ctx.stroke();
}
