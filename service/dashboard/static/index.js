/* Overview page: health, counts, served networks and recent jobs. */
"use strict";
(function () {
  const g = window.geobp;
  const el = g.el;

  async function health() {
    const box = document.getElementById("health");
    try {
      const response = await fetch(g.API + "/health", { headers: { Accept: "application/json" } });
      const h = await response.json();  // 503 still carries the body: show what is not ready
      const part = (label, item) => {
        const ok = item && (item.ok === true || item.status === "ok");
        return el("li", {}, g.badge(ok ? "ok" : "bad", ok ? "✓ " + label + " ready" : "✗ " + label + " not ready"),
          item && item.error ? " " + item.error : "");
      };
      box.replaceChildren(
        el("p", {}, g.badge(h.status === "ok" ? "ok" : "warn", h.status === "ok" ? "✓ all good" : "⚠ degraded"), " version " + (h.version || "?")),
        el("ul", { class: "flags" }, part("database", h.database), part("broker", h.broker)));
    } catch (err) {
      box.replaceChildren(g.badge("bad", "✗ service unreachable: " + err.message));
    }
  }

  async function counts() {
    try {
      const nets = (await g.api("/networks")).items;
      const names = new Set(nets.map(n => n.name));
      document.getElementById("network-count").textContent =
        nets.length + " network version(s) under " + names.size + " name(s).";
    } catch (err) { g.showAlert("Could not list networks: " + err.message); }
    try {
      const jobs = (await g.api("/training-jobs?limit=20")).items;
      const running = jobs.filter(j => j.status === "running" || j.status === "queued").length;
      document.getElementById("job-count").textContent = running + " queued or running; " + jobs.length + " recent.";
      const body = document.getElementById("recent-jobs");
      body.replaceChildren();
      if (!jobs.length) { body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No training jobs yet."))); }
      for (const job of jobs.slice(0, 8)) {
        body.append(el("tr", {},
          el("td", {}, el("a", { href: g.ROOT + "/jobs#job-" + job.id }, job.name)),
          el("td", {}, g.statusBadge(job.status)),
          el("td", {}, (job.progress || {}).stage || "–"),
          el("td", { class: "num" }, g.pct((job.progress || {}).fraction)),
          el("td", {}, g.fmtDate(job.created_at))));
      }
    } catch (err) { g.showAlert("Could not list training jobs: " + err.message); }
  }

  const SERVED_POLL_MS = 5000;

  /** The starter set's training progress in words (null when there is no record). */
  function trainingLine(training) {
    if (!training) { return null; }
    const done = (training.done || []).length;
    const total = training.total || 0;
    if (training.state === "training") {
      return el("p", { id: "served-training" }, g.badge("warn", "⚠ training " + done + " of " + total),
        training.current ? " now " + training.current : "");
    }
    if (training.state === "failed") {
      return el("p", { id: "served-training" }, g.badge("bad", "✗ training failed"), " " + (training.error || ""));
    }
    return el("p", { id: "served-training", class: "muted" }, "Starter set trained (" + done + " of " + total + ").");
  }

  /** The physics-guided upgrade's progress in words (null when there is no record). */
  function upgradeLine(upgrade) {
    if (!upgrade) { return null; }
    const done = (upgrade.done || []).length;
    const total = upgrade.total || 0;
    const promoted = (upgrade.promoted || []).length;
    const tally = done + " of " + total + " challenged, " + promoted + " promoted";
    if (upgrade.state === "waiting") {
      return el("p", { id: "served-upgrade", class: "muted" }, "Physics-guided upgrade: waiting for the starter set.");
    }
    if (upgrade.state === "training") {
      return el("p", { id: "served-upgrade" }, g.badge("neutral", "↻ physics-guided upgrade: " + tally),
        upgrade.current ? " now " + upgrade.current + " (the networks above serve meanwhile)" : "");
    }
    if (upgrade.state === "failed") {
      return el("p", { id: "served-upgrade" }, g.badge("bad", "✗ physics-guided upgrade failed"), " " + (upgrade.error || ""));
    }
    return el("p", { id: "served-upgrade", class: "muted" }, "Physics-guided upgrade done: " + tally + ".");
  }

  /** Readiness per method from GET /served; polled while the starter set trains or upgrades. */
  async function served() {
    const box = document.getElementById("served");
    let doc;
    try {
      doc = await g.api("/served");
    } catch (err) {
      box.replaceChildren(g.badge("bad", "✗ could not read the served networks: " + err.message));
      return;
    }
    const body = el("tbody");
    for (const [method, state] of Object.entries(doc.methods || {})) {
      const missing = state.missing_layers || [];
      body.append(el("tr", {},
        el("td", {}, method),
        el("td", {}, g.badge(state.ready ? "ok" : "warn", state.ready ? "✓ ready" : "⚠ not ready")),
        el("td", {}, missing.length ? missing.join(", ") : "none")));
    }
    box.replaceChildren(
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "method"), el("th", {}, "state"), el("th", {}, "layer counts missing"))),
        body)),
      trainingLine(doc.training) || "",
      upgradeLine(doc.upgrade) || "");
    const busy = (record) => record && ["waiting", "training"].includes(record.state);
    if (busy(doc.training) || busy(doc.upgrade)) { setTimeout(served, SERVED_POLL_MS); }
  }

  health();
  counts();
  served();
})();
