/* Leaderboard tables: sort by any column, filter by method family and by a parameter or size budget.
   Plain browser JavaScript, no libraries, no network: works from file:// URLs. */
(function () {
  "use strict";

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-v") : null;
    if (raw === null || raw === "") { return null; }
    return type === "num" ? parseFloat(raw) : raw;
  }

  function sortBy(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var type = th.getAttribute("data-type") || "text";
    var current = th.getAttribute("aria-sort");
    var first = type === "num" && th.getAttribute("data-better") === "higher" ? "descending" : "ascending";
    var order = current === null || current === "none" ? first : (current === "ascending" ? "descending" : "ascending");
    var heads = th.parentNode.children;
    for (var i = 0; i < heads.length; i++) { heads[i].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", order);
    var sign = order === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, i) { if (!row.hasAttribute("data-pos")) { row.setAttribute("data-pos", i); } });
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      if (x === null || y === null) {  /* not measured: always last, whatever the direction */
        if (x === null && y === null) { return a.getAttribute("data-pos") - b.getAttribute("data-pos"); }
        return x === null ? 1 : -1;
      }
      var c = type === "num" ? x - y : String(x).localeCompare(String(y));
      return c !== 0 ? sign * c : a.getAttribute("data-pos") - b.getAttribute("data-pos");
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function budget(form, name, scale) {
    var input = form.elements[name];
    if (!input || input.value === "") { return null; }
    var v = parseFloat(input.value);
    return isNaN(v) ? null : v * scale;
  }

  function applyFilters(form, tables) {
    var method = form.elements.method ? form.elements.method.value : "";
    var maxParams = budget(form, "max-params", 1e6);
    var maxSize = budget(form, "max-size", 1048576);
    var hide = form.elements["hide-ineligible"] && form.elements["hide-ineligible"].checked;
    var rows = [], shown = 0;
    tables.forEach(function (table) { rows = rows.concat(Array.prototype.slice.call(table.tBodies[0].rows)); });
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], ok = true;
      if (method && (row.getAttribute("data-methods") || "").split("|").indexOf(method) < 0) { ok = false; }
      var params = row.getAttribute("data-params"), size = row.getAttribute("data-size");
      if (ok && maxParams !== null && (params === "" || parseFloat(params) > maxParams)) { ok = false; }
      if (ok && maxSize !== null && (size === "" || parseFloat(size) > maxSize)) { ok = false; }
      if (ok && hide && row.classList.contains("ineligible")) { ok = false; }
      row.hidden = !ok;
      if (ok) { shown++; }
    }
    var out = form.querySelector(".count");
    if (out) { out.textContent = shown + " of " + rows.length + " submissions shown"; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var tables = document.querySelectorAll("table.board");
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        var button = th.querySelector("button");
        if (button) { button.addEventListener("click", function () { sortBy(table, th); }); }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
      /* data-table: the ids of the tables it filters (the ranking and the groups shown apart) */
      var tables = (form.getAttribute("data-table") || "").split(" ")
        .map(function (id) { return document.getElementById(id); }).filter(Boolean);
      if (!tables.length) { return; }
      form.addEventListener("input", function () { applyFilters(form, tables); });
      form.addEventListener("change", function () { applyFilters(form, tables); });
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      applyFilters(form, tables);
    });
  });
}());
