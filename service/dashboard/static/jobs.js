/* Training jobs page: live progress (polling), follow one job's loss, cancel, start from a spec. */
"use strict";
(function () {
  const g = window.geobp;
  const P = window.geobpPlots;
  const el = g.el;
  const ACTIVE = new Set(["queued", "running"]);
  const FAST_MS = 700;
  const SLOW_MS = 4000;
  const curves = new Map();   // job id → [[{epoch, train_loss, val_loss}] per ensemble member]
  let followed = null;
  let followedByUser = false;
  let timer = null;
  let lastJobs = [];

  const EXAMPLE = {
    name: "schlumberger-3l-small",
    forward_model: {
      name: "ves-schlumberger", n_layers: 3,
      ab2_m: [1, 1.5, 2.2, 3.2, 4.6, 6.8, 10, 15, 22, 32, 46, 68, 100, 150, 220, 320], mn2_m: null,
    },
    bounds: { rho_ohmm: [1, 5000], thickness_m: [0.5, 100] },
    n_samples: 20000,
    noise: { rho_a_rel: 0.03, phase_deg: 1.0 },
    seed: 1,
    network: { hidden: 64, max_epochs: 200, n_members: 3, patience: 20 },
  };

  function record(job) {
    const p = job.progress || {};
    if (typeof p.epoch !== "number" || typeof p.train_loss !== "number") { return; }
    const series = curves.get(job.id) || [];
    const member = Math.max(1, p.member || 1) - 1;
    while (series.length <= member) { series.push([]); }
    const list = series[member];
    const last = list[list.length - 1];
    if (!last || last.epoch < p.epoch) { list.push({ epoch: p.epoch, train_loss: p.train_loss, val_loss: p.val_loss }); }
    curves.set(job.id, series);
  }

  function epochText(p) {
    if (typeof p.epoch !== "number") { return "–"; }
    let text = "epoch " + p.epoch + (p.max_epochs ? " of " + p.max_epochs : "");
    if (p.n_members && p.n_members > 1) { text += " (member " + (p.member || 1) + " of " + p.n_members + ")"; }
    return text;
  }

  function progressCell(job) {
    const p = job.progress || {};
    const fraction = typeof p.fraction === "number" ? p.fraction : 0;
    return el("td", { class: "progress-cell" },
      el("progress", { max: "1", value: String(fraction), "aria-label": "progress of " + job.name }),
      " ", el("span", { class: "fraction" }, g.pct(fraction)));
  }

  async function cancel(job) {
    g.clearAlert();
    try {
      await g.api("/training-jobs/" + encodeURIComponent(job.id), { method: "DELETE", auth: true });
      g.showAlert("Cancel requested for job " + job.name + "; it stops at the next epoch.", "info");
    } catch (err) {
      g.showAlert("Could not cancel " + job.name + ": " + err.message);
    }
    poll();
  }

  function follow(job) {
    followed = job.id;
    followedByUser = true;
    renderLive();
    render(lastJobs);
  }

  function renderLive() {
    const title = document.getElementById("live-title");
    const div = document.getElementById("live-curve");
    const job = lastJobs.find(j => j.id === followed);
    if (!job) { return; }
    const series = curves.get(job.id) || [];
    const p = job.progress || {};
    title.textContent = "Job " + job.name + ": " + job.status + ", stage " + (p.stage || "–") + ", " + epochText(p) + ".";
    if (series.some(s => s.length)) { P.lossPlot(div, series.filter(s => s.length), "Loss of " + job.name); }
  }

  function actionsCell(job) {
    const actions = el("td", { class: "actions" });
    if (ACTIVE.has(job.status)) {
      actions.append(el("button", { type: "button", class: "danger", "data-action": "cancel", onclick: () => cancel(job) }, "Cancel"), " ");
    }
    if (job.id !== followed) {
      actions.append(el("button", { type: "button", class: "secondary", onclick: () => follow(job) }, "Follow"));
    } else {
      actions.append(el("span", { class: "muted" }, "followed"));
    }
    actions.dataset.signature = (ACTIVE.has(job.status) ? "active" : "done") + (job.id === followed ? ":followed" : "");
    return actions;
  }

  function cells(job) {
    const p = job.progress || {};
    const result = job.network_id
      ? el("a", { href: g.ROOT + "/networks/" + encodeURIComponent(job.network_id) }, "network")
      : (job.error ? el("span", { class: "muted" }, "error: " + job.error) : "–");
    return [
      el("td", {}, job.name),
      el("td", { class: "status" }, g.statusBadge(job.status)),
      el("td", { class: "stage" }, p.stage || "–"),
      progressCell(job),
      el("td", { class: "epoch" }, epochText(p)),
      el("td", { class: "num train-loss" }, g.fmt(p.train_loss, 4)),
      el("td", { class: "num val-loss" }, g.fmt(p.val_loss, 4)),
      el("td", {}, g.fmtDate(job.created_at)),
      el("td", {}, result),
    ];
  }

  /** Update the table in place: rows are kept per job, and the buttons only change with the
   *  job's state, so they stay put under the pointer while the numbers move. */
  function render(jobs) {
    const body = document.getElementById("jobs-body");
    const filter = document.getElementById("status-filter").value;
    const shown = jobs.filter(j => !filter || j.status === filter);
    const existing = new Map(Array.from(body.querySelectorAll("tr[id^='job-']")).map(tr => [tr.id, tr]));
    const rows = [];
    for (const job of shown) {
      let tr = existing.get("job-" + job.id);
      const fresh = cells(job);
      if (!tr) {
        tr = el("tr", { id: "job-" + job.id });
        tr.append(...fresh, actionsCell(job));
      } else {
        const old = Array.from(tr.children);
        fresh.forEach((td, i) => { if (old[i].textContent !== td.textContent || i === 3) { old[i].replaceWith(td); } });
        const actions = tr.lastElementChild;
        const wanted = actionsCell(job);
        if (actions.dataset.signature !== wanted.dataset.signature) { actions.replaceWith(wanted); }
      }
      tr.dataset.status = job.status;
      rows.push(tr);
    }
    if (!shown.length) {
      rows.push(el("tr", {}, el("td", { colspan: 10, class: "muted" }, jobs.length ? "No job with this status." : "No training jobs yet — start one below.")));
    }
    const same = rows.length === body.children.length && rows.every((tr, i) => body.children[i] === tr);
    if (!same) { body.replaceChildren(...rows); }
  }

  async function poll() {
    clearTimeout(timer);
    let active = false;
    try {
      const jobs = (await g.api("/training-jobs?limit=50")).items;
      jobs.forEach(record);
      lastJobs = jobs;
      active = jobs.some(j => ACTIVE.has(j.status));
      if (!followedByUser || !jobs.some(j => j.id === followed)) {
        const running = jobs.find(j => j.status === "running") || jobs.find(j => j.status === "queued");
        if (running) { followed = running.id; followedByUser = false; }
      }
      render(jobs);
      renderLive();
      document.getElementById("poll-state").textContent =
        (active ? "updating every second" : "no active job; checking every few seconds") + " — last update " + new Date().toLocaleTimeString();
    } catch (err) {
      document.getElementById("poll-state").textContent = "could not update: " + err.message;
    }
    timer = setTimeout(poll, active ? FAST_MS : SLOW_MS);
  }

  async function submit(event) {
    event.preventDefault();
    g.clearAlert();
    let spec;
    try {
      spec = JSON.parse(document.getElementById("job-spec").value);
    } catch (err) {
      g.showAlert("The job spec is not valid JSON: " + err.message);
      return;
    }
    const button = document.getElementById("job-submit");
    button.disabled = true;
    try {
      const job = await g.api("/training-jobs", { method: "POST", body: spec, auth: true });
      followed = job.id;
      followedByUser = true;
      g.showAlert("Job " + job.name + " queued (id " + job.id + ").", "info");
    } catch (err) {
      g.showAlert("Could not start the job: " + err.message);
    } finally {
      button.disabled = false;
    }
    poll();
  }

  async function examples() {
    const select = document.getElementById("fm-example");
    let models = [];
    try { models = (await g.api("/forward-models")).items; } catch (err) { return; }
    for (const fm of models) { select.append(el("option", { value: fm.name }, fm.name)); }
    select.addEventListener("change", function () {
      const fm = models.find(m => m.name === select.value);
      if (!fm) { return; }
      let spec;
      try { spec = JSON.parse(document.getElementById("job-spec").value); } catch (err) { spec = Object.assign({}, EXAMPLE); }
      spec.forward_model = Object.assign({ name: fm.name }, fm.example);
      spec.name = fm.name + "-" + (fm.example.n_layers || 3) + "l";
      document.getElementById("job-spec").value = JSON.stringify(spec, null, 2);
    });
  }

  document.getElementById("job-spec").value = JSON.stringify(EXAMPLE, null, 2);
  document.getElementById("job-form").addEventListener("submit", submit);
  document.getElementById("status-filter").addEventListener("change", () => render(lastJobs));
  examples();
  poll();
})();
