// Shared by the report and the bench plots: once the page's charts are drawn, marks the page
// ready for the tests: document.title becomes "charts-ready:N ..." and a hidden div#ready carries
// data-charts (N) and data-inked (charts whose canvas has pixels drawn).
function streaminferMarkReady(charts) {
  "use strict";
  function inked(chart) {
    const c = chart.ctx.canvas;
    const px = chart.ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
    return n > 0.002 * c.width * c.height;
  }
  setTimeout(() => {
    const count = charts.length, drawn = charts.filter(inked).length;
    const ready = document.createElement("div");
    ready.id = "ready";
    ready.hidden = true;
    ready.setAttribute("data-charts", String(count));
    ready.setAttribute("data-inked", String(drawn));
    document.body.appendChild(ready);
    document.title = "charts-ready:" + count + " · " + document.title;
  }, 0);
}
