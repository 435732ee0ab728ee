// streaminfer bench plots: draws the charts described in #report-data with uPlot, then marks the
// page ready for the tests (ready_marker.js), like the report.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");
  const charts = [];
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const add = (node) => root.appendChild(node);
  const fmt = (v) => (v === null || v === undefined) ? "" :
    (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  const width = () => Math.max(600, Math.min(1200, window.innerWidth - 60));

  add(el("h1", {}, "streaminfer " + data.title));
  for (const c of data.charts) {
    add(el("h2", {}, c.title));
    if (c.hint) add(el("p", {class: "hint"}, c.hint));
    const box = el("div", {class: "chart"});
    add(box);
    const ticks = c.x_ticks && c.x_ticks.length ? c.x_ticks : null;
    const xAxis = {label: c.x_label};
    if (ticks) {
      xAxis.values = (u, splits) => splits.map((v) => Number.isInteger(v) ? (ticks[v] || "") : "");
      xAxis.splits = () => ticks.map((_, i) => i);
    }
    const cfg = {
      width: width(), height: 300,
      scales: {x: {time: false, distr: c.log_x ? 3 : 1}, y: {distr: c.log_y ? 3 : 1}},
      axes: [xAxis, {label: c.y_label}],
      series: [{label: c.x_label, value: (u, v) => ticks ? (ticks[v] || "") : fmt(v)}].concat(
        c.series.map((s, i) => ({
          label: s.label, stroke: palette[i % palette.length], width: c.points_only ? 0 : 2,
          spanGaps: true, value: (u, v) => fmt(v),
          points: {show: true, size: c.points_only ? 3 : 7, fill: palette[i % palette.length]},
        }))),
    };
    if (ticks) cfg.scales.x.range = () => [-0.5, ticks.length - 0.5];
    if (c.log_x && !ticks && c.x.length) {
      // Ticks at the measured values (1, 2, 4, 8 cameras), not at powers of ten.
      xAxis.splits = () => c.x;
      xAxis.values = (u, splits) => splits.map((v) => String(v));
      xAxis.filter = (u, splits) => splits;  // uPlot's log filter would blank 2, 4, 8
      cfg.scales.x.range = () => [c.x[0] / 1.3, c.x[c.x.length - 1] * 1.3];
    }
    charts.push(new uPlot(cfg, [c.x].concat(c.series.map((s) => s.values)), box));
  }
  if (data.text) {
    add(el("h2", {}, "Table and system"));
    add(el("pre", {class: "table"}, data.text));
  }

  streaminferMarkReady(charts);
})();
