/* Invert page: read data (server readers), invert with the served networks (method and layer
 * count chosen by the service) or a registry network, plot and export. */
"use strict";
(function () {
  const g = window.geobp;
  const P = window.geobpPlots;
  const S = window.geobpSoundings;
  const el = g.el;
  let networks = [];
  let soundings = [];
  let current = null;   // {observation, result, id, dense}

  function selectedObservation() {
    if (!soundings.length) { return null; }
    const index = Number(document.getElementById("sounding-select").value || 0);
    return soundings[index] || soundings[0];
  }

  function updateButton() {
    const choice = document.getElementById("network-select").value;
    document.getElementById("invert-button").disabled = !(soundings.length && (choice === "served" || networks.length));
    document.getElementById("refine").disabled = choice === "served";  // served results are always refined
  }

  function describe(observation) {
    const key = P.axisKey(observation);
    const x = observation[key] || [];
    if (Array.isArray(observation.times_s)) {
      const t = observation.times_s;
      return "TEM (" + (observation.receiver || "?") + " loop), " + t.length + " gates from " + g.fmt(Math.min(...t)) + " to " + g.fmt(Math.max(...t)) + " s";
    }
    const kind = { ab2_m: "Schlumberger VES", a_m: "Wenner VES", periods_s: "MT" }[key] || "unknown layout";
    return kind + ", " + x.length + " points from " + g.fmt(Math.min(...x)) + " to " + g.fmt(Math.max(...x)) + " " + (key === "periods_s" ? "s" : "m");
  }

  function showSoundings(parsed) {
    soundings = parsed.soundings;
    const select = document.getElementById("sounding-select");
    select.replaceChildren(...soundings.map((s, i) => el("option", { value: String(i) }, s.id + " — " + describe(s.observation))));
    document.getElementById("sounding-choice").hidden = soundings.length < 2;
    document.getElementById("data-state").textContent = "Read " + soundings.length + " sounding(s) from " + parsed.source + ": "
      + describe(soundings[0].observation) + (soundings.length > 1 ? ". Pick one below, or use the Profile page for all of them." : ".");
    const notes = (soundings[0].observation.warnings || []);
    if (notes.length) { g.showAlert("Read with warnings: " + notes.join("; "), "info"); }
    updateButton();
  }

  async function read(file, text) {
    g.clearAlert();
    document.getElementById("data-state").textContent = "reading…";
    try {
      showSoundings(await S.parse(file, text, document.getElementById("mt-mode").value));
    } catch (err) {
      soundings = [];
      updateButton();
      document.getElementById("data-state").textContent = "";
      g.showAlert("Could not read the data: " + err.message);
    }
  }

  async function loadNetworks() {
    try {
      networks = g.registryNetworks((await g.api("/networks")).items);
    } catch (err) {
      g.showAlert("Could not list networks: " + err.message);
      return;
    }
    const select = document.getElementById("network-select");
    const preferred = g.preferredVersions(networks);
    const others = networks.filter(n => !preferred.includes(n));
    const group = (label, list) => el("optgroup", { label: label }, ...list.map(n => el("option", { value: n.id }, g.networkLabel(n))));
    if (preferred.length) { select.append(group("production versions", preferred)); }
    if (others.length) { select.append(group("other versions", others)); }
    const wanted = new URLSearchParams(location.search).get("network");
    if (wanted && networks.some(n => n.id === wanted)) { select.value = wanted; }
    if (!networks.length) { document.querySelector('#network-select option[value="auto"]').disabled = true; }
    updateButton();
  }

  function renderAuto(choice) {
    const box = document.getElementById("auto-choice");
    if (!choice) { box.replaceChildren(); return; }
    const body = el("tbody");
    for (const row of choice.rows) {
      const chosen = row === choice.best;
      const r = row.result;
      body.append(el("tr", {},
        el("td", {}, chosen ? el("strong", {}, "✓ " + row.net.name) : row.net.name),
        el("td", { class: "num" }, (row.net.forward_model || {}).n_layers),
        el("td", { class: "num" }, r ? g.fmt(r.misfit.chi, 3) : "–"),
        el("td", { class: "num" }, r ? g.fmt(r.misfit.rms_percent, 3) : "–"),
        el("td", {}, r ? (r.in_domain ? "yes" : "no") : "–"),
        el("td", { class: "num" }, r ? g.fmt(row.score, 4) : "failed: " + row.error)));
    }
    box.replaceChildren(
      el("p", {}, "Chosen: " + choice.best.net.name + " (" + choice.best.net.forward_model.n_layers + " layers) — the lowest information criterion n·χ² + k·ln n among fits inside the training domain."),
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "network"), el("th", { class: "num" }, "layers"), el("th", { class: "num" }, "χ"), el("th", { class: "num" }, "RMS %"), el("th", {}, "in domain"), el("th", { class: "num" }, "BIC"))),
        body)));
  }

  /** The served inversion's choice: method, layer count, and every candidate (best BIC first). */
  function renderServed(result) {
    const body = el("tbody");
    const runner = (result.runner_up || {}).n_layers;
    for (const c of result.candidates || []) {
      const chosen = c.n_layers === result.n_layers;
      const label = chosen ? el("strong", {}, "✓ " + c.n_layers + " (chosen)") : (c.n_layers === runner ? c.n_layers + " (runner-up)" : String(c.n_layers));
      body.append(el("tr", {},
        el("td", {}, label),
        el("td", { class: "num" }, g.fmt(c.chi, 3)),
        el("td", { class: "num" }, g.fmt(c.delta_bic, 3)),
        el("td", {}, (c.unresolved || []).join(", ") || "none")));
    }
    const runnerText = runner ? "; runner-up " + runner + " layers (ΔBIC " + g.fmt(result.runner_up.delta_bic, 3) + ")" : "";
    // A simpler fit within a few BIC units of the lowest is preferred (inversion.layers.choose_simplest)
    const chosen = (result.candidates || []).find((c) => c.n_layers === result.n_layers);
    const why = chosen && chosen.delta_bic > 0
      ? " — the simplest fit within ΔBIC " + g.fmt(chosen.delta_bic, 3) + " of the lowest information criterion n·χ² + k·ln n (more layers that gain this little are not preferred)"
      : " — the lowest information criterion n·χ² + k·ln n";
    document.getElementById("auto-choice").replaceChildren(
      el("p", { id: "served-choice" }, "Served networks, " + (result.method || "?") + ": chose " + result.n_layers
        + " layers" + why + runnerText + "."),
      el("div", { class: "table-wrap" }, el("table", { id: "served-candidates" },
        el("thead", {}, el("tr", {}, el("th", {}, "layers"), el("th", { class: "num" }, "χ"), el("th", { class: "num" }, "ΔBIC"), el("th", {}, "not resolved"))),
        body)));
  }

  function renderFlags(result) {
    const words = g.misfitWords(result.misfit);
    const items = [
      el("li", {}, el("strong", {}, "Misfit: "), g.badge(words.level, words.text)),
      el("li", {}, el("strong", {}, "Training domain: "), g.domainBadge(result.in_domain)),
    ];
    const doi = result.doi_m || (result.smooth || {}).doi_m;
    if (doi && typeof doi.standard === "number") {
      items.push(el("li", { id: "doi" }, el("strong", {}, "Depth of investigation: "),
        g.fmt(doi.standard, 3) + " m (standard), " + g.fmt(doi.conservative, 3) + " m (conservative); greyed below in the model plot"));
    }
    const shifts = result.segment_shifts;
    if (shifts && Array.isArray(shifts.segments) && shifts.segments.length) {
      const factors = shifts.segments.map(s => g.fmt(s.mn2_m, 3) + " m ×" + g.fmt(s.factor, 3)).join(", ");
      const without = typeof shifts.chi_without_shifts === "number" ? "; χ without them " + g.fmt(shifts.chi_without_shifts, 3) : "";
      items.push(el("li", { id: "segment-shifts" }, el("strong", {}, "MN/2 segment factors: "),
        (shifts.applied ? "applied" : "not applied (BIC prefers none)") + " — MN/2 = " + factors
        + " (reference MN/2 = " + g.fmt(shifts.reference_mn2_m, 3) + " m)" + without
        + (shifts.applied ? "; the predicted curve carries each segment's factor" : "")));
    }
    const ip = result.ip;
    if (ip && ip.misfit) {
      const k = ip.polarisable_layer - 1;
      const tauBand = (ip.uncertainty || {}).tau_s;
      const tau = "τ " + g.fmt(ip.model.tau_s[k], 2) + " s"
        + (tauBand ? " (p10–p90 " + g.fmt(tauBand.p10, 2) + "–" + g.fmt(tauBand.p90, 2) + " s)" : "");
      items.push(el("li", { id: "ip-fit" }, el("strong", {}, "Induced polarisation: "),
        ip.n_layers + " layers with layer " + ip.polarisable_layer + " polarisable (Cole–Cole m "
        + g.fmt(ip.model.chargeability[k], 2) + ", " + tau + ", c " + g.fmt(ip.model.c[k], 2) + "), χ "
        + g.fmt(ip.misfit.chi, 3) + (ip.preferred ? " — preferred by BIC; drawn dash-dot in green" : " — not preferred by BIC")));
    }
    const smooth = result.smooth;
    if (smooth && smooth.misfit) {
      items.push(el("li", { id: "smooth-fit" }, el("strong", {}, "Smooth model: "),
        (smooth.rho_ohmm || []).length + " layers, χ " + g.fmt(smooth.misfit.chi, 3)
        + (smooth.consistent === false ? " — disagrees with the layered model (see warnings)" : "")));
    }
    document.getElementById("smooth-export").hidden = !smooth;
    const warnings = result.warnings || [];
    if (warnings.length) {
      for (const w of warnings) { items.push(el("li", {}, g.badge("warn", "⚠ warning"), " " + w)); }
    } else {
      items.push(el("li", {}, el("strong", {}, "Warnings: "), "none"));
    }
    const net = result.network || {};
    const version = net.version === undefined ? "" : " v" + net.version;
    items.push(el("li", { class: "muted" }, "Network " + (net.name || "?") + version + ", " + g.fmt(result.elapsed_ms, 3) + " ms"));
    const alone = result.network_answer;
    if (alone && typeof alone.chi === "number") {  // served networks: what they say without the search
      items.push(el("li", { class: "muted", id: "network-answer" }, "The networks alone (no refinement): "
        + alone.n_layers + " layers, χ " + g.fmt(alone.chi, 3)));
    }
    document.getElementById("flags").replaceChildren(...items);
  }

  function renderLayers(result) {
    const body = document.getElementById("layers");
    body.replaceChildren();
    P.layers(result).forEach((row, i) => {
      body.append(el("tr", {},
        el("td", { class: "num" }, i + 1),
        el("td", { class: "num" }, g.fmt(row.top, 4)),
        el("td", { class: "num" }, row.bottom === null ? "half-space" : g.fmt(row.bottom, 4)),
        el("td", { class: "num" }, row.bottom === null ? "–" : g.fmt(row.bottom - row.top, 4)),
        el("td", { class: "num" }, g.fmt(row.rho, 4)),
        el("td", { class: "num" }, g.fmt(row.p10, 3)),
        el("td", { class: "num" }, g.fmt(row.p90, 3)),
        el("td", { class: "num" }, row.s === null ? "–" : g.fmt(row.s, 3)),
        el("td", { class: "num" }, row.t === null ? "–" : g.fmt(row.t, 3)),
        el("td", {}, row.resolved === null ? "–" : row.resolved)));
    });
  }

  /** The model response densely between the data (dashboard helper); [] when it fails. */
  async function denseResponse(observation, result) {
    try {
      const response = await g.postFile("/response", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ observation: observation, result: result }),
      });
      return (await response.json()).curves;
    } catch (err) {
      return [];  // the plot falls back to the response at the data points
    }
  }

  function drawModel() {
    if (!current) { return; }
    P.modelPlot(document.getElementById("plot-model"), current.result, null, document.getElementById("depth-scale").value);
  }

  function render(observation, result, dense) {
    const box = document.getElementById("results");
    box.hidden = false;
    renderFlags(result);
    const shown = Object.assign({}, result, { predicted_dense: dense });
    const isMt = Array.isArray(observation.phase_deg) || Array.isArray((result.predicted || {}).phase_deg);
    const isTem = window.geobpTemPlots.isTem(observation, result);
    const phase = document.getElementById("plot-phase");
    phase.hidden = !(isMt || isTem);
    if (isTem) {
      window.geobpTemPlots.temPlots(document.getElementById("plot-data"), phase, observation, result);
    } else {
      P.soundingPlot(document.getElementById("plot-data"), observation, shown);
    }
    drawModel();
    if (isMt) { P.phasePlot(phase, observation, shown); }
    renderLayers(result);
  }

  const AXES = ["ab2_m", "a_m", "periods_s", "times_s"];

  /** The observation cut to the window as the API cuts it (every array as long as the
   *  abscissa), so that the plots and exports show the data that were fitted. */
  function windowed(observation, range) {
    const key = AXES.find(k => Array.isArray(observation[k]));
    if (!key) { return observation; }
    const axis = observation[key];
    const lo = range.min === undefined ? -Infinity : range.min;
    const hi = range.max === undefined ? Infinity : range.max;
    const keep = axis.map(v => v >= lo && v <= hi);
    const out = {};
    for (const [name, value] of Object.entries(observation)) {
      const perDatum = Array.isArray(value) && value.length === axis.length && name !== "warnings";
      out[name] = perDatum ? value.filter((_, i) => keep[i]) : value;
    }
    return out;
  }

  /** The abscissa window {min, max} typed in section 2 (either may be absent), or null. */
  function dataWindow() {
    const out = {};
    for (const side of ["min", "max"]) {
      const text = document.getElementById("window-" + side).value.trim();
      if (text !== "") { out[side] = Number(text); }
    }
    return Object.keys(out).length ? out : null;
  }

  async function invert() {
    g.clearAlert();
    const sounding = selectedObservation();
    if (!sounding) { g.showAlert("Read a data file or pasted values first."); return; }
    const button = document.getElementById("invert-button");
    const refine = document.getElementById("refine").checked;
    const choice = document.getElementById("network-select").value;
    button.disabled = true;
    button.textContent = "Inverting…";
    try {
      let result;
      let observation = sounding.observation;
      if (choice === "served") {
        const body = { data: sounding.observation };
        const range = dataWindow();
        if (range) { body.window = range; }
        result = await g.api("/invert", { method: "POST", body: body });
        if (range) { observation = windowed(observation, range); }
        renderServed(result);
      } else if (choice === "auto") {
        const picked = await S.chooseLayers(networks, sounding.observation, refine);
        renderAuto(picked);
        result = picked.best.result;
      } else {
        renderAuto(null);
        result = await S.invertOne(choice, sounding.observation, refine);
      }
      const dense = await denseResponse(observation, result);
      current = { observation: observation, result: result, id: sounding.id, dense: dense };
      render(observation, result, dense);
    } catch (err) {
      g.showAlert("Inversion failed: " + err.message);
    } finally {
      button.disabled = false;
      button.textContent = "Invert";
    }
  }

  async function exportResult(kind) {
    if (!current) { return; }
    g.clearAlert();
    try {
      await S.download(kind, {
        result: current.result, observation: current.observation,
        title: "sounding " + current.id, filename: "geobp-" + current.id,
      });
    } catch (err) { g.showAlert("Could not export: " + err.message); }
  }

  async function example() {
    g.clearAlert();
    const chosen = networks.find(n => n.id === document.getElementById("network-select").value);
    const net = chosen || g.preferredVersions(networks)[0];
    try {
      document.getElementById("data-text").value = await S.exampleTable(net);
      await read(null, document.getElementById("data-text").value);
    } catch (err) { g.showAlert("Could not build the example: " + err.message); }
  }

  document.getElementById("data-file").addEventListener("change", function (event) {
    const file = event.target.files[0];
    if (file) { read(file, null); }
  });
  document.getElementById("mt-mode").addEventListener("change", function () {
    const file = document.getElementById("data-file").files[0];
    if (file) { read(file, null); }
  });
  document.getElementById("read-text").addEventListener("click", function () {
    const text = document.getElementById("data-text").value;
    if (!text.trim()) { g.showAlert("Paste a table first (a header row, then one row per point)."); return; }
    read(null, text);
  });
  document.getElementById("example-text").addEventListener("click", example);
  document.getElementById("invert-button").addEventListener("click", invert);
  document.getElementById("network-select").addEventListener("change", updateButton);
  document.getElementById("depth-scale").addEventListener("change", drawModel);
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => exportResult(button.dataset.export));
  }
  loadNetworks();
})();
