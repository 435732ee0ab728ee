// streaminfer report: draws the charts and tables from the JSON in #report-data with uPlot.
// When every chart is drawn it marks the page ready for the tests (ready_marker.js).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");
  const charts = [];
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const color = (i) => palette[i % palette.length];

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const add = (node) => root.appendChild(node);
  const fmt = (v, digits) => (v === null || v === undefined || Number.isNaN(v)) ? "" :
    (typeof v === "number" ? v.toFixed(digits === undefined ? 2 : digits) : String(v));
  const chartWidth = () => Math.max(600, Math.min(1300, window.innerWidth - 60));

  // One uPlot line chart; series: [{label, values}], all aligned with xs.
  function lineChart(title, hint, xs, series, opts) {
    opts = opts || {};
    add(el("h2", {}, title));
    if (hint) add(el("p", {class: "hint"}, hint));
    const box = el("div", {class: "chart"});
    add(box);
    const cfg = {
      width: chartWidth(), height: opts.height || 300,
      scales: {x: {time: false, distr: opts.logX ? 3 : 1},
               y: opts.zeroY ? {range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)]} : {}},
      axes: [{label: opts.xLabel || "time since run start (s)"}, {label: opts.yLabel || "ms"}],
      series: [{label: opts.xLabel || "t (s)"}].concat(series.map((s, i) => ({
        label: s.label, stroke: color(s.color === undefined ? i : s.color), width: s.width || 1.5,
        spanGaps: true, points: {show: false},
        paths: opts.stepped ? uPlot.paths.stepped({align: 1}) : undefined,
        value: (u, v) => fmt(v, opts.digits),
      }))),
      legend: {live: true},
    };
    const chart = new uPlot(cfg, [xs].concat(series.map((s) => s.values)), box);
    charts.push(chart);
    return chart;
  }
  function missing(title, what) {
    add(el("h2", {}, title));
    add(el("p", {class: "note"}, "No " + what + " in this metrics directory."));
  }

  // Joins tables [[xs, ys...], ...] on x (each xs ascending); gaps become undefined (spanned).
  const join = (tables) => uPlot.join(tables);

  // Sorted by x; values at equal x are averaged (the frames of one batch finish together).
  function byTime(ts, values) {
    const order = ts.map((_, i) => i).filter((i) => values[i] !== null)
      .sort((a, b) => ts[a] - ts[b]);
    const xs = [], ys = [], n = [];
    for (const i of order) {
      if (xs.length && xs[xs.length - 1] === ts[i]) {
        ys[ys.length - 1] += values[i]; n[n.length - 1] += 1;
      } else { xs.push(ts[i]); ys.push(values[i]); n.push(1); }
    }
    return [xs, ys.map((y, i) => y / n[i])];
  }

  // The largest shift of the mean (at least 10 samples each side, > 20 % and > 1 ms).
  function stepChange(ts, values) {
    const v = values.filter((x) => x !== null), n = v.length;
    if (n < 20) return null;
    const prefix = [0];
    for (const x of v) prefix.push(prefix[prefix.length - 1] + x);
    let best = null;
    for (let k = 10; k <= n - 10; k++) {
      const a = prefix[k] / k, b = (prefix[n] - prefix[k]) / (n - k);
      const score = Math.abs(b - a) * Math.sqrt(k * (n - k) / n);
      if (!best || score > best.score) best = {score, k, a, b};
    }
    if (!best || Math.abs(best.b - best.a) < Math.max(1, 0.2 * Math.min(best.a, best.b))) {
      return null;
    }
    return {t: ts[best.k], before: best.a, after: best.b};
  }

  // Cumulative distributions on one log-spaced latency grid.
  function cdfChart(title, hint, series) {
    const sorted = series.map((s) => s.values.filter((v) => v !== null && v >= 0)
      .sort((a, b) => a - b)).filter((v) => v.length);
    if (!sorted.length) return;
    let lo = Infinity, hi = 0;
    for (const v of sorted) {
      lo = Math.min(lo, Math.max(v[0], 0.01)); hi = Math.max(hi, v[v.length - 1]);
    }
    hi = Math.max(hi, lo * 1.01);
    const xs = [];
    for (let i = 0; i < 240; i++) xs.push(lo * Math.pow(hi / lo, i / 239));
    const lines = [];
    series.forEach((s, i) => {
      const v = s.values.filter((x) => x !== null && x >= 0).sort((a, b) => a - b);
      if (!v.length) return;
      let j = 0;
      const ys = xs.map((x) => { while (j < v.length && v[j] <= x) j++; return 100 * j / v.length; });
      lines.push({label: s.label, values: ys, color: i});
    });
    lineChart(title, hint, xs, lines,
              {logX: true, xLabel: "latency (ms, log scale)", yLabel: "% at or below", digits: 1});
  }

  // Header ------------------------------------------------------------------------------
  const s = data.summary || {};
  add(el("h1", {}, "streaminfer report: " + data.model));
  add(el("div", {class: "meta"}, "run " + data.run_date + " · pid " + data.pid +
      " · report generated " + data.generated + " · files: " +
      Object.values(data.files).filter((f) => f).join(", ")));

  // (1) Stage latency over time ---------------------------------------------------------------
  const b = data.batches;
  const stages = [["read", "read (batch formed)"], ["prep", "prep"], ["exec", "exec"],
                  ["post", "post"], ["total", "total step"]];
  const tables = [[b.t].concat(stages.map(([k]) => b[k]))];
  const labels = stages.map(([, l]) => l);
  if (data.frames) {
    tables.push(byTime(data.frames.t, data.frames.end_to_end));
    labels.push("end to end (per frame)");
  }
  const joined = join(tables);
  const shifts = stages.map(([k, l]) => [l, stepChange(b.t, b[k])]).filter(([, c]) => c)
    .map(([l, c]) => l + " " + fmt(c.before, 1) + " → " + fmt(c.after, 1) + " ms at t ≈ " +
         fmt(c.t, 1) + " s");
  lineChart("Stage latency over time",
            "Per batch (x: when the batch was formed); end to end per frame (x: when it " +
            "finished; frames finishing together averaged). " +
            (shifts.length ? "Step changes: " + shifts.join("; ") + "." :
             "No step change in the batch stages."),
            joined[0], labels.map((l, i) => ({label: l, values: joined[i + 1],
                                               width: l.startsWith("end") ? 2 : 1.5})));

  // (2) Distributions -------------------------------------------------------------------------
  const batchSeries = stages.map(([k, l]) => ({label: l, values: b[k]}));
  if (data.frames) batchSeries.push({label: "end to end", values: data.frames.end_to_end});
  cdfChart("Stage latency distribution (CDF)",
           "Share of batches (frames, for end to end) at or below each latency.", batchSeries);
  if (data.frames) {
    const f = data.frames;
    cdfChart("Per-frame latency distribution (CDF)", "Every frame's time in each stage.",
             ["decode", "queue_wait", "batch_wait", "preprocess", "inference_wait", "exec",
              "post", "end_to_end"].map((k) => ({label: k.replace(/_/g, " "), values: f[k]})));
  } else {
    missing("Per-frame latency distribution", "frames CSV (F_*_frames.csv)");
  }

  // (3) FPS per stream ------------------------------------------------------------------------
  if (data.fps && data.fps.t.length) {
    const total = data.fps.t.map((_, k) =>
      data.fps.streams.reduce((sum, st) => sum + (st.fps[k] || 0), 0));
    lineChart("Throughput per stream", "Frames completed per 1 s of the run.", data.fps.t,
              data.fps.streams.map((st) => ({label: "stream " + st.id, values: st.fps}))
                .concat([{label: "total", values: total, width: 2.5, color: 7}]),
              {yLabel: "frames per second", digits: 1, stepped: true, zeroY: true});
  } else {
    missing("Throughput per stream", "frames CSV (F_*_frames.csv)");
  }

  // (4) Queue depth per stream ----------------------------------------------------------------
  if (data.queues && data.queues.streams.length) {
    const qs = data.queues.streams;
    const depth = join(qs.map((q) => byTime(q.t, q.depth)));
    lineChart("Queue depth per stream", "Frames waiting in each stream's queue (sampled).",
              depth[0], qs.map((q, i) => ({label: "stream " + q.id, values: depth[i + 1]})),
              {yLabel: "frames", digits: 0, stepped: true, zeroY: true});
    const dropped = join(qs.map((q) => byTime(q.t, q.dropped)));
    lineChart("Dropped frames per stream (cumulative)", null, dropped[0],
              qs.map((q, i) => ({label: "stream " + q.id, values: dropped[i + 1]})),
              {yLabel: "frames", digits: 0, height: 220, zeroY: true});
  } else {
    missing("Queue depth per stream", "queue CSV (Q_*_queues.csv)");
  }

  // (5) Summary and system --------------------------------------------------------------------
  function table(head, rows, textColumns) {
    const t = el("table");
    const tr = el("tr");
    head.forEach((h, i) => tr.appendChild(el("th", textColumns.includes(i) ? {class: "text"} : {}, h)));
    t.appendChild(tr);
    for (const row of rows) {
      const r = el("tr");
      row.forEach((c, i) => r.appendChild(el("td", textColumns.includes(i) ? {class: "text"} : {}, c)));
      t.appendChild(r);
    }
    add(t);
  }
  add(el("h2", {}, "Summary"));
  if (data.summary) {
    table(["model", "wall (s)", "frames", "FPS", "batches", "bottleneck"],
          [[s.model, fmt(s.wall_seconds), fmt(s.frames, 0), fmt(s.fps, 1), fmt(s.batches, 0),
            s.bottleneck]], [0, 5]);
    table(["stream", "source", "status", "frames", "FPS", "dropped", "decode errors"],
          (s.streams || []).map((st) => [fmt(st.id, 0), st.uri, st.status, fmt(st.frames, 0),
                                         fmt(st.fps, 1), fmt(st.dropped, 0),
                                         fmt(st.decode_errors, 0)]), [1, 2]);
    table(["stage", "count", "mean (ms)", "p50", "p95", "p99", "max", "busy share"],
          (s.stages || []).map((st) => [st.name, fmt(st.count, 0), fmt(st.mean_ms), fmt(st.p50_ms),
                                        fmt(st.p95_ms), fmt(st.p99_ms), fmt(st.max_ms),
                                        fmt(100 * st.busy_share, 0) + " %"]), [0]);
    add(el("p", {class: "bottleneck"}, "Bottleneck: " + (s.bottleneck || "unknown")));
    if (s.accuracy) {
      // Sources with ground truth (synthetic cameras): COCO mAP, and the same with dropped frames
      // counted as frames in which nothing was found.
      const a = s.accuracy;
      add(el("h2", {}, "Accuracy"));
      add(el("p", {class: "note"}, "COCO mAP against the sources' ground truth. Detections were " +
          "cut at --conf " + a.score_threshold + ", which understates the full-curve AP."));
      const row = (name, e) => [name, fmt(e.map50, 3), fmt(e.map50_95, 3), fmt(e.images, 0),
                                fmt(e.ground_truths, 0), fmt(e.detections, 0),
                                fmt(e.with_dropped.dropped_frames, 0),
                                fmt(e.with_dropped.map50, 3), fmt(e.with_dropped.map50_95, 3)];
      const rows = (a.streams || []).map((st) => row(fmt(st.id, 0), st));
      if ((a.streams || []).length > 1) rows.push(row("all", a.overall));
      table(["stream", "mAP@0.5", "mAP@0.5:0.95", "frames", "objects", "detections", "dropped",
             "mAP@0.5 (dropped = missed)", "mAP@0.5:0.95 (dropped = missed)"], rows, [0]);
      table(["class", "AP@0.5", "AP@0.5:0.95"],
            (a.overall.classes || []).map((c) => [c.name, fmt(c.ap50, 3), fmt(c.ap50_95, 3)]), [0]);
    }
    add(el("h2", {}, "System"));
    const sys = s.system || {};
    table(["key", "value"], Object.entries(sys).map(([k, v]) =>
      [k, typeof v === "object" ? JSON.stringify(v) : String(v)]), [0, 1]);
  } else {
    add(el("p", {class: "note"}, "No summary JSON (S_*_summary.json) in this metrics directory."));
  }

  streaminferMarkReady(charts);
})();
