/* Shared by the invert and profile pages: read files through the server's readers, list networks
 * that fit the data, and invert through the REST API. */
"use strict";

window.geobpSoundings = (function () {
  const g = window.geobp;
  const P = window.geobpPlots;

  const EXAMPLE_MODEL = { rho_ohmm: [100, 20, 500], thickness_m: [5, 20] };
  const EXAMPLE_AB2_M = [1, 1.47, 2.15, 3.16, 4.64, 6.81, 10, 14.7, 21.5, 31.6, 46.4, 68.1, 100, 147, 215, 316];

  /** An example table computed by the service's forward model (3 layers: 100, 20, 500 Ω·m over
   *  5 m and 20 m) on the geometry of ``net`` (a VES or MT network) or a default Schlumberger one. */
  async function exampleTable(net) {
    const fm = Object.assign({}, (net && net.forward_model) || { name: "ves-schlumberger", n_layers: 3, ab2_m: EXAMPLE_AB2_M, mn2_m: null });
    const name = fm.name;
    delete fm.name;
    fm.n_layers = 3;
    const model = EXAMPLE_MODEL.rho_ohmm.concat(EXAMPLE_MODEL.thickness_m);
    const out = await g.api("/forward-models/" + encodeURIComponent(name) + "/forward", { method: "POST", body: { config: fm, models: [model] } });
    const data = out.data[0];
    const key = P.axisKey(fm);
    const x = fm[key];
    const header = { ab2_m: "AB/2 (m), rho_a (ohm.m)", a_m: "a (m), rho_a (ohm.m)", periods_s: "period (s), rho_a (ohm.m), phase (deg)" }[key];
    const lines = ["# example: 3 layers, 100 / 20 / 500 ohm.m over 5 m and 20 m (" + name + ")", header];
    for (let i = 0; i < x.length; i++) {
      const row = [x[i], Number(data[i].toPrecision(5))];
      if (key === "periods_s") { row.push(Number(data[x.length + i].toPrecision(4))); }
      lines.push(row.join(", "));
    }
    return lines.join("\n");
  }

  /** Parse a File (multipart) or pasted text with the server's readers → [{id, observation}]. */
  async function parse(file, text, mode) {
    const form = new FormData();
    form.append("mode", mode || "det");
    if (file) { form.append("file", file, file.name); } else { form.append("text", text); }
    const response = await g.postFile("/parse", { body: form });
    return response.json();
  }

  /** Networks whose forward model reads this observation's abscissa (ab2_m, a_m or periods_s). */
  function compatible(networks, observation) {
    const key = P.axisKey(observation);
    return networks.filter(n => P.axisKey(n.forward_model || {}) === key);
  }

  async function invertOne(networkId, observation, refine) {
    return g.api("/networks/" + encodeURIComponent(networkId) + "/invert", {
      method: "POST", body: { data: observation, refine: refine },
    });
  }

  async function invertMany(networkId, observations, refine) {
    return g.api("/networks/" + encodeURIComponent(networkId) + "/invert", {
      method: "POST", body: { soundings: observations, refine: refine },
    });
  }

  function nData(observation) {
    return (observation.rho_a_ohmm || []).length + (observation.phase_deg || []).length;
  }

  /** Bayesian information criterion with the noise level known: n·χ² + k·ln n (k parameters). */
  function bic(result, observation) {
    const n = Math.max(nData(observation), 1);
    const chi = (result.misfit || {}).chi;
    const k = (result.model.rho_ohmm || []).length + (result.model.thickness_m || []).length;
    if (typeof chi !== "number") { return Infinity; }
    return n * chi * chi + k * Math.log(n);
  }

  /** Invert with every compatible network (production versions) and pick the layer count by
   *  BIC, preferring results inside the training domain. → {best, rows} */
  async function chooseLayers(networks, observation, refine) {
    const candidates = g.preferredVersions(compatible(networks, observation));
    if (!candidates.length) { throw new Error("no registered network reads this kind of data"); }
    const rows = [];
    for (const net of candidates) {
      try {
        const result = await invertOne(net.id, observation, refine);
        rows.push({ net: net, result: result, score: bic(result, observation) });
      } catch (err) {
        rows.push({ net: net, error: err.message, score: Infinity });
      }
    }
    const usable = rows.filter(r => r.result);
    if (!usable.length) { throw new Error("every candidate network failed: " + rows.map(r => r.net.name + ": " + r.error).join("; ")); }
    const inside = usable.filter(r => r.result.in_domain);
    const pool = inside.length ? inside : usable;
    pool.sort((a, b) => a.score - b.score);
    return { best: pool[0], rows: rows };
  }

  async function download(kind, payload) {
    const response = await g.postFile("/export/" + kind, {
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
    });
    const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    g.saveBlob(await response.blob(), match ? match[1] : kind);
  }

  return {
    exampleTable: exampleTable, parse: parse, compatible: compatible, invertOne: invertOne,
    invertMany: invertMany, chooseLayers: chooseLayers, bic: bic, download: download,
  };
})();
