/* Charts of the dashboard (Apache ECharts 5.6.0, vendored). Each page embeds its figures as JSON in a
   <script type="application/json"> element; no inline script (Content-Security-Policy: script-src 'self'). */
/* A <select data-autosubmit> submits its form when changed. Here, not in an inline onchange="…": the
   Content-Security-Policy (script-src 'self') blocks inline handlers. Without script a <noscript> button stays. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (el) {
    el.addEventListener("change", function () { if (el.form) { el.form.submit(); } });
  });
})();

(function () {
  "use strict";
  var COLORS = { red: "#d73027", orange: "#f46d43", yellow: "#fdae61", blue: "#4575b4", none: "#1a9850" };
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  function chart(id) { var el = document.getElementById(id); return el ? echarts.init(el, null, { renderer: "svg" }) : null; }
  var charts = [];
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  var ov = data("overview-data");
  if (ov) {
    var c = chart("treemap");
    var node = function (n) {
      var name = ov.lang === "zh" ? n.name : (n.name_en || n.name);
      var out = { name: name, value: n.insured || 1, code: n.region_code, worst: n.worst || "none",
                  itemStyle: { color: COLORS[n.worst || "none"] } };
      return out;
    };
    // one flat level: the regions below the user's top regions (a county user: the county itself)
    var leaves = [];
    ov.roots.forEach(function (r) { leaves = leaves.concat(r.children && r.children.length ? r.children : [r]); });
    if (c) {
      charts.push(c);
      c.setOption({
        tooltip: { formatter: function (p) { return p.name + "<br>" + ov.levels[p.data.worst] + "<br>" + ov.insured + ": " + (p.value || 0).toLocaleString(); } },
        animation: false,
        series: [{ type: "treemap", data: leaves.map(node), roam: false, nodeClick: false, breadcrumb: { show: false },
                   width: "94%", height: "88%", top: 10,
                   label: { show: true, formatter: "{b}", color: "#fff", fontSize: 14, fontWeight: "bold" },
                   itemStyle: { borderColor: "#fff", borderWidth: 2, gapWidth: 2 } }]
      });
      c.on("click", function (p) { if (p.data && p.data.code) { window.location.href = "/region/" + p.data.code; } });
    }
  }

  var rg = data("region-data");
  if (rg && rg.rows.length) {
    var years = rg.rows.map(function (r) { return String(r.year); });
    var wan = function (k) { return rg.rows.map(function (r) { return r[k] == null ? null : Math.round(r[k] / 100) / 100; }); };
    var f = chart("chart-flows");
    if (f) {
      charts.push(f);
      f.setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 70, right: 70, top: 40, bottom: 30 },
        xAxis: { type: "category", data: years },
        yAxis: [{ type: "value", name: rg.labels.wan }, { type: "value", name: rg.labels.balance + " (" + rg.labels.wan + ")" }],
        series: [
          { name: rg.labels.income, type: "bar", data: wan("income_total"), itemStyle: { color: "#4575b4" } },
          { name: rg.labels.expenditure, type: "bar", data: wan("expenditure_total"), itemStyle: { color: "#f46d43" } },
          { name: rg.labels.balance, type: "line", yAxisIndex: 1, data: wan("balance_end"), itemStyle: { color: "#1a9850" } }
        ]
      });
    }
    var m = chart("chart-months");
    if (m) {
      charts.push(m);
      // the pooled funds' months (the individual accounts cannot pay a pooled-fund deficit): the scheme's, or
      // for the total both pooled funds as two lines
      var months = function (k) { return rg.rows.map(function (r) { return r[k] == null ? null : Math.round(r[k] * 10) / 10; }); };
      var lines = rg.scheme === "total"
        ? [{ name: rg.labels.months_employee, data: months("pooled_months_employee"), color: "#4575b4" },
           { name: rg.labels.months_resident, data: months("pooled_months_resident"), color: "#d73027" }]
        : [{ name: rg.labels.months, data: months("pooled_months"), color: "#17324d" }];
      m.setOption({
        tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 60, right: 30, top: 40, bottom: 30 },
        xAxis: { type: "category", data: years }, yAxis: { type: "value", name: rg.labels.months_unit },
        series: lines.map(function (l) {
          return { name: l.name, type: "line", data: l.data, itemStyle: { color: l.color }, label: { show: true },
                   areaStyle: lines.length === 1 ? { opacity: 0.15 } : undefined };
        })
      });
    }
  }

  var cp = data("compare-data");
  if (cp && cp.chart.series.length) {
    var k = chart("chart-compare");
    if (k) {
      charts.push(k);
      k.setOption({
        tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 }, grid: { left: 70, right: 30, top: 50, bottom: 40 },
        xAxis: { type: "value", name: cp.x, nameLocation: "middle", nameGap: 25 }, yAxis: { type: "value", name: cp.y },
        series: cp.chart.series.map(function (s) { return { name: s.name, type: "line", data: s.data, showSymbol: true }; })
      });
    }
  }
})();

/* Projection: fan chart (percentile bands stacked as areas) and the scenarios' central paths. */
(function () {
  "use strict";
  var el = document.getElementById("projection-data");
  if (!el) { return; }
  var d = JSON.parse(el.textContent);
  var wan = function (v) { return v == null ? null : Math.round(v / 100) / 100; };
  var fanEl = document.getElementById("chart-fan");
  if (fanEl && d.rows.length) {
    var c = echarts.init(fanEl, null, { renderer: "svg" });
    var years = d.history.map(function (h) { return h[0]; }).concat(d.rows.map(function (r) { return r.year; }));
    var pad = function (arr) { return d.history.map(function () { return null; }).concat(arr); };
    var col = function (k) { return d.rows.map(function (r) { return wan(r[k]); }); };
    var offset = d.history.length;
    // a band between two percentiles as one polygon (stacked areas break when balances go negative)
    var band = function (name, lo, hi, color, opacity) {
      return {
        name: name, type: "custom", silent: true, data: [0], z: 1, itemStyle: { color: color },
        renderItem: function (params, api) {
          var up = [], down = [];
          d.rows.forEach(function (r, i) {
            if (r[lo] == null || r[hi] == null) { return; }
            up.push(api.coord([offset + i, wan(r[hi])]));
            down.unshift(api.coord([offset + i, wan(r[lo])]));
          });
          return { type: "polygon", shape: { points: up.concat(down) }, style: { fill: color, opacity: opacity } };
        }
      };
    };
    var thin = function (name, k) {
      return { name: name, type: "line", data: pad(col(k)), symbol: "none", lineStyle: { width: 0.5, color: "#6baed6" } };
    };
    c.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0, data: [d.labels.history, d.labels.central, d.labels.band90, d.labels.band50] },
      grid: { left: 80, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: years.map(String) }, yAxis: { type: "value", name: d.labels.wan, scale: true },
      series: [
        band(d.labels.band90, "balance_p5", "balance_p95", "#9ecae1", 0.55),
        band(d.labels.band50, "balance_p25", "balance_p75", "#4292c6", 0.6),
        thin("P5", "balance_p5"), thin("P95", "balance_p95"),
        { name: d.labels.history, type: "line", data: d.history.map(function (h) { return wan(h[1]); }), itemStyle: { color: "#333" } },
        { name: d.labels.central, type: "line", data: pad(col("balance_end")), itemStyle: { color: "#08306b" }, lineStyle: { type: "dashed" } }
      ]
    });
    window.addEventListener("resize", function () { c.resize(); });
  }
  var scEl = document.getElementById("chart-scenarios");
  if (scEl && d.scenarios.length) {
    var s = echarts.init(scEl, null, { renderer: "svg" });
    s.setOption({
      tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 }, grid: { left: 80, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "value", min: "dataMin", max: "dataMax", axisLabel: { formatter: function (v) { return String(v); } } },
      yAxis: { type: "value", name: d.labels.wan },
      series: d.scenarios.map(function (x) { return { name: x.name, type: "line", showSymbol: false, data: x.data.map(function (p) { return [p[0], wan(p[1])]; }) }; })
    });
    window.addEventListener("resize", function () { s.resize(); });
  }
})();

/* Disparity: the weighted Lorenz curve of a year and Gini / Theil by year. */
(function () {
  "use strict";
  var el = document.getElementById("disparity-data");
  if (!el) { return; }
  var d = JSON.parse(el.textContent);
  var lz = document.getElementById("chart-lorenz");
  if (lz) {
    var c = echarts.init(lz, null, { renderer: "svg" });
    c.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 60, right: 20, top: 40, bottom: 50 },
      xAxis: { type: "value", min: 0, max: 1, name: d.labels.x, nameLocation: "middle", nameGap: 30 },
      yAxis: { type: "value", min: 0, max: 1, name: d.labels.y },
      series: [{ name: d.labels.equality, type: "line", data: [[0, 0], [1, 1]], lineStyle: { type: "dashed", color: "#999" }, symbol: "none" },
               { name: d.labels.lorenz, type: "line", data: d.lorenz, areaStyle: { opacity: 0.15 }, itemStyle: { color: "#17324d" } }]
    });
    window.addEventListener("resize", function () { c.resize(); });
  }
  var iq = document.getElementById("chart-inequality");
  if (iq) {
    var s = echarts.init(iq, null, { renderer: "svg" });
    var col = function (k) { return d.by_year.map(function (r) { return r[k] == null ? null : Math.round(r[k] * 10000) / 10000; }); };
    s.setOption({
      tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: d.by_year.map(function (r) { return String(r.year); }) }, yAxis: { type: "value" },
      series: [{ name: "Gini", type: "line", data: col("gini") }, { name: "Theil T", type: "line", data: col("theil_t") },
               { name: "Theil L", type: "line", data: col("theil_l") }]
    });
    window.addEventListener("resize", function () { s.resize(); });
  }
})();

/* Pooling modes: deficit coverage by source, stacked per mode. */
(function () {
  "use strict";
  var el = document.getElementById("pooling-data");
  var box = document.getElementById("chart-pooling");
  if (!el || !box) { return; }
  var d = JSON.parse(el.textContent);
  var c = echarts.init(box, null, { renderer: "svg" });
  var wan = function (k) { return d.rows.map(function (r) { return r[k] == null ? 0 : Math.round(r[k] / 100) / 100; }); };
  var bar = function (name, k, color) { return { name: name, type: "bar", stack: "cover", data: wan(k), itemStyle: { color: color } }; };
  c.setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 80, right: 20, top: 40, bottom: 60 },
    xAxis: { type: "category", data: d.rows.map(function (r) { return d.lang === "zh" ? r.label : r.mode; }), axisLabel: { interval: 0, width: 140, overflow: "break" } },
    yAxis: { type: "value", name: d.labels.wan },
    series: [bar(d.labels.own, "covered_own_balance", "#4575b4"), bar(d.labels.pool, "covered_pool", "#1a9850"),
             bar(d.labels.county, "covered_county_treasury", "#f46d43"), bar(d.labels.city, "covered_city_treasury", "#d73027")]
  });
  window.addEventListener("resize", function () { c.resize(); });
})();
