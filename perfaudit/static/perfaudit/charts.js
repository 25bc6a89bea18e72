/*
 * perfaudit's charts: draws every <figure class="perfaudit-chart"> of the page (the partial
 * templates/admin/perfaudit/_chart.html) as a time-series chart with uPlot (vendored under
 * vendor/uplot/, MIT). No inline script: the data is the figure's json_script element, named
 * by the figure's data-chart-json attribute:
 *   {"id": ..., "title": ..., "unit": "ms", "series": [{"name": ..., "points": [[unix_s, v|null], ...]}]}
 * Once drawn, the figure carries data-drawn-points="<n>" (n = the points with a value, over all
 * series; 0 when there is nothing to draw) and the class "perfaudit-chart-drawn"; a figure whose
 * data cannot be read carries data-chart-error instead and keeps its table. The browser tests
 * wait on data-drawn-points. window.perfauditCharts.draw(figure) draws a figure added later.
 */
(function () {
  "use strict";

  var PALETTE = ["#417690", "#d9822b", "#2e9e5b", "#c0392b", "#8e44ad", "#7f8c8d", "#b8a000", "#16a085"];
  var HEIGHT = 220;

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function readChart(figure) {
    var holder = document.getElementById(figure.getAttribute("data-chart-json"));
    if (!holder) throw new Error("no chart data element");
    var chart = JSON.parse(holder.textContent);
    if (!chart || !Array.isArray(chart.series)) throw new Error("chart has no series");
    return chart;
  }

  // uPlot wants one shared x array: the union of every series' timestamps, each series aligned
  // to it. Where a series has no point at a timestamp: undefined (uPlot joins across it); where
  // the series says null: null (uPlot draws a gap, never a zero).
  function align(series) {
    var times = {};
    series.forEach(function (s) {
      (s.points || []).forEach(function (p) { times[p[0]] = true; });
    });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var index = {};
    xs.forEach(function (t, i) { index[t] = i; });
    var data = [xs];
    var drawn = 0;
    series.forEach(function (s) {
      var ys = xs.map(function () { return undefined; });
      (s.points || []).forEach(function (p) {
        var v = p[1] === null || p[1] === undefined ? null : Number(p[1]);
        if (v !== null && isFinite(v)) { ys[index[p[0]]] = v; drawn += 1; } else { ys[index[p[0]]] = null; }
      });
      data.push(ys);
    });
    return { data: data, drawn: drawn };
  }

  function formatValue(unit, v) {
    if (v === null || v === undefined) return "–";
    if (unit === "bytes") {
      var units = ["B", "kB", "MB", "GB", "TB"];
      var i = 0;
      while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
      return (i ? v.toFixed(1) : String(Math.round(v))) + " " + units[i];
    }
    var text = Math.abs(v) >= 100 ? Math.round(v).toLocaleString() : String(+v.toPrecision(3));
    return unit === "%" ? text + " %" : text;
  }

  function options(chart, width) {
    var fg = cssVar("--body-quiet-color", "#666");
    var grid = cssVar("--hairline-color", "#e8e8e8");
    var unit = chart.unit || "";
    var axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width: width,
      height: HEIGHT,
      scales: { x: { time: true } },
      series: [{}].concat(chart.series.map(function (s, i) {
        return {
          label: s.name,
          stroke: PALETTE[i % PALETTE.length],
          width: 1.5,
          spanGaps: false,
          points: { size: 4 },
          value: function (u, v) { return formatValue(unit, v); },
        };
      })),
      axes: [
        Object.assign({}, axis),
        Object.assign({}, axis, {
          label: unit,
          size: 60,
          values: function (u, ticks) { return ticks.map(function (v) { return formatValue(unit, v); }); },
        }),
      ],
    };
  }

  function draw(figure) {
    if (figure.hasAttribute("data-drawn-points")) return;
    var chart;
    try {
      chart = readChart(figure);
    } catch (err) {
      figure.setAttribute("data-chart-error", String(err.message || err));
      return;
    }
    var aligned = align(chart.series);
    if (aligned.drawn === 0 || typeof window.uPlot !== "function") {
      // Nothing to draw (or the library is missing): the caption and the table stay.
      figure.setAttribute("data-drawn-points", "0");
      return;
    }
    var target = document.createElement("div");
    target.className = "perfaudit-chart-plot";
    figure.insertBefore(target, figure.querySelector("table"));
    var width = Math.max(figure.clientWidth || 0, 300);
    var plot = new window.uPlot(options(chart, width), aligned.data, target);
    figure.classList.add("perfaudit-chart-drawn");
    figure.setAttribute("data-drawn-points", String(aligned.drawn));
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(figure.clientWidth || 0, 300), height: HEIGHT });
    });
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("figure.perfaudit-chart"), draw);
  }

  window.perfauditCharts = { draw: draw, drawAll: drawAll };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
