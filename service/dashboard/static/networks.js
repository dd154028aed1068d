/* Networks page: the registry as a filterable, sortable table. */
"use strict";
(function () {
  const g = window.geobp;
  const el = g.el;
  let rows = [];
  let sortKey = "name";
  let sortDir = 1;

  function validationError(net) {
    const m = net.metrics || {};
    for (const key of ["held_out_loss", "val_loss"]) { if (typeof m[key] === "number") { return m[key]; } }
    return null;
  }

  function toRow(net) {
    const fm = net.forward_model || {};
    return {
      net: net, name: net.name, version: net.version, aliases: (net.aliases || []).join(", "),
      fm: fm.name || "", layers: fm.n_layers || null, samples: (net.lineage || {}).n_samples || null,
      val: validationError(net), created: net.created_at || "",
    };
  }

  function compare(a, b) {
    const x = a[sortKey];
    const y = b[sortKey];
    if (x === y) { return a.name.localeCompare(b.name) || b.version - a.version; }
    if (x === null || x === "") { return 1; }
    if (y === null || y === "") { return -1; }
    return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir;
  }

  function render() {
    const text = document.getElementById("filter").value.trim().toLowerCase();
    const fm = document.getElementById("fm-filter").value;
    const shown = rows.filter(r => (!fm || r.fm === fm)
      && (!text || [r.name, r.fm, r.aliases, String(r.version)].join(" ").toLowerCase().includes(text)));
    shown.sort(compare);
    const body = document.getElementById("networks-body");
    body.replaceChildren();
    if (!shown.length) {
      body.append(el("tr", {}, el("td", { colspan: 8, class: "muted" },
        rows.length ? "No network matches the filter." : "No networks registered yet — start a training job on the Training jobs page.")));
    }
    for (const r of shown) {
      body.append(el("tr", {},
        el("td", {}, el("a", { href: g.ROOT + "/networks/" + encodeURIComponent(r.net.id) }, r.name)),
        el("td", { class: "num" }, r.version),
        el("td", {}, r.aliases || "–"),
        el("td", {}, r.fm),
        el("td", { class: "num" }, g.fmt(r.layers)),
        el("td", { class: "num" }, g.fmt(r.samples)),
        el("td", { class: "num" }, r.val === null ? "not recorded" : g.fmt(r.val, 3)),
        el("td", {}, g.fmtDate(r.created))));
    }
    document.getElementById("count").textContent = shown.length + " of " + rows.length + " shown";
  }

  function setupSorting() {
    for (const th of document.querySelectorAll("#networks-table th[data-key]")) {
      th.querySelector("button").addEventListener("click", function () {
        const key = th.dataset.key;
        sortDir = key === sortKey ? -sortDir : 1;
        sortKey = key;
        for (const other of document.querySelectorAll("#networks-table th[data-key]")) { other.removeAttribute("aria-sort"); }
        th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
        render();
      });
    }
  }

  async function load() {
    try {
      rows = (await g.api("/networks")).items.map(toRow);
    } catch (err) {
      g.showAlert("Could not load the registry: " + err.message);
      rows = [];
    }
    const select = document.getElementById("fm-filter");
    for (const name of Array.from(new Set(rows.map(r => r.fm))).sort()) { select.append(el("option", { value: name }, name)); }
    render();
  }

  document.getElementById("filter").addEventListener("input", render);
  document.getElementById("fm-filter").addEventListener("change", render);
  setupSorting();
  load();
})();
