// Hand-drawn SVG bar charts (no library). Every bar carries a <title> tooltip; the chart has an
// aria-label summary. Values reach the SVG as text nodes and numeric attributes only.

import { s } from "./dom.js";

const WIDTH = 600;
const HEIGHT = 230;
const PAD = { top: 14, right: 12, bottom: 40, left: 56 };

const TICKS = 4;
// Gridline steps for durations (seconds) that read well: 1s … 30s, 1m … 30m, 1h … 12h, days.
const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** An axis maximum of four whole-number gridline steps at or above `max` (counts). */
export function countMax(max) {
  return TICKS * Math.max(1, Math.ceil(max / TICKS));
}

/** An axis maximum of four "round" duration steps at or above `max` seconds. */
export function durationMax(max) {
  const step = DURATION_STEPS.find((s) => s * TICKS >= max) ?? Math.ceil(max / TICKS / 86400) * 86400;
  return step * TICKS;
}

/**
 * barChart({bars: [{label, value, tooltip}], max, format, barClass, ariaLabel, labelEvery})
 * → <svg>. Bars with value null are gaps (no data in that bucket).
 */
export function barChart({ bars, max, format = String, barClass, ariaLabel, labelEvery = 1, emptyText = "No data in this range" }) {
  const svg = s("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": ariaLabel });
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const top = max ?? countMax(Math.max(0, ...bars.map((b) => b.value ?? 0)));
  const y = (value) => PAD.top + plotH - (plotH * value) / top;

  for (let i = 0; i <= TICKS; i += 1) {
    const value = (top * i) / TICKS;
    svg.append(
      s("line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      s("text", { class: "tick", x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, format(value)),
    );
  }
  svg.append(s("line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) }));

  const slot = plotW / Math.max(1, bars.length);
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  bars.forEach((bar, index) => {
    const cx = PAD.left + slot * index + slot / 2;
    if (bar.value !== null && bar.value !== undefined) {
      const height = Math.max(bar.value > 0 ? 1.5 : 0, y(0) - y(Math.min(bar.value, top)));
      svg.append(s("rect", { class: barClass, x: cx - barW / 2, y: y(0) - height, width: barW, height, rx: 2 },
        s("title", {}, bar.tooltip || `${bar.label}: ${format(bar.value)}`)));
      if (bar.valueLabel && slot >= 28) {
        svg.append(s("text", { class: "value", x: cx, y: y(0) - height - 4, "text-anchor": "middle" }, bar.valueLabel));
      }
    }
    if (index % labelEvery === 0) {
      svg.append(s("text", { class: "tick", x: cx, y: HEIGHT - PAD.bottom + 16, "text-anchor": "middle" }, bar.label));
    }
  });
  if (!bars.some((bar) => bar.value)) {
    svg.append(s("text", { class: "empty", x: PAD.left + plotW / 2, y: PAD.top + plotH / 2, "text-anchor": "middle" }, emptyText));
  }
  return svg;
}
