/* Schedules page: list, create and delete retraining schedules. */
"use strict";
(function () {
  const g = window.geobp;
  const el = g.el;

  const EXAMPLE_SPEC = {
    name: "schlumberger-3l",
    forward_model: { name: "ves-schlumberger", n_layers: 3, ab2_m: [1, 2.15, 4.64, 10, 21.5, 46.4, 100, 215], mn2_m: null },
    n_samples: 20000,
    network: { hidden: 64, max_epochs: 200, n_members: 3 },
  };

  function target(schedule) {
    const spec = schedule.spec || {};
    // a schedule that retrains a network name stores {retrain_network: name} (older: {network})
    const named = spec.retrain_network || (typeof spec.network === "string" ? spec.network : null);
    if (named) { return "network " + named; }
    const fm = spec.forward_model || {};
    return "spec " + (spec.name || "?") + " (" + (fm.name || "?") + ", " + (fm.n_layers || "?") + " layers)";
  }

  async function remove(schedule) {
    g.clearAlert();
    try {
      await g.api("/schedules/" + encodeURIComponent(schedule.id), { method: "DELETE", auth: true });
      g.showAlert("Schedule " + schedule.name + " deleted.", "info");
    } catch (err) { g.showAlert("Could not delete " + schedule.name + ": " + err.message); }
    load();
  }

  async function load() {
    const body = document.getElementById("schedules-body");
    let items = [];
    try { items = (await g.api("/schedules")).items; } catch (err) { g.showAlert("Could not list schedules: " + err.message); }
    body.replaceChildren();
    if (!items.length) { body.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No schedules yet."))); }
    for (const s of items) {
      body.append(el("tr", { "data-schedule": s.name },
        el("td", {}, s.name),
        el("td", {}, el("code", {}, s.cron)),
        el("td", {}, target(s)),
        el("td", {}, s.enabled ? g.badge("ok", "✓ enabled") : g.badge("neutral", "paused")),
        el("td", {}, g.fmtDate(s.next_run_at)),
        el("td", {}, g.fmtDate(s.last_run_at)),
        el("td", {}, s.last_job_id ? el("a", { href: g.ROOT + "/jobs#job-" + s.last_job_id }, "job") : "–"),
        el("td", {}, el("button", { type: "button", class: "danger", onclick: () => remove(s) }, "Delete"))));
    }
  }

  async function networks() {
    const select = document.getElementById("schedule-network");
    try {
      const items = g.registryNetworks((await g.api("/networks")).items);
      const names = Array.from(new Set(items.map(n => n.name))).sort();
      select.replaceChildren(...names.map(n => el("option", { value: n }, n)));
      if (!names.length) { select.append(el("option", { value: "" }, "no networks yet")); }
    } catch (err) { g.showAlert("Could not list networks: " + err.message); }
  }

  async function submit(event) {
    event.preventDefault();
    g.clearAlert();
    const useSpec = document.querySelector("input[name=target]:checked").value === "spec";
    const body = {
      name: document.getElementById("schedule-name").value.trim(),
      cron: document.getElementById("schedule-cron").value.trim(),
      enabled: document.getElementById("schedule-enabled").checked,
    };
    if (useSpec) {
      try { body.spec = JSON.parse(document.getElementById("schedule-spec").value); } catch (err) { g.showAlert("The spec is not valid JSON: " + err.message); return; }
    } else {
      body.network = document.getElementById("schedule-network").value;
      if (!body.network) { g.showAlert("There is no network to retrain yet; give a training spec instead."); return; }
    }
    try {
      const created = await g.api("/schedules", { method: "POST", body: body, auth: true });
      g.showAlert("Schedule " + created.name + " created; next run " + g.fmtDate(created.next_run_at) + ".", "info");
    } catch (err) { g.showAlert("Could not create the schedule: " + err.message); }
    load();
  }

  for (const radio of document.querySelectorAll("input[name=target]")) {
    radio.addEventListener("change", function () {
      const spec = document.querySelector("input[name=target]:checked").value === "spec";
      document.getElementById("schedule-spec").disabled = !spec;
      document.getElementById("schedule-network").disabled = spec;
    });
  }
  document.getElementById("schedule-spec").value = JSON.stringify(EXAMPLE_SPEC, null, 2);
  document.getElementById("schedule-form").addEventListener("submit", submit);
  networks();
  load();
})();
