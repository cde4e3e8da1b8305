// Line charts drawn as SVG, without any library: each series a polyline with a circle per data point
// (class "point", with the value in its title), axes with a few ticks, and a legend.
"use strict";

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];
const SVG = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(value)));
  for (const m of [1, 2, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function timeLabel(t, span) {
  const d = new Date(t * 1000);
  const hm = d.toTimeString().slice(0, 5);
  return span > 2 * 86400 ? `${d.getMonth() + 1}/${d.getDate()} ${hm}` : hm;
}

// series: [{name, points: [[x, value], ...]}]; opts: {start, end} (Unix seconds, or other x values with
// opts.xLabel to write them)
function lineChart(container, series, opts) {
  const W = 520, H = 200, L = 48, R = 10, T = 10, B = 36;
  container.replaceChildren();
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, role: "img"});
  container.appendChild(svg);
  const drawn = series.filter((s) => s.points.length > 0);
  if (drawn.length === 0) {
    svg.appendChild(svgEl("text", {x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty"}, "no data yet"));
    return svg;
  }
  const start = opts.start, end = Math.max(opts.end, start + 1);
  const xLabel = opts.xLabel || ((t) => timeLabel(t, end - start));
  const top = niceMax(Math.max(...drawn.flatMap((s) => s.points.map((p) => p[1]))));
  const x = (t) => L + ((t - start) / (end - start)) * (W - L - R);
  const y = (v) => H - B - (v / top) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), class: i ? "grid" : "axis"}));
    svg.appendChild(svgEl("text", {x: L - 4, y: y(v) + 3, "text-anchor": "end"}, Number(v.toPrecision(3))));
  }
  for (let i = 0; i <= 4; i++) {
    const t = start + ((end - start) * i) / 4;
    svg.appendChild(svgEl("text", {x: x(t), y: H - B + 14, "text-anchor": "middle"}, xLabel(t)));
  }
  drawn.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.slice().sort((a, b) => a[0] - b[0]);
    svg.appendChild(svgEl("polyline", {class: "line", stroke: color,
      points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")}));
    for (const [t, v] of pts) {
      const dot = svgEl("circle", {cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: color, class: "point",
                                   "data-series": s.name, "data-value": v});
      dot.appendChild(svgEl("title", {}, `${s.name}: ${v} at ${xLabel(t)}`));
      svg.appendChild(dot);
    }
    svg.appendChild(svgEl("rect", {x: L + 4 + i * 120, y: H - 14, width: 8, height: 8, fill: color}));
    svg.appendChild(svgEl("text", {x: L + 16 + i * 120, y: H - 6}, s.name.length > 16 ? s.name.slice(0, 15) + "…" : s.name));
  });
  return svg;
}

window.llmaasCharts = {lineChart};
