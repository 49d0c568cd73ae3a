// Sortable tables of the nsml board: <table class="sortable">. Each heading becomes a button; pressing it sorts the
// rows by that column, pressing again reverses. A cell's data-sort attribute (a number, a time) is its value when
// given, else its text; a column whose values are all numbers sorts numerically, others as text with digit runs
// compared as numbers (tester/toy/9 before tester/toy/10). Empty cells and "-" stay last either way. A table that a
// live update replaces is sorted again the way it was.
"use strict";
(function () {
  const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
  const chosen = new Map(); // table id -> {column, descending}
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function value(row, column) {
    const cell = row.cells[column];
    if (!cell) return "";
    return (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent).trim();
  }

  function sortTable(table, column, descending) {
    const body = table.tBodies[0];
    if (!body) return;
    const rows = Array.from(body.rows).filter((row) => row.cells.length > 1);
    const missing = (text) => text === "" || text === "-";
    const numeric = rows.every((row) => missing(value(row, column)) || NUMBER.test(value(row, column)));
    const sign = descending ? -1 : 1;
    rows.sort((a, b) => {
      const x = value(a, column);
      const y = value(b, column);
      if (missing(x) || missing(y)) return missing(x) - missing(y);
      return sign * (numeric ? parseFloat(x) - parseFloat(y) : collator.compare(x, y));
    });
    rows.forEach((row) => body.appendChild(row));
    Array.from(table.tHead.rows[0].cells).forEach((heading, index) => {
      if (index === column) heading.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else heading.removeAttribute("aria-sort");
    });
  }

  function prepare(table) {
    if (!table.tHead || table.dataset.sortReady) return;
    table.dataset.sortReady = "1";
    Array.from(table.tHead.rows[0].cells).forEach((heading, column) => {
      if (!heading.textContent.trim()) return; // a column of checkboxes
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "sort by this column";
      while (heading.firstChild) button.appendChild(heading.firstChild);
      heading.appendChild(button);
      button.addEventListener("click", () => {
        const before = chosen.get(table.id);
        const descending = before && before.column === column ? !before.descending : false;
        chosen.set(table.id, { column, descending });
        sortTable(table, column, descending);
      });
    });
    const remembered = chosen.get(table.id);
    if (remembered) sortTable(table, remembered.column, remembered.descending);
  }

  function prepareAll(root) {
    root.querySelectorAll("table.sortable[id]").forEach(prepare);
  }

  document.addEventListener("board:swapped", (event) => prepareAll(event.target));
  prepareAll(document);
})();
