// The backtest's chart: how many times a day the rule would have acted (uPlot, bars as steps;
// hover shows the value, drag selects a range to zoom). Data comes from a JSON block: the CSP
// allows no inline scripts.
(function () {
  var holder = document.getElementById("chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || !window.uPlot) { return; }
  var data = JSON.parse(source.textContent);
  var xs = data.days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
  var firings = data.firings.map(function (v) { return Number(v); });
  var opts = {
    width: Math.max(280, holder.clientWidth || 600),
    height: 240,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    series: [
      {},
      { label: holder.getAttribute("data-firings") || "Firings", stroke: "#2563eb", width: 2,
        fill: "rgba(37,99,235,0.15)", paths: window.uPlot.paths.stepped({ align: 1 }) }
    ]
  };
  var plot = new window.uPlot(opts, [xs, firings], holder);
  holder.setAttribute("data-drawn", "1");
  window.addEventListener("resize", function () {
    plot.setSize({ width: Math.max(280, holder.clientWidth), height: 240 });
  });
})();
