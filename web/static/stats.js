// The stats table: sort by a column, filter by name, keep the CSV link to what is shown;
// the daily chart with uPlot (hover shows values, drag selects a range to zoom).
(function () {
  "use strict";
  var table = document.getElementById("table");
  var filter = document.getElementById("filter");
  var csv = document.getElementById("csv");

  function value(row, col, kind) {
    var v = row.cells[col] ? row.cells[col].getAttribute("data-v") : "";
    if (kind === "num") { return v === "" || v === null ? -Infinity : parseFloat(v); }
    return (v || "").toLowerCase();
  }

  if (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var kind = th.getAttribute("data-sort");
      if (!kind) return;
      th.addEventListener("click", function () {
        var desc = !th.classList.contains("desc");
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(desc ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows).filter(function (r) {
          return r.hasAttribute("data-id");
        });
        rows.sort(function (a, b) {
          var x = value(a, col, kind), y = value(b, col, kind);
          if (x < y) return desc ? 1 : -1;
          if (x > y) return desc ? -1 : 1;
          return 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  // Bulk selection: a checkbox per row, sent with the form "manage" as `ids`.
  var bulk = document.getElementById("bulk");
  if (bulk && table) {
    var label = bulk.getAttribute("data-select") || "Select";
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
      var cell = r.cells[r.cells.length - 1];  // the row's Pause / Enable
      if (!r.hasAttribute("data-id") || !cell) return;
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "ids";
      box.value = r.getAttribute("data-id");
      box.setAttribute("form", "manage");
      box.setAttribute("aria-label", label + ": " + (r.cells[0].getAttribute("data-v") || ""));
      cell.insertBefore(box, cell.firstChild);
    });
    bulk.hidden = false;
  }

  if (filter && table) {
    // The name column (the first, or the second when rows have a checkbox for bulk changes).
    var nameCol = Array.prototype.findIndex.call(table.tHead.rows[0].cells, function (th) {
      return th.hasAttribute("data-name");
    });
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        if (!r.hasAttribute("data-id")) return;
        r.hidden = q !== "" && value(r, Math.max(0, nameCol), "text").indexOf(q) === -1;
      });
      if (csv) {
        var url = new URL(csv.href, window.location.href);
        if (q) { url.searchParams.set("q", q); } else { url.searchParams.delete("q"); }
        csv.href = url.pathname + url.search;
      }
    });
  }

  var holder = document.getElementById("chart");
  var source = document.getElementById("chart-data");
  if (holder && source && window.uPlot) {
    var data = JSON.parse(source.textContent);
    var xs = data.days.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
    var spend = data.spend.map(function (v) { return parseFloat(v); });
    var results = data.conversions.map(function (v) { return Number(v); });
    var width = Math.max(280, holder.clientWidth || 600);
    var opts = {
      width: width,
      height: 240,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [
        {},
        { label: holder.getAttribute("data-spend") || "Spend", stroke: "#2563eb", width: 2 },
        { label: holder.getAttribute("data-results") || "Results", stroke: "#16a34a",
          width: 2, scale: "n" }
      ],
      axes: [{}, {}, { scale: "n", side: 1, grid: { show: false } }]
    };
    var plot = new window.uPlot(opts, [xs, spend, results], holder);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(280, holder.clientWidth), height: 240 });
    });
  }
})();
