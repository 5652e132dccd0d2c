/* The overview's tables: sort by a column (click its header) and filter by name or code.
   A few lines shipped in the page: no network, no library. Without JavaScript the tables
   read in their worst-first order, every row shown, and there is no filter box. */
(function () {
  "use strict";
  var tables = Array.prototype.slice.call(document.querySelectorAll("table[data-sortable]"));
  if (!tables.length) {
    return;
  }

  function key(row, index, type) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (type === "number") {
      return raw === null ? null : parseFloat(raw);
    }
    return (raw === null ? (cell ? cell.textContent : "") : raw).trim().toLowerCase();
  }

  function sortBy(table, th) {
    var index = th.cellIndex;
    var type = th.getAttribute("data-sort-type");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.querySelector("tbody.organisations");
    if (!body) {
      return;
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index, type);
      var y = key(b, index, type);
      if (x === null || y === null) {
        return x === y ? 0 : (x === null ? 1 : -1);  // rows without a value go last
      }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
  }

  tables.forEach(function (table) {
    table.querySelectorAll("thead th[data-sort-type]").forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) {
        button.appendChild(th.firstChild);
      }
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(table, th);
      });
    });
  });

  var section = document.querySelector("section.overview-reports");
  if (!section) {
    return;
  }
  var box = document.createElement("div");
  box.className = "filter";
  var label = document.createElement("label");
  label.htmlFor = "filter";
  label.textContent = "Filter the tables by organisation name or code";
  var input = document.createElement("input");
  input.type = "search";
  input.id = "filter";
  input.autocomplete = "off";
  var status = document.createElement("p");
  status.id = "filter-status";
  status.setAttribute("role", "status");
  box.appendChild(label);
  box.appendChild(input);
  box.appendChild(status);
  section.insertBefore(box, section.querySelector("section.family"));

  input.addEventListener("input", function () {
    var words = input.value.trim().toLowerCase();
    var shown = 0;
    var total = 0;
    tables.forEach(function (table) {
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var match = !words || (row.getAttribute("data-filter") || "").indexOf(words) !== -1;
        row.hidden = !match;
        total += 1;
        shown += match ? 1 : 0;
      });
    });
    status.textContent = words ? "Showing " + shown + " of " + total + " reports." : "";
  });
}());
