/* Leaderboard pages. A track page ships its rows as JSON (#board-data) and this script renders one page of rows
   at a time: sort (numeric keys, one comparator), search, filters, the efficiency / per-task views, a compare
   view of two to four rows and an inline SVG plot, all kept in the address (#...). Plain browser JavaScript,
   no libraries, no network: works from file:// URLs. Every text from the data is escaped before it is shown. */
(function () {
  "use strict";
  var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;" };
  function esc(s) { return s === null || s === undefined ? "" : String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  var VIEWS = { eff: ["score", "efficiency", "utility"], tasks: ["score", "task", "diagnostic"] };
  var COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
  var D, rows, cols, form, state, keyCache = {}, dispCache = {}, nameOrder = null, methodOrder = null;

  function displayNumber(c) {  /* the value as shown (rounded, display unit): what budgets compare against */
    if (dispCache[c]) { return dispCache[c]; }
    var out = new Float64Array(rows.length);
    for (var i = 0; i < rows.length; i++) {
      out[i] = rows[i].v[c] === null ? NaN : parseFloat(String(rows[i].x[c]).replace(/,/g, ""));
    }
    dispCache[c] = out;
    return out;
  }

  function orderKeys(get) {
    var idx = rows.map(function (_, i) { return i; });
    var texts = rows.map(get);
    idx.sort(function (a, b) { return texts[a] < texts[b] ? -1 : texts[a] > texts[b] ? 1 : a - b; });
    var out = new Float64Array(rows.length);
    idx.forEach(function (r, k) { out[r] = k; });
    return out;
  }

  function keys(col) {  /* one numeric key per row for a column (NaN: not measured, always last) */
    if (keyCache[col]) { return keyCache[col]; }
    var out;
    if (col === "rank") {
      out = new Float64Array(rows.length);
      rows.forEach(function (r, i) { out[i] = r.r === null ? NaN : r.r; });
    } else if (col === "submission") {
      out = orderKeys(function (r) { return r.n.toLowerCase(); });
    } else if (col === "method") {
      out = orderKeys(function (r) { return r.m.join(",").toLowerCase(); });
    } else {
      var c = colIndex(col);
      out = new Float64Array(rows.length);
      rows.forEach(function (r, i) { out[i] = r.v[c] === null ? NaN : r.v[c]; });
    }
    keyCache[col] = out;
    return out;
  }

  function colIndex(id) {
    for (var i = 0; i < cols.length; i++) { if (cols[i].id === id) { return i; } }
    return -1;
  }

  function defaultDir(col) {
    if (col === "rank" || col === "submission" || col === "method") { return "asc"; }
    var c = cols[colIndex(col)];
    return c && c.hi ? "desc" : "asc";
  }

  /* ------------------------------------------------------------ state and the address */

  function readState() {
    var s = { sort: "", dir: "", q: "", method: "", maxp: "", maxs: "", hide: false, view: "eff", page: {}, cmp: [] };
    var h = location.hash.slice(1);
    if (h.indexOf("=") < 0) { return s; }
    var p = new URLSearchParams(h);
    s.sort = p.get("sort") || ""; s.dir = p.get("dir") === "desc" ? "desc" : (s.sort ? "asc" : "");
    if (s.sort && colIndex(s.sort) < 0 && ["rank", "submission", "method"].indexOf(s.sort) < 0) { s.sort = ""; s.dir = ""; }
    s.q = p.get("q") || ""; s.method = p.get("method") || ""; s.maxp = p.get("maxp") || ""; s.maxs = p.get("maxs") || "";
    s.hide = p.get("hide") === "1"; s.view = p.get("view") === "tasks" ? "tasks" : "eff";
    s.page.main = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
    var ids = {};
    rows.forEach(function (r) { ids[r.id] = true; });
    s.cmp = (p.get("cmp") || "").split(",").filter(function (x) { return x && ids[x]; }).slice(0, 4);
    return s;
  }

  function writeState() {
    var p = new URLSearchParams();
    if (state.sort) { p.set("sort", state.sort); p.set("dir", state.dir); }
    [["q", state.q], ["method", state.method], ["maxp", state.maxp], ["maxs", state.maxs]].forEach(function (kv) {
      if (kv[1]) { p.set(kv[0], kv[1]); }
    });
    if (state.hide) { p.set("hide", "1"); }
    if (state.view !== "eff") { p.set("view", state.view); }
    if ((state.page.main || 1) > 1) { p.set("page", String(state.page.main)); }
    if (state.cmp.length) { p.set("cmp", state.cmp.join(",")); }
    var text = p.toString();
    var url = location.href.split("#")[0] + (text ? "#" + text : "");
    try { history.replaceState(null, "", url); } catch (e) { location.replace(url); }
  }

  /* ------------------------------------------------------------ filter, sort, page */

  function matching() {
    var q = state.q.trim().toLowerCase();
    var maxp = state.maxp === "" ? NaN : parseFloat(state.maxp);
    var maxs = state.maxs === "" ? NaN : parseFloat(state.maxs);
    var pc = colIndex("params"), sc = D.size ? colIndex(D.size) : -1;
    var pv = !isNaN(maxp) && pc >= 0 ? displayNumber(pc) : null;
    var sv = !isNaN(maxs) && sc >= 0 ? displayNumber(sc) : null;
    var out = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (state.method && r.m.indexOf(state.method) < 0) { continue; }
      if (state.hide && !r.e) { continue; }
      if (pv && !(pv[i] <= maxp)) { continue; }  /* NaN (not measured) never fits a budget */
      if (sv && !(sv[i] <= maxs)) { continue; }
      if (q && (r.n + " " + r.id + " " + r.t).toLowerCase().indexOf(q) < 0) { continue; }
      out.push(i);
    }
    return out;
  }

  function sorted(idx) {
    if (!state.sort) { return idx; }
    var k = keys(state.sort), sign = state.dir === "desc" ? -1 : 1;
    return idx.sort(function (a, b) {
      var x = k[a], y = k[b];
      if (x !== x) { return y !== y ? a - b : 1; }
      if (y !== y) { return -1; }
      return x === y ? a - b : (x < y ? -sign : sign);
    });
  }

  /* ------------------------------------------------------------ rendering */

  function shownCols() {
    var groups = VIEWS[state.view], out = [];
    cols.forEach(function (c, i) { if (groups.indexOf(c.g) >= 0) { out.push(i); } });
    return out;
  }

  function keep(id) { return id === "score" || id === D.by ? " keep" : ""; }

  function exact(c, v) {
    if (c.int || (Math.floor(v) === v && Math.abs(v) >= 1000)) { return commas(Math.round(v)) + " " + c.su; }
    return String(Number(v.toPrecision(6))) + " " + c.su;
  }

  function commas(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }  /* no toLocaleString: slow */

  function th(label, col, type, better, tip, cls, unit) {
    var sort = state.sort === col ? (state.dir === "desc" ? "descending" : "ascending") : "none";
    return '<th scope="col" class="' + cls + '" data-type="' + type + '" data-col="' + esc(col) + '"' +
      (better ? ' data-better="' + better + '"' : "") + ' title="' + esc(tip) + '" aria-sort="' + sort + '">' +
      '<button type="button">' + esc(label) + (unit ? '<span class="unit">' + esc(unit) + "</span>" : "") + "</button></th>";
  }

  function headHtml(shown) {
    var h = '<th scope="col" class="c-pick"><span class="sr">compare</span></th>';
    h += th("Rank", "rank", "num", "lower", "rank by the track's rule; ties share a rank", "keep");
    h += th("Submission", "submission", "text", "", "display name, id and team; badges: notes and eligibility", "c-sub keep");
    if (state.view === "eff") { h += th("Method", "method", "text", "", "compression method family", ""); }
    shown.forEach(function (i) {
      var c = cols[i];
      h += th(c.l, c.id, "num", c.hi ? "higher" : "lower", c.tip, ((c.g === "task" || c.g === "diagnostic") ? "t" : "") + keep(c.id), c.u);
    });
    return "<tr>" + h + "</tr>";
  }

  function badges(r) {
    var out = "";
    if (r.k === "self-reported") { out += ' <span class="badge b-self-reported">self-reported</span>'; }
    if (!r.e) { out += ' <span class="badge b-ineligible" title="' + esc(r.b || "not eligible") + '">ineligible</span>'; }
    if (r.o && r.o.length) {
      out += ' <span class="badge b-note" title="' + esc(r.o.join(" | ")) + '">' + (r.o.length === 1 ? "note" : r.o.length + " notes") + "</span>";
    }
    return out;
  }

  function cell(r, i) {
    var c = cols[i], k = keep(c.id), v = r.v[i];
    if (v === null) {
      var why = r.p[i] !== null && r.d && r.d[i] ? D.provs[r.p[i]][0] + ": " + r.d[i] : r.x[i];
      return '<td class="nm' + k + '" data-col="' + esc(c.id) + '" title="' + esc(why) + '">' + esc(r.x[i]) + "</td>";
    }
    var prov = D.provs[r.p[i]], ci = r.ci && r.ci[i];
    var tip = exact(c, v) + "; " + prov[0] + (r.d && r.d[i] ? " (" + r.d[i] + ")" : "") +
      (ci ? "; 95% interval [" + ci[2] + ", " + ci[3] + "]" : "");
    return '<td class="num p-' + esc(prov[0].replace(/ /g, "-")) + k + '" data-col="' + esc(c.id) + '" title="' + esc(tip) + '">' +
      esc(r.x[i]) + (prov[1] ? "<sup>" + esc(prov[1]) + "</sup>" : "") + "</td>";
  }

  function rowHtml(i, shown) {
    var r = rows[i], picked = state.cmp.indexOf(r.id) >= 0;
    var h = '<tr class="r kind-' + esc(r.k) + (r.e ? "" : " ineligible") + '" data-id="' + esc(r.id) + '">';
    h += '<td class="c-pick"><input type="checkbox" class="pick" data-id="' + esc(r.id) + '" aria-label="compare ' + esc(r.n) + '"' + (picked ? " checked" : "") + "></td>";
    h += r.r === null ? '<td class="num rank keep" data-col="rank" title="not ranked">-</td>'
      : '<td class="num rank keep" data-col="rank">' + r.r + (r.tie ? '<sup title="not significantly different from the row above (paired bootstrap)">=</sup>' : "") + "</td>";
    h += '<td class="c-sub keep" data-col="submission"><a href="../../submissions/' + esc(r.u) + '.html">' + esc(r.n) + "</a>" + badges(r) +
      "<br><small><code>" + esc(r.id) + "</code>" + (r.t ? " · " + esc(r.t) : "") + "</small></td>";
    if (state.view === "eff") { h += '<td data-col="method">' + (esc(r.m.join(", ")) || "-") + "</td>"; }
    for (var k = 0; k < shown.length; k++) { h += cell(r, shown[k]); }
    return h + "</tr>";
  }

  function renderTables(idx) {
    var shown = shownCols(), head = headHtml(shown), per = D.pageRows;
    Array.prototype.forEach.call(document.querySelectorAll("table.board[data-group]"), function (table) {
      var group = table.getAttribute("data-group");
      var mine = idx.filter(function (i) { return rows[i].g === group; });
      var pages = Math.max(1, Math.ceil(mine.length / per));
      var pg = Math.min(state.page[group] || 1, pages);
      state.page[group] = pg;
      var html = "";
      for (var k = (pg - 1) * per; k < Math.min(mine.length, pg * per); k++) { html += rowHtml(mine[k], shown); }
      table.tHead.innerHTML = head;
      table.tBodies[0].innerHTML = html;
      var pager = document.getElementById(table.id + "-pager");
      if (pager) {
        var from = mine.length ? (pg - 1) * per + 1 : 0, to = Math.min(mine.length, pg * per);
        pager.innerHTML = '<button type="button" data-go="-1"' + (pg <= 1 ? " disabled" : "") + ">Previous</button> " +
          '<span class="where">' + from + "-" + to + " of " + mine.length + " · page " + pg + " of " + pages + "</span> " +
          '<button type="button" data-go="1"' + (pg >= pages ? " disabled" : "") + ">Next</button>";
        pager.setAttribute("data-group", group);
      }
    });
    var out = form.querySelector(".count");
    if (out) { out.textContent = idx.length + " of " + rows.length + " submissions shown"; }
    Array.prototype.forEach.call(form.querySelectorAll("button[data-view]"), function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-view") === state.view ? "true" : "false");
    });
  }

  function render(skipPlot) {
    var idx = sorted(matching());
    renderTables(idx);
    renderCompare();
    if (!skipPlot) { drawPlot(idx); }
    writeState();
  }

  /* ------------------------------------------------------------ compare */

  function num(x) { var v = parseFloat(String(x).replace(/,/g, "")); return isNaN(v) ? null : v; }

  function diffText(d) {
    var a = Math.abs(d), t = a >= 100 ? d.toFixed(0) : a >= 10 ? d.toFixed(1) : d.toFixed(2);
    return (d > 0 ? "+" : "") + t;
  }

  /* per-task intervals live beside the page (D.ciFile): loaded once, when a comparison first needs them */
  function loadIntervals(done) {
    if (D.ciLoading) { return; }
    D.ciLoading = true;
    var tag = document.createElement("script");
    tag.src = D.ciFile;
    tag.onload = function () {
      (window.boardIntervals && window.boardIntervals.rows || []).forEach(function (item) {
        var r = rows[item[0]];
        if (!r) { return; }
        r.ci = r.ci || {};
        Object.keys(item[1]).forEach(function (k) { r.ci[k] = item[1][k]; });
      });
      D.ciLoaded = true;
      done();
    };
    tag.onerror = function () { D.ciLoaded = true; D.ciFailed = true; done(); };
    document.head.appendChild(tag);
  }

  function renderCompare() {
    var box = document.getElementById("compare");
    if (!box) { return; }
    var picked = state.cmp.map(function (id) {
      for (var i = 0; i < rows.length; i++) { if (rows[i].id === id) { return i; } }
      return -1;
    }).filter(function (i) { return i >= 0; });
    if (picked.length < 2) { box.hidden = true; box.innerHTML = ""; return; }
    if (D.ciFile && !D.ciLoaded) { loadIntervals(renderCompare); }
    var first = rows[picked[0]];
    var h = '<h3>Compare</h3><p class="hint">Differences are against ' + esc(first.n) +
      " (the first picked), in the display unit" +
      (D.ciFile || rows.some(function (r) { return r.ci; }) ? "; a difference is significant where the two 95% " +
        "bootstrap intervals do not overlap (a conservative test: the board's tie marks use the paired one)" : "") +
      (D.ciFile && !D.ciLoaded ? "; loading the per-task intervals" : "") +
      (D.ciFailed ? "; the per-task intervals did not load" : "") + ".</p>";
    h += '<div class="grid"><table class="compare"><thead><tr><th scope="col">Column</th>';
    picked.forEach(function (i, k) {
      h += '<th scope="col">' + esc(rows[i].n) + "</th>";
      if (k > 0) { h += '<th scope="col">Difference</th>'; }
    });
    h += "</tr></thead><tbody><tr><th scope=\"row\">Rank</th>";
    picked.forEach(function (i, k) { h += "<td>" + (rows[i].r === null ? "-" : rows[i].r) + "</td>" + (k > 0 ? "<td></td>" : ""); });
    h += "</tr>";
    cols.forEach(function (c, ci) {
      h += '<tr><th scope="row">' + esc(c.l) + ' <span class="unit">' + esc(c.u) + "</span></th>";
      picked.forEach(function (i, k) {
        var r = rows[i];
        h += '<td class="num">' + esc(r.x[ci]) + "</td>";
        if (k > 0) {
          var a = num(first.x[ci]), b = num(r.x[ci]), sig = "";
          if (first.v[ci] === null || r.v[ci] === null || a === null || b === null) { h += '<td class="nm">-</td>'; return; }
          var ia = first.ci && first.ci[ci], ib = r.ci && r.ci[ci];
          if (ia && ib) {  /* only where both have intervals */
            sig = ia[1] < ib[0] || ib[1] < ia[0] ? " (significant: 95% intervals apart)" : " (not significant: 95% intervals overlap)";
          }
          h += '<td class="num">' + diffText(b - a) + esc(sig) + "</td>";
        }
      });
      h += "</tr>";
    });
    h += '</tbody></table></div><p><button type="button" class="clear-compare">Clear the comparison</button></p>';
    box.innerHTML = h;
    box.hidden = false;
  }

  /* ------------------------------------------------------------ plot: inline SVG, one path per style */

  var plotPoints = [];

  function ticks(lo, hi, log) {
    var out = [];
    if (log) {
      for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        [1, 2, 5].forEach(function (m) { var v = m * Math.pow(10, e); if (v >= lo && v <= hi) { out.push(v); } });
      }
      return out;
    }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / 5 || 1)));
    if ((hi - lo) / step > 10) { step *= 2; }
    if ((hi - lo) / step > 10) { step *= 2.5; }
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) { out.push(Number(v.toPrecision(6))); }
    return out;
  }

  function tickText(v) {
    var a = Math.abs(v);
    return a >= 1e4 ? v.toExponential(0).replace("+", "") : a >= 100 ? v.toFixed(0) : a >= 1 ? String(Number(v.toPrecision(3))) : String(Number(v.toPrecision(2)));
  }

  function marker(shape, x, y, r) {
    x = Math.round(x * 10) / 10; y = Math.round(y * 10) / 10;
    if (shape === "s") { return "M" + (x - r) + " " + (y - r) + "h" + 2 * r + "v" + 2 * r + "h" + -2 * r + "z"; }
    if (shape === "t") { return "M" + x + " " + (y - r * 1.2) + "l" + r + " " + 2 * r + "h" + -2 * r + "z"; }
    if (shape === "d") { return "M" + x + " " + (y - r * 1.3) + "l" + r + " " + r * 1.3 + "l" + -r + " " + r * 1.3 + "l" + -r + " " + -r * 1.3 + "z"; }
    return "M" + (x - r) + " " + y + "a" + r + " " + r + " 0 1 0 " + 2 * r + " 0a" + r + " " + r + " 0 1 0 " + -2 * r + " 0";
  }

  function drawPlot(idx) {
    var chart = document.querySelector("#plot .chart"), select = document.querySelector("#plot select[name=pair]");
    if (!chart || !D.pairs.length) { return; }
    var pair = D.pairs[select ? parseInt(select.value, 10) || 0 : 0];
    var xc = pair.x, yc = pair.y, xs = displayNumber(xc), ys = displayNumber(yc);
    var pts = [];
    idx.forEach(function (i) {
      var r = rows[i];
      if (!isFinite(xs[i]) || !isFinite(ys[i])) { return; }
      var est = r.g === "estimated" || [xc, yc].some(function (c) { return r.p[c] !== null && D.provs[r.p[c]][0] === "estimated"; });
      pts.push({ i: i, x: xs[i], y: ys[i], n: r.n, fam: r.m[0] || "", shape: r.k === "self-reported" ? "t" : est ? "s" : "c",
                 hollow: !r.e, url: "../../submissions/" + r.u + ".html", xt: r.x[xc], yt: r.x[yc] });
    });
    D.refs.forEach(function (r) {
      var x = num(r.x[xc]), y = num(r.x[yc]);
      if (r.v[xc] !== null && r.v[yc] !== null && x !== null && y !== null) {
        pts.push({ i: -1, x: x, y: y, n: r.n + " (published)", fam: "", shape: "d", hollow: false, url: "", xt: r.x[xc], yt: r.x[yc] });
      }
    });
    var W = 720, H = 400, L = 58, R = 16, T = 14, B = 44;
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + W + " " + H + '" role="img" data-points="' + pts.length + '">';
    svg += "<title>" + esc(cols[yc].l + " against " + cols[xc].l) + "</title>";
    if (!pts.length) {
      chart.innerHTML = svg + '<text x="' + W / 2 + '" y="' + H / 2 + '" text-anchor="middle">no point with both values among the rows shown</text></svg>';
      plotPoints = [];
      return;
    }
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    pts.forEach(function (p) { x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y); });
    var cost = function (c) { return ["score", "task", "diagnostic", "utility"].indexOf(cols[c].g) < 0; };
    var xlog = cost(xc) && x0 > 0 && x1 / x0 > 10, ylog = cost(yc) && y0 > 0 && y1 / y0 > 10;
    function pad(lo, hi, log) {
      if (log) { return [lo / 1.15, hi * 1.15]; }
      var d = (hi - lo) || Math.abs(hi) || 1;
      return [lo - d * 0.05, hi + d * 0.05];
    }
    var xr = pad(x0, x1, xlog), yr = pad(y0, y1, ylog);
    function sx(v) { var t = xlog ? (Math.log(v) - Math.log(xr[0])) / (Math.log(xr[1]) - Math.log(xr[0])) : (v - xr[0]) / (xr[1] - xr[0]); return L + t * (W - L - R); }
    function sy(v) { var t = ylog ? (Math.log(v) - Math.log(yr[0])) / (Math.log(yr[1]) - Math.log(yr[0])) : (v - yr[0]) / (yr[1] - yr[0]); return H - B - t * (H - T - B); }
    var grid = "", labels = "";
    ticks(xr[0], xr[1], xlog).forEach(function (v) {
      var x = sx(v).toFixed(1);
      grid += "M" + x + " " + T + "V" + (H - B);
      labels += '<text x="' + x + '" y="' + (H - B + 14) + '" text-anchor="middle">' + tickText(v) + "</text>";
    });
    ticks(yr[0], yr[1], ylog).forEach(function (v) {
      var y = sy(v).toFixed(1);
      grid += "M" + L + " " + y + "H" + (W - R);
      labels += '<text x="' + (L - 4) + '" y="' + y + '" dy="3" text-anchor="end">' + tickText(v) + "</text>";
    });
    svg += '<path class="grid" d="' + grid + '"/><g class="ticks">' + labels + "</g>";
    svg += '<text class="axis" x="' + (L + (W - L - R) / 2) + '" y="' + (H - 8) + '" text-anchor="middle">' + esc(cols[xc].l + " (" + cols[xc].u + (xlog ? ", log scale" : "") + ")") + "</text>";
    svg += '<text class="axis" transform="rotate(-90)" x="' + -(T + (H - T - B) / 2) + '" y="14" text-anchor="middle">' + esc(cols[yc].l + " (" + cols[yc].u + ")") + "</text>";
    var shown = {};
    pts.forEach(function (p) { p.px = sx(p.x); p.py = sy(p.y); if (p.i >= 0) { shown[p.i] = p; } });
    var front = pair.front.map(function (i) { return shown[i]; }).filter(Boolean).sort(function (a, b) { return a.px - b.px; });
    if (front.length > 1) {
      svg += '<path class="front" d="M' + front.map(function (p) { return p.px.toFixed(1) + " " + p.py.toFixed(1); }).join("L") + '"/>';
    }
    var styles = {};
    pts.forEach(function (p) {
      var fam = D.families.indexOf(p.fam), colour = p.shape === "d" ? "#444444" : COLOURS[(fam < 0 ? 7 : fam) % COLOURS.length];
      var key = colour + "|" + (p.hollow ? 1 : 0) + "|" + (p.shape === "s" || p.shape === "t" ? 1 : 0);
      (styles[key] = styles[key] || []).push(marker(p.shape, p.px, p.py, 3.6));
    });
    Object.keys(styles).sort().forEach(function (key) {
      var parts = key.split("|"), open = parts[1] === "1" || parts[2] === "1";
      svg += '<path class="pts" d="' + styles[key].join("") + '" fill="' + (open ? "none" : parts[0]) + '" stroke="' + parts[0] +
        '" stroke-width="1.3"' + (parts[1] === "1" ? ' opacity="0.55"' : "") + "/>";
    });
    /* labels: the front first, then the best scores, only where they overlap nothing placed */
    var boxes = [], order = front.slice().concat(pts.slice().sort(function (a, b) { return b.y - a.y; })), placed = 0, text = "";
    for (var k = 0; k < order.length && placed < 14; k++) {
      var p = order[k], name = p.n.length > 26 ? p.n.slice(0, 25) + "…" : p.n;
      var w = name.length * 5.6, bx = p.px + 6, by = p.py - 10;
      if (bx + w > W - R) { bx = p.px - 6 - w; }
      var box = [bx, by, bx + w, by + 12];
      if (box[0] < L || box[1] < T || box[3] > H - B) { continue; }
      var clash = boxes.some(function (o) { return box[0] < o[2] && o[0] < box[2] && box[1] < o[3] && o[1] < box[3]; }) ||
        pts.some(function (q) { return q !== p && q.px > box[0] - 3 && q.px < box[2] + 3 && q.py > box[1] - 3 && q.py < box[3] + 3; });
      if (clash) { continue; }
      boxes.push(box);
      placed++;
      text += '<text x="' + bx.toFixed(1) + '" y="' + (by + 9).toFixed(1) + '">' + esc(name) + "</text>";
    }
    svg += '<g class="labels">' + text + '</g><circle class="hit" r="6" cx="-20" cy="-20"/></svg>';
    var legend = D.families.map(function (f, i) {
      return '<span><i style="background:' + COLOURS[i % COLOURS.length] + '"></i>' + esc(f) + "</span>";
    }).join("");
    chart.innerHTML = svg + '<div class="tip" hidden></div><div class="families">' + legend + "</div>";
    plotPoints = pts;
  }

  function plotHover(e, click) {
    var chart = document.querySelector("#plot .chart"), svg = chart && chart.querySelector("svg");
    if (!svg || !plotPoints.length) { return; }
    var rect = svg.getBoundingClientRect(), x = (e.clientX - rect.left) * 720 / rect.width, y = (e.clientY - rect.top) * 400 / rect.height;
    var best = null, dist = 144;
    for (var i = 0; i < plotPoints.length; i++) {
      var p = plotPoints[i], d = (p.px - x) * (p.px - x) + (p.py - y) * (p.py - y);
      if (d < dist) { dist = d; best = p; }
    }
    var tip = chart.querySelector(".tip"), hit = svg.querySelector("circle.hit");
    if (!best) { tip.hidden = true; hit.setAttribute("cx", -20); svg.style.cursor = ""; return; }
    if (click && best.url) { location.href = best.url; return; }
    hit.setAttribute("cx", best.px); hit.setAttribute("cy", best.py);
    svg.style.cursor = best.url ? "pointer" : "";
    tip.innerHTML = "<strong>" + esc(best.n) + "</strong><br>" + esc(best.fam || "published") + "<br>" +
      esc(best.yt) + " · " + esc(best.xt) + (best.url ? "<br><small>click to open</small>" : "");
    tip.style.left = Math.min(best.px * rect.width / 720 + 12, rect.width - 180) + "px";
    tip.style.top = (best.py * rect.height / 400 + 8) + "px";
    tip.hidden = false;
  }

  /* ------------------------------------------------------------ wiring */

  function syncForm() {
    var el = form.elements;
    if (el.q) { el.q.value = state.q; }
    if (el.method) { el.method.value = state.method; if (el.method.value !== state.method) { state.method = ""; } }
    if (el["max-params"]) { el["max-params"].value = state.maxp; }
    if (el["max-size"]) { el["max-size"].value = state.maxs; }
    if (el["hide-ineligible"]) { el["hide-ineligible"].checked = state.hide; }
  }

  function fromForm() {
    var el = form.elements;
    state.q = el.q ? el.q.value : "";
    state.method = el.method ? el.method.value : "";
    state.maxp = el["max-params"] ? el["max-params"].value : "";
    state.maxs = el["max-size"] ? el["max-size"].value : "";
    state.hide = !!(el["hide-ineligible"] && el["hide-ineligible"].checked);
    state.page = {};
  }

  function trackPage(script) {
    D = JSON.parse(script.textContent);
    rows = D.rows; cols = D.cols;
    form = document.querySelector("form.filters");
    state = readState();
    syncForm();
    form.addEventListener("input", function (e) { if (e.target.name !== "pair") { fromForm(); render(); } });
    form.addEventListener("change", function () { fromForm(); render(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-view]");
      if (b) { state.view = b.getAttribute("data-view"); render(true); }
    });
    var ranking = document.getElementById("ranking");
    ranking.addEventListener("click", function (e) {
      var b = e.target.closest("th button");
      if (b && b.closest("table.board")) {
        var col = b.parentNode.getAttribute("data-col");
        state.dir = state.sort === col ? (state.dir === "asc" ? "desc" : "asc") : defaultDir(col);
        state.sort = col; state.page = {};
        render(true);
        return;
      }
      var go = e.target.closest(".pager button");
      if (go) {
        var g = go.parentNode.getAttribute("data-group");
        state.page[g] = (state.page[g] || 1) + parseInt(go.getAttribute("data-go"), 10);
        render(true);
        return;
      }
      if (e.target.closest(".clear-compare")) { state.cmp = []; render(true); }
    });
    ranking.addEventListener("change", function (e) {
      var t = e.target;
      if (!t.classList || !t.classList.contains("pick")) { return; }
      e.stopPropagation();
      var id = t.getAttribute("data-id"), at = state.cmp.indexOf(id);
      if (t.checked && at < 0) {
        if (state.cmp.length >= 4) { t.checked = false; return; }
        state.cmp.push(id);
      } else if (!t.checked && at >= 0) { state.cmp.splice(at, 1); }
      renderCompare(); writeState();
    });
    var select = document.querySelector("#plot select[name=pair]");
    if (select) { select.addEventListener("change", function () { drawPlot(sorted(matching())); }); }
    var chart = document.querySelector("#plot .chart");
    if (chart) {
      chart.addEventListener("mousemove", function (e) { plotHover(e, false); });
      chart.addEventListener("click", function (e) { plotHover(e, true); });
      chart.addEventListener("mouseleave", function () { var t = chart.querySelector(".tip"); if (t) { t.hidden = true; } });
    }
    render();
  }

  /* ------------------------------------------------------------ the index: every submission, 50 at a time */

  function indexPage(script) {
    var data = JSON.parse(script.textContent), all = data.rows, per = data.pageRows || 50;
    var table = document.getElementById("subs"), pager = document.getElementById("subs-pager");
    var search = document.querySelector("form.subs-filter"), at = { q: "", page: 1 };
    var texts = all.map(function (r) { return (r.n + " " + r.id + " " + r.t + " " + r.m).toLowerCase(); });
    var h = location.hash.slice(1);
    if (h.indexOf("=") >= 0) {
      var p = new URLSearchParams(h);
      at.q = p.get("q") || ""; at.page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
    }
    if (search.elements.q) { search.elements.q.value = at.q; }
    function line(r) {
      return '<tr data-id="' + esc(r.id) + '"><td><a href="submissions/' + esc(r.u) + '.html">' + esc(r.n) +
        "</a><br><small><code>" + esc(r.id) + "</code></small></td><td>" + esc(r.t) + "</td><td>" + esc(r.m) +
        '</td><td class="num">' + esc(r.k) + "</td></tr>";
    }
    function draw() {
      var q = at.q.trim().toLowerCase(), mine = [];
      for (var i = 0; i < all.length; i++) { if (!q || texts[i].indexOf(q) >= 0) { mine.push(i); } }
      var pages = Math.max(1, Math.ceil(mine.length / per));
      at.page = Math.min(at.page, pages);
      var from = (at.page - 1) * per, to = Math.min(mine.length, at.page * per), html = "";
      for (var k = from; k < to; k++) { html += line(all[mine[k]]); }
      table.tBodies[0].innerHTML = html;
      pager.innerHTML = '<button type="button" data-go="-1"' + (at.page <= 1 ? " disabled" : "") + ">Previous</button> " +
        '<span class="where">' + (mine.length ? from + 1 : 0) + "-" + to + " of " + mine.length + " · page " + at.page +
        " of " + pages + "</span> " + '<button type="button" data-go="1"' + (at.page >= pages ? " disabled" : "") + ">Next</button>";
      var out = search.querySelector(".count");
      if (out) { out.textContent = mine.length + " of " + all.length + " submissions shown"; }
      var p = new URLSearchParams();
      if (at.q) { p.set("q", at.q); }
      if (at.page > 1) { p.set("page", String(at.page)); }
      var text = p.toString(), url = location.href.split("#")[0] + (text ? "#" + text : "");
      try { history.replaceState(null, "", url); } catch (e) { /* a file:// URL in an old browser */ }
    }
    search.addEventListener("input", function () { at.q = search.elements.q.value; at.page = 1; draw(); });
    search.addEventListener("submit", function (e) { e.preventDefault(); });
    pager.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-go]");
      if (b) { at.page += parseInt(b.getAttribute("data-go"), 10); draw(); }
    });
    draw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var script = document.getElementById("board-data");
    if (script && document.querySelector("form.filters")) { trackPage(script); }
    var subs = document.getElementById("subs-data");
    if (subs && document.getElementById("subs") && document.querySelector("form.subs-filter")) { indexPage(subs); }
  });
  window.siteBoard = { render: function () { render(true); } };
}());
