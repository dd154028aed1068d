/* Profile page: invert many soundings at once, show the resistivity section and misfit per sounding. */
"use strict";
(function () {
  const g = window.geobp;
  const P = window.geobpPlots;
  const S = window.geobpSoundings;
  const el = g.el;
  let networks = [];
  let soundings = [];
  let last = null;   // {ids, positions, results}

  const SERVED = "served";  // the served networks: method and layer count chosen per sounding
  const SERVED_BATCH = 50;  // soundings per POST /invert (the API's limit)

  function updateButton() {
    const choice = document.getElementById("profile-network").value;
    document.getElementById("profile-invert").disabled = !(soundings.length && choice);
    document.getElementById("profile-refine").disabled = choice === SERVED;  // always refined
  }

  /** POST /invert in batches: {items} of the served inversion of every observation. */
  async function invertServed(observations) {
    const items = [];
    for (let i = 0; i < observations.length; i += SERVED_BATCH) {
      const out = await g.api("/invert", { method: "POST", body: { soundings: observations.slice(i, i + SERVED_BATCH) } });
      items.push(...out.items);
    }
    return { items: items };
  }

  async function read(file, text) {
    g.clearAlert();
    const state = document.getElementById("profile-state");
    state.textContent = "reading…";
    try {
      const parsed = await S.parse(file, text, "det");
      soundings = parsed.soundings;
      state.textContent = "Read " + soundings.length + " sounding(s) from " + parsed.source + ": " + soundings.map(s => s.id).join(", ");
      const compatible = S.compatible(g.preferredVersions(networks), soundings[0].observation);
      const select = document.getElementById("profile-network");
      if (compatible.length && select.value !== SERVED) { select.value = compatible[0].id; }
    } catch (err) {
      soundings = [];
      state.textContent = "";
      g.showAlert("Could not read the data: " + err.message);
    }
    updateButton();
  }

  function positions(ids) {
    const given = document.getElementById("positions").value.trim();
    if (given) {
      const values = given.split(/[,;\s]+/).filter(Boolean).map(Number);
      if (values.length !== ids.length || values.some(v => !isFinite(v))) {
        throw new Error("positions: give " + ids.length + " numbers (one per sounding), got " + values.length);
      }
      return values;
    }
    if (ids.every(id => id.trim() !== "" && isFinite(Number(id)))) { return ids.map(Number); }
    const spacing = Number(document.getElementById("spacing").value);
    if (!(spacing > 0)) { throw new Error("spacing: must be a positive number of metres"); }
    return ids.map((_, i) => i * spacing);
  }

  function modelText(result) {
    const m = result.model;
    return m.rho_ohmm.map(v => g.fmt(v, 3)).join(" / ") + " Ω·m; " + (m.thickness_m.length ? m.thickness_m.map(v => g.fmt(v, 3)).join(" / ") + " m" : "");
  }

  function render(ids, xs, results) {
    document.getElementById("profile-results").hidden = false;
    const order = xs.map((x, i) => i).sort((a, b) => xs[a] - xs[b]);
    const sx = order.map(i => xs[i]);
    const sr = order.map(i => results[i]);
    const sid = order.map(i => ids[i]);
    P.sectionPlot(document.getElementById("plot-section"), sx, sr, sid);
    P.misfitBars(document.getElementById("plot-misfit"), sx, sr.map(r => (r.misfit || {}).rms_percent), sid);
    const body = document.getElementById("profile-table");
    body.replaceChildren();
    let outside = 0;
    let poor = 0;
    order.forEach(i => {
      const r = results[i];
      const words = g.misfitWords(r.misfit);
      if (!r.in_domain) { outside += 1; }
      if (words.level === "bad") { poor += 1; }
      body.append(el("tr", {},
        el("td", {}, ids[i]),
        el("td", { class: "num" }, g.fmt(xs[i], 4)),
        el("td", {}, modelText(r)),
        el("td", {}, g.badge(words.level, words.text)),
        el("td", {}, r.in_domain ? g.badge("ok", "✓ inside") : g.badge("bad", "⚠ outside")),
        el("td", {}, (r.warnings || []).join("; ") || "none")));
    });
    document.getElementById("profile-smooth-csv").hidden = !results.every(r => r.smooth);
    document.getElementById("profile-summary").textContent = results.length + " soundings inverted; "
      + outside + " outside the training domain; " + poor + " with a poor fit.";
  }

  async function invertLine() {
    g.clearAlert();
    const button = document.getElementById("profile-invert");
    const networkId = document.getElementById("profile-network").value;
    let xs;
    const ids = soundings.map(s => s.id);
    try { xs = positions(ids); } catch (err) { g.showAlert(err.message); return; }
    button.disabled = true;
    button.textContent = "Inverting…";
    try {
      const observations = soundings.map(s => s.observation);
      const out = networkId === SERVED
        ? await invertServed(observations)
        : await S.invertMany(networkId, observations, document.getElementById("profile-refine").checked);
      last = { ids: ids, positions: xs, results: out.items };
      render(ids, xs, out.items);
    } catch (err) {
      g.showAlert("Inversion failed: " + err.message);
    } finally {
      button.disabled = false;
      button.textContent = "Invert the line";
    }
  }

  /** Five synthetic soundings along a line: a conductive layer that thickens to the east. */
  async function example() {
    g.clearAlert();
    const isVes = n => n && P.axisKey(n.forward_model || {}) !== "periods_s";
    const selected = networks.find(n => n.id === document.getElementById("profile-network").value);
    const net = isVes(selected) ? selected : g.preferredVersions(networks).find(isVes);
    if (net && document.getElementById("profile-network").value !== SERVED) { document.getElementById("profile-network").value = net.id; }
    const fm = Object.assign({}, (net && net.forward_model) || { name: "ves-schlumberger", ab2_m: [1, 2.15, 4.64, 10, 21.5, 46.4, 100, 215], mn2_m: null });
    const name = fm.name;
    delete fm.name;
    fm.n_layers = 3;
    const key = P.axisKey(fm);
    if (key === "periods_s") { g.showAlert("The example line is a VES line; register a VES network first."); return; }
    const xs = [0, 25, 50, 75, 100];
    const models = xs.map(x => [120, 15, 600, 4 + x / 25, 8 + x / 5]);
    try {
      const out = await g.api("/forward-models/" + encodeURIComponent(name) + "/forward", { method: "POST", body: { config: fm, models: models } });
      const header = key === "a_m" ? "sounding, a (m), rho_a (ohm.m)" : "sounding, AB/2 (m), rho_a (ohm.m)";
      const lines = ["# example line: 120 / 15 / 600 ohm.m, the conductive layer thickens eastwards", header];
      xs.forEach((x, j) => fm[key].forEach((v, i) => lines.push([x, v, Number(out.data[j][i].toPrecision(5))].join(", "))));
      document.getElementById("profile-text").value = lines.join("\n");
      await read(null, document.getElementById("profile-text").value);
    } catch (err) { g.showAlert("Could not build the example: " + err.message); }
  }

  async function loadNetworks() {
    try { networks = g.registryNetworks((await g.api("/networks")).items); } catch (err) { g.showAlert("Could not list networks: " + err.message); return; }
    const select = document.getElementById("profile-network");
    const preferred = g.preferredVersions(networks);
    select.replaceChildren(
      el("option", { value: SERVED }, "served networks (automatic method and layer count per sounding)"),
      ...preferred.map(n => el("option", { value: n.id }, g.networkLabel(n))));
    select.value = SERVED;
    updateButton();
  }

  async function exportCsv() {
    if (!last) { return; }
    try {
      await S.download("profile.csv", { soundings: last.ids.map((id, i) => ({ id: id, result: last.results[i] })), filename: "geobp-profile" });
    } catch (err) { g.showAlert("Could not export: " + err.message); }
  }

  async function exportSmoothCsv() {
    if (!last) { return; }
    try {
      await S.download("smooth-profile.csv", { soundings: last.ids.map((id, i) => ({ id: id, result: last.results[i] })), filename: "geobp-smooth-profile" });
    } catch (err) { g.showAlert("Could not export: " + err.message); }
  }

  function exportJson() {
    if (!last) { return; }
    const items = last.ids.map((id, i) => ({ sounding: id, position_m: last.positions[i], result: last.results[i] }));
    g.saveBlob(new Blob([JSON.stringify(items, null, 2)], { type: "application/json" }), "geobp-profile.json");
  }

  document.getElementById("profile-file").addEventListener("change", e => { if (e.target.files[0]) { read(e.target.files[0], null); } });
  document.getElementById("profile-read").addEventListener("click", () => {
    const text = document.getElementById("profile-text").value;
    if (!text.trim()) { g.showAlert("Paste a table first."); return; }
    read(null, text);
  });
  document.getElementById("profile-example").addEventListener("click", example);
  document.getElementById("profile-network").addEventListener("change", updateButton);
  document.getElementById("profile-invert").addEventListener("click", invertLine);
  document.getElementById("profile-csv").addEventListener("click", exportCsv);
  document.getElementById("profile-json").addEventListener("click", exportJson);
  document.getElementById("profile-smooth-csv").addEventListener("click", exportSmoothCsv);
  loadNetworks();
})();
