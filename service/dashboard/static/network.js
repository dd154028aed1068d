/* Network page: summary, domain, training curves, held-out scatter, coverage, lineage, versions. */
"use strict";
(function () {
  const g = window.geobp;
  const P = window.geobpPlots;
  const el = g.el;
  const root = document.getElementById("network-root");
  const networkId = root.dataset.networkId;

  function notRecorded(what) {
    return el("p", { class: "not-recorded" }, what + ": not recorded for this network.");
  }

  function kv(target, pairs) {
    const box = document.getElementById(target);
    box.replaceChildren();
    for (const [key, value] of pairs) {
      box.append(el("dt", {}, key), el("dd", {}, value instanceof Node ? value : (value === undefined || value === null || value === "" ? "–" : String(value))));
    }
  }

  function shortList(values) {
    if (!Array.isArray(values)) { return values === null || values === undefined ? "none (ideal)" : g.fmt(values); }
    if (values.length <= 6) { return values.map(v => g.fmt(v)).join(", "); }
    return values.length + " values, " + g.fmt(values[0]) + " … " + g.fmt(values[values.length - 1]);
  }

  function validationError(net) {
    const m = net.metrics || {};
    for (const key of ["held_out_loss", "val_loss"]) { if (typeof m[key] === "number") { return m[key]; } }
    return null;
  }

  function renderSummary(net) {
    const fm = net.forward_model || {};
    document.getElementById("summary-line").textContent =
      net.name + " version " + net.version + " — " + (fm.name || "?") + ", " + (fm.n_layers || "?") + " layers";
    document.querySelector("h1").textContent = "Network " + net.name + " v" + net.version;
    const hyper = net.network || {};
    kv("summary", [
      ["id", net.id],
      ["aliases", (net.aliases || []).join(", ") || "none"],
      ["forward model", fm.name],
      ["layers", fm.n_layers],
      ["network", Object.keys(hyper).map(k => k + "=" + JSON.stringify(hyper[k])).join(", ") || "defaults"],
      ["created", g.fmtDate(net.created_at)],
      ["invert with it", el("a", { href: g.ROOT + "/invert?network=" + encodeURIComponent(net.id) }, "open the Invert page")],
    ]);
  }

  function renderDomain(net) {
    const body = document.getElementById("domain");
    body.replaceChildren();
    const domain = net.domain || {};
    const names = Object.keys(domain);
    if (!names.length) { body.append(el("tr", {}, el("td", { colspan: 3, class: "not-recorded" }, "domain not recorded"))); }
    for (const name of names) {
      const unit = name.startsWith("rho") ? " (Ω·m)" : (name.startsWith("h") ? " (m)" : "");
      body.append(el("tr", {}, el("td", {}, name + unit), el("td", { class: "num" }, g.fmt(domain[name][0])), el("td", { class: "num" }, g.fmt(domain[name][1]))));
    }
    const fm = net.forward_model || {};
    const pairs = [];
    for (const key of Object.keys(fm)) {
      if (key !== "name" && key !== "n_layers") { pairs.push([key, shortList(fm[key])]); }
    }
    const noise = net.noise || {};
    for (const key of Object.keys(noise)) { pairs.push(["noise " + key, g.fmt(noise[key])]); }
    kv("geometry", pairs);
  }

  function renderCurves(net) {
    const box = document.getElementById("curves");
    const history = (net.metrics || {}).history;
    if (!Array.isArray(history) || !history.length) {
      box.classList.remove("plot");
      box.replaceChildren(notRecorded("Training curves (metrics.history)"));
      return;
    }
    P.lossPlot(box, history, "Loss per epoch");
  }

  function renderScatter(net) {
    const box = document.getElementById("scatter");
    const heldout = (net.metrics || {}).heldout;
    box.replaceChildren();
    if (!heldout || typeof heldout !== "object" || !Object.keys(heldout).length) {
      box.append(notRecorded("Held-out predictions (metrics.heldout)"));
      return;
    }
    const names = Object.keys(heldout);
    // lay out every panel first, so each plot is sized to its final grid cell
    const divs = names.map(name => el("div", { class: "plot small", id: "scatter-" + name, role: "img", "aria-label": "predicted versus true " + name }));
    box.append(...divs);
    names.forEach(function (name, i) {
      const item = heldout[name] || {};
      if (Array.isArray(item.true) && Array.isArray(item.predicted)) { P.scatterPlot(divs[i], name, item.true, item.predicted); }
      else { divs[i].replaceChildren(notRecorded(name)); }
    });
  }

  function coverageWords(fraction) {
    if (typeof fraction !== "number") { return g.badge("neutral", "not recorded"); }
    if (fraction >= 0.7 && fraction <= 0.9) { return g.badge("ok", "✓ well calibrated"); }
    if (fraction < 0.7) { return g.badge("warn", "⚠ bands too narrow (over-confident)"); }
    return g.badge("warn", "⚠ bands too wide (under-confident)");
  }

  function renderCoverage(net) {
    const m = net.metrics || {};
    const coverage = m.coverage || m.coverage_p10_p90;
    const box = document.getElementById("coverage");
    if (!coverage || typeof coverage !== "object" || !Object.keys(coverage).length) {
      box.replaceChildren(notRecorded("Coverage (metrics.coverage)"));
      return;
    }
    const errors = m.median_abs_log10_error || {};
    const body = el("tbody");
    for (const name of Object.keys(coverage)) {
      body.append(el("tr", {},
        el("td", {}, name),
        el("td", { class: "num" }, g.pct(coverage[name])),
        el("td", {}, coverageWords(coverage[name])),
        el("td", { class: "num" }, typeof errors[name] === "number" ? g.fmt(errors[name], 2) : "–")));
    }
    box.replaceChildren(el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, el("th", {}, "parameter"), el("th", { class: "num" }, "inside p10–p90"), el("th", {}, "verdict"), el("th", { class: "num" }, "median |log10 error|"))),
      body)));
  }

  function renderMetrics(net) {
    const m = net.metrics || {};
    const skip = new Set(["history", "heldout", "coverage", "coverage_p10_p90", "median_abs_log10_error", "parameters"]);
    const pairs = [];
    for (const key of Object.keys(m)) {
      if (skip.has(key)) { continue; }
      const value = m[key];
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const sub of Object.keys(value)) {
          const v = value[sub];
          pairs.push([key + " · " + sub, v && typeof v === "object" ? Object.keys(v).map(k => k + " " + g.fmt(v[k], 3)).join(", ") : g.fmt(v, 3)]);
        }
      } else {
        pairs.push([key, g.fmt(value, 4)]);
      }
    }
    if (!pairs.length) { pairs.push(["metrics", "not recorded"]); }
    kv("metrics", pairs);
  }

  function renderLineage(net) {
    const l = net.lineage || {};
    const job = l.job_id ? el("a", { href: g.ROOT + "/jobs#job-" + l.job_id }, l.job_id) : "not recorded";
    const pairs = [["training job", job]];
    const labels = { seed: "seed", n_samples: "training samples", code_version: "code version", artifact_sha256: "checksum (SHA-256)" };
    for (const key of Object.keys(labels)) { pairs.push([labels[key], l[key] === undefined || l[key] === null ? "not recorded" : String(l[key])]); }
    for (const key of Object.keys(l)) {
      if (key !== "job_id" && !(key in labels)) { pairs.push([key, String(l[key])]); }
    }
    kv("lineage", pairs);
  }

  async function setProduction(id) {
    g.clearAlert();
    try {
      await g.api("/networks/" + encodeURIComponent(id) + "/aliases", { method: "POST", body: { alias: "production" }, auth: true });
      g.showAlert("Alias production now points at this version.", "info");
      load();
    } catch (err) { g.showAlert("Could not set the alias: " + err.message); }
  }

  async function renderVersions(net) {
    const body = document.getElementById("versions");
    let versions = [];
    try {
      versions = (await g.api("/networks?name=" + encodeURIComponent(net.name))).items;
    } catch (err) { g.showAlert("Could not list versions: " + err.message); }
    body.replaceChildren();
    versions.sort((a, b) => b.version - a.version);
    for (const v of versions) {
      const current = v.id === net.id;
      const isProd = (v.aliases || []).includes("production");
      body.append(el("tr", {},
        el("td", { class: "num" }, current ? el("strong", {}, v.version + " (this)") : el("a", { href: g.ROOT + "/networks/" + encodeURIComponent(v.id) }, String(v.version))),
        el("td", {}, (v.aliases || []).join(", ") || "–"),
        el("td", { class: "num" }, validationError(v) === null ? "not recorded" : g.fmt(validationError(v), 3)),
        el("td", {}, g.fmtDate(v.created_at)),
        el("td", {}, isProd ? "" : el("button", { type: "button", class: "secondary", onclick: () => setProduction(v.id) }, "make production"))));
    }
  }

  async function load() {
    let net;
    try {
      net = await g.api("/networks/" + encodeURIComponent(networkId));
    } catch (err) {
      document.getElementById("summary-line").textContent = "";
      g.showAlert(err.status === 404 ? "No network " + networkId + " in the registry." : "Could not load the network: " + err.message);
      return;
    }
    renderSummary(net);
    renderDomain(net);
    renderCurves(net);
    renderScatter(net);
    renderCoverage(net);
    renderMetrics(net);
    renderLineage(net);
    renderVersions(net);
  }

  load();
})();
