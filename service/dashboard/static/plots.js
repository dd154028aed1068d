/* geobp dashboard: Plotly figures (served locally) for soundings, models, sections and training. */
"use strict";

window.geobpPlots = (function () {
  // Plotly (4.6 MB) is loaded on first use, so pages render at once and only pay for it when
  // there is something to draw.
  const PLOTLY_SRC = document.currentScript.dataset.plotly;
  let loading = null;

  /** Resolve once Plotly is loaded (inserting its script tag the first time). */
  function ready() {
    if (window.Plotly) { return Promise.resolve(window.Plotly); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = PLOTLY_SRC;
        script.onload = () => resolve(window.Plotly);
        script.onerror = () => { loading = null; reject(new Error("could not load " + PLOTLY_SRC)); };
        document.head.append(script);
      });
    }
    return loading;
  }

  /** Plotly.react once Plotly is there; returns a promise of the plot element. */
  async function draw(div, traces, layout) {
    try {
      await ready();
    } catch (err) {
      div.textContent = "The plot could not be drawn: " + err.message;
      return div;
    }
    return Plotly.react(div, traces, layout, CONFIG);
  }
  const AXIS_LABELS = { ab2_m: "AB/2 (m)", a_m: "a (m)", periods_s: "period (s)" };
  const OBSERVED = "#222";
  const PREDICTED = "#c0392b";
  const MODEL = "#1f5fa8";
  const SMOOTH = "#e67e22";
  const POLARISABLE = "#2e8b57";
  const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function axisKey(obj) {
    for (const key of Object.keys(AXIS_LABELS)) {
      if (obj && Array.isArray(obj[key])) { return key; }
    }
    return null;
  }

  function baseLayout(extra) {
    return Object.assign({
      margin: { l: 64, r: 16, t: 36, b: 96 },
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.3, yanchor: "top" },
      font: { size: 12 },
      paper_bgcolor: "#fff",
      plot_bgcolor: "#fff",
    }, extra);
  }

  function logAxis(title) {
    return { type: "log", title: { text: title }, gridcolor: "#e3e7ec", zeroline: false, exponentformat: "power" };
  }

  /** Absolute error bars (e.g. phase in degrees): one value or one per datum. */
  function errorArray(values, error) {
    if (error === undefined || error === null) { return null; }
    return values.map((v, i) => (Array.isArray(error) ? error[i] : error));
  }

  /** Plotly error bars of relative errors (percent) symmetric on a log axis: ρa·e^{±σ}, σ = e/100
   *  (the misfit weighs ln ρa), as in the CLI figures. */
  function logErrorBars(values, percent) {
    if (percent === undefined || percent === null) { return undefined; }
    const sigma = values.map((v, i) => (Array.isArray(percent) ? percent[i] : percent) / 100);
    return {
      type: "data", symmetric: false, visible: true, color: "#777",
      array: values.map((v, i) => v * (Math.exp(sigma[i]) - 1)),
      arrayminus: values.map((v, i) => v * (1 - Math.exp(-sigma[i]))),
    };
  }

  /** The dense model response as one trace's x/y, segments (one per MN/2) split by nulls.
   *  curves: [{x, rho_a_ohmm, phase_deg?}] (result.predicted_dense); field: which series. */
  function denseXY(curves, field) {
    const x = [];
    const y = [];
    for (const curve of curves) {
      if (!Array.isArray(curve[field])) { continue; }
      if (x.length) { x.push(null); y.push(null); }
      x.push(...curve.x);
      y.push(...curve[field]);
    }
    return x.length ? { x: x, y: y } : null;
  }

  /** Observed and predicted apparent resistivity on log–log axes. */
  function soundingPlot(div, observation, result, title) {
    const key = axisKey(observation) || axisKey(result.predicted || {});
    const traces = [];
    if (observation && key && observation.rho_a_ohmm) {
      traces.push({
        x: observation[key], y: observation.rho_a_ohmm, mode: "markers", name: "observed",
        marker: { color: OBSERVED, size: 7, symbol: "circle-open", line: { width: 2 } },
        error_y: logErrorBars(observation.rho_a_ohmm, observation.rho_a_error_percent),
      });
    }
    const pred = (result && result.predicted) || {};
    const pkey = axisKey(pred) || key;
    const dense = denseXY((result && result.predicted_dense) || [], "rho_a_ohmm");
    const factors = result && result.segment_shifts && result.segment_shifts.applied;
    if (dense) {
      traces.push({
        x: dense.x, y: dense.y, mode: "lines",
        name: factors ? "predicted (model response × segment factor)" : "predicted (model response)",
        line: { color: PREDICTED, width: 2 }, connectgaps: false,
      });
    } else if (pkey && pred.rho_a_ohmm) {
      traces.push({
        x: pred[pkey], y: pred.rho_a_ohmm, mode: "lines", name: "predicted (model response)",
        line: { color: PREDICTED, width: 2 },
      });
    }
    const layout = baseLayout({
      title: { text: title || "Apparent resistivity: observed and predicted" },
      xaxis: logAxis(AXIS_LABELS[key] || "abscissa"),
      yaxis: logAxis("apparent resistivity (Ω·m)"),
    });
    return draw(div, traces, layout);
  }

  /** Observed and predicted MT phase (degrees) against period (log axis). */
  function phasePlot(div, observation, result) {
    const key = axisKey(observation);
    const pred = (result && result.predicted) || {};
    const pkey = axisKey(pred) || key;
    const traces = [];
    if (observation.phase_deg) {
      const err = errorArray(observation.phase_deg, observation.phase_error_deg);
      traces.push({
        x: observation[key], y: observation.phase_deg, mode: "markers", name: "observed phase",
        marker: { color: OBSERVED, size: 7, symbol: "square-open", line: { width: 2 } },
        error_y: err ? { type: "data", array: err, visible: true, color: "#777" } : undefined,
      });
    }
    const dense = denseXY((result && result.predicted_dense) || [], "phase_deg");
    if (dense) {
      traces.push({ x: dense.x, y: dense.y, mode: "lines", name: "predicted phase", line: { color: PREDICTED, width: 2 }, connectgaps: false });
    } else if (pred.phase_deg) {
      traces.push({ x: pred[pkey], y: pred.phase_deg, mode: "lines", name: "predicted phase", line: { color: PREDICTED, width: 2 } });
    }
    const layout = baseLayout({
      title: { text: "Phase: observed and predicted" },
      xaxis: logAxis(AXIS_LABELS[key] || "period (s)"),
      yaxis: { title: { text: "phase (°)" }, range: [0, 90], gridcolor: "#e3e7ec" },
    });
    return draw(div, traces, layout);
  }

  const RESOLVED_WORDS = { individually: "ρ and h", conductance: "S only", transverse_resistance: "T only" };

  /** Whether the data resolve layer i (0-based) of n: the result's combinations (best resolved
   *  of ρ and h, S or T) when it has them, else its list of unresolved parameters (rho1, h1…). */
  function resolvedWord(uncertainty, i, n) {
    const combo = (uncertainty.combinations || []).find(c => c && c.layer === i + 1);
    if (combo && combo.best_resolved) { return RESOLVED_WORDS[combo.best_resolved] || combo.best_resolved; }
    if (!Array.isArray(uncertainty.unresolved)) { return null; }
    const rho = !uncertainty.unresolved.includes("rho" + (i + 1));
    if (i === n - 1) { return rho ? "ρ" : "no"; }  // the half-space has no thickness
    const h = !uncertainty.unresolved.includes("h" + (i + 1));
    if (rho && h) { return "ρ and h"; }
    if (rho) { return "ρ only"; }
    return h ? "h only" : "no";
  }

  /** Layers of a result: [{top, bottom, rho, p10, p90, s, t, resolved}] (bottom, S (siemens),
   *  T (Ω·m²) null for the half-space; resolved: words, or null when the result does not say). */
  function layers(result) {
    const model = result.model || {};
    const rho = model.rho_ohmm || [];
    const h = model.thickness_m || [];
    const uncertainty = result.uncertainty || {};
    const unc = uncertainty.rho_ohmm || {};
    const out = [];
    let top = 0;
    for (let i = 0; i < rho.length; i++) {
      const thick = i < h.length ? h[i] : null;
      out.push({
        top: top, bottom: thick === null ? null : top + thick, rho: rho[i],
        p10: unc.p10 ? unc.p10[i] : null, p90: unc.p90 ? unc.p90[i] : null,
        s: thick === null ? null : thick / rho[i], t: thick === null ? null : thick * rho[i],
        resolved: resolvedWord(uncertainty, i, rho.length),
      });
      if (thick !== null) { top += thick; }
    }
    return out;
  }

  /** Depths shown (m) as in the CLI figures: log from a fifth of the first interface (floored to
   *  a decade) to the decade above twice the deepest; linear from 0 to twice the deepest. */
  function depthLimits(rows, scale) {
    const interfaces = rows.filter(r => r.bottom !== null).map(r => r.bottom);
    const deepest = interfaces.length ? Math.max(2 * interfaces[interfaces.length - 1], 1) : 10;
    if (scale === "linear") { return [0, deepest]; }
    const first = interfaces.length ? interfaces[0] : 1;
    return [Math.pow(10, Math.floor(Math.log10(first / 5))), Math.pow(10, Math.ceil(Math.log10(deepest)))];
  }

  function halfSpaceBottom(rows) {
    const last = rows.length ? rows[rows.length - 1].top : 0;
    return Math.max(2 * last, 1);
  }

  /** The layered model as a step plot of resistivity against depth, with the p10–p90 band.
   *  depthScale: "log" (default, as the CLI figures) or "linear". */
  function modelPlot(div, result, title, depthScale) {
    const scale = depthScale === "linear" ? "linear" : "log";
    const rows = layers(result);
    const [shallow, shown] = depthLimits(rows, scale);
    const d = dois(result);  // show the greyed range below the standard DOI too
    const deep = !d ? shown : (scale === "log"
      ? Math.max(shown, Math.pow(10, Math.ceil(Math.log10(1.5 * d.standard))))
      : Math.max(shown, 1.5 * d.standard));
    const depth = [];
    const rho = [];
    const p10 = [];
    const p90 = [];
    for (const row of rows) {
      depth.push(Math.max(row.top, shallow), row.bottom === null ? deep : row.bottom);
      rho.push(row.rho, row.rho);
      p10.push(row.p10, row.p10);
      p90.push(row.p90, row.p90);
    }
    const traces = [];
    if (rows.length && rows.every(r => typeof r.p10 === "number" && typeof r.p90 === "number")) {
      traces.push({
        x: p10.concat(p90.slice().reverse()), y: depth.concat(depth.slice().reverse()),
        fill: "toself", mode: "lines", line: { width: 0 }, fillcolor: "rgba(31,95,168,0.22)",
        name: "p10–p90 band", hoverinfo: "skip",
      });
    }
    traces.push({
      x: rho, y: depth, mode: "lines", name: "layered model", line: { color: MODEL, width: 3 },
      hovertemplate: "%{x:.3g} Ω·m at %{y:.3g} m<extra></extra>",
    });
    const smooth = result.smooth;
    if (smooth && Array.isArray(smooth.rho_ohmm) && smooth.rho_ohmm.length) {
      traces.unshift(...smoothTraces(smooth, shallow, deep));
    }
    const ip = result.ip;
    if (ip && ip.preferred && ip.model && Array.isArray(ip.model.rho_ohmm)) {
      traces.push(polarisableTrace(ip, shallow, deep));
    }
    const shapes = doiShapes(result, deep);
    const yaxis = scale === "log"
      ? Object.assign(logAxis("depth (m), log scale"), { range: [Math.log10(deep), Math.log10(shallow)] })
      : { title: { text: "depth (m)" }, range: [deep, 0], gridcolor: "#e3e7ec", zeroline: false };
    const layout = baseLayout({
      title: { text: title || "Layered and smooth models" },
      xaxis: logAxis("resistivity (Ω·m)"),
      yaxis: yaxis,
      shapes: shapes,
      annotations: doiLabels(result, scale, [shallow, deep]),
    });
    return draw(div, traces, layout);
  }

  /** {conservative, standard} DOI (m) of the layered model, else of the smooth model, or null. */
  function dois(result) {
    for (const block of [result, result.smooth]) {
      const d = block && block.doi_m;
      if (d && typeof d.standard === "number" && typeof d.conservative === "number") { return d; }
    }
    return null;
  }

  /** Grey bands below the DOIs (light below the conservative, darker below the standard one). */
  function doiShapes(result, deep) {
    const d = dois(result);
    if (!d) { return []; }
    const band = (from, alpha) => ({
      type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: from, y1: Math.max(deep, from),
      fillcolor: "rgba(120,120,120," + alpha + ")", line: { width: 0 }, layer: "above",
    });
    return [band(d.conservative, 0.15), band(d.standard, 0.25)];
  }

  /** DOI labels; annotations on a log axis take log10 positions (shapes take data values). */
  const DOI_LABEL_GAP = 0.06;  // a 10 px label on a ~300 px high depth axis, with room

  function doiLabels(result, scale, shown) {
    const d = dois(result);
    if (!d) { return []; }
    // the two labels' distance as a share of the depth axis: one label where they would overlap
    const at = v => (scale === "log" ? Math.log10(v) : v);
    const apart = (at(d.standard) - at(d.conservative)) / (at(shown[1]) - at(shown[0]));
    const label = (depth, text) => ({
      xref: "paper", x: 0.01, xanchor: "left", yref: "y", y: scale === "log" ? Math.log10(depth) : depth, yanchor: "bottom",
      text: text, showarrow: false, font: { size: 10, color: "#444" },
    });
    const std = "DOI " + d.standard.toPrecision(3) + " m (standard)";
    if (!(apart > DOI_LABEL_GAP)) {
      return [label(d.standard, std + ", " + d.conservative.toPrecision(3) + " m (conservative)")];
    }
    return [label(d.conservative, "DOI " + d.conservative.toPrecision(3) + " m (conservative)"), label(d.standard, std)];
  }

  /** The polarisable (Cole–Cole) model's DC resistivities ρ0 as a dash-dot step line. */
  function polarisableTrace(ip, shallow, deep) {
    const model = ip.model;
    const depths = model.depth_m || [];
    const k = ip.polarisable_layer - 1;
    const x = [], y = [];
    for (let i = 0; i < model.rho_ohmm.length; i++) {
      const top = i === 0 ? shallow : Math.max(depths[i - 1], shallow);
      const bottom = i < depths.length ? depths[i] : deep;
      x.push(model.rho_ohmm[i], model.rho_ohmm[i]);
      y.push(top, bottom);
    }
    const name = "polarisable model ρ0 (layer " + (k + 1) + ": m " + Number(model.chargeability[k]).toFixed(2)
      + ", τ " + Number(model.tau_s[k]).toPrecision(2) + " s, c " + Number(model.c[k]).toFixed(2) + ")";
    return { x: x, y: y, mode: "lines", name: name, line: { color: POLARISABLE, width: 2, dash: "dashdot" } };
  }

  /** The smooth model as a dashed step line with its p10–p90 band (Plotly traces). */
  function smoothTraces(smooth, shallow, deep) {
    const rho = smooth.rho_ohmm;
    const depths = smooth.depth_m || [];
    const y = [];
    const x = [];
    const lo = [];
    const hi = [];
    for (let i = 0; i < rho.length; i++) {
      const top = Math.max(i ? depths[i - 1] : 0, shallow);
      const bottom = i < depths.length ? depths[i] : Math.max(deep, top);
      y.push(top, bottom);
      x.push(rho[i], rho[i]);
      if (smooth.p10 && smooth.p90) { lo.push(smooth.p10[i], smooth.p10[i]); hi.push(smooth.p90[i], smooth.p90[i]); }
    }
    const traces = [];
    if (lo.length === x.length) {
      traces.push({
        x: lo.concat(hi.slice().reverse()), y: y.concat(y.slice().reverse()), fill: "toself", mode: "lines",
        line: { width: 0 }, fillcolor: "rgba(230,126,34,0.12)", name: "smooth p10–p90", hoverinfo: "skip",
      });
    }
    traces.push({
      x: x, y: y, mode: "lines", name: "smooth model", line: { color: SMOOTH, width: 2, dash: "dash" },
      hovertemplate: "smooth: %{x:.3g} Ω·m at %{y:.3g} m<extra></extra>",
    });
    return traces;
  }

  function rhoAt(rows, depth) {
    for (const row of rows) {
      if (row.bottom === null || depth < row.bottom) { return row.rho; }
    }
    return rows.length ? rows[rows.length - 1].rho : null;
  }

  /** The smooth model's layers as {top, bottom, rho} rows (bottom null for the half-space). */
  function smoothLayers(smooth) {
    const depths = smooth.depth_m || [];
    return smooth.rho_ohmm.map((rho, i) => ({ top: i ? depths[i - 1] : 0, bottom: i < depths.length ? depths[i] : null, rho: rho }));
  }

  /** Stitched 1D models as a section: distance against depth, log10 resistivity colours. The
   *  smooth models side by side where the results have them (else the layered ones), blank
   *  below each sounding's standard depth of investigation. */
  function sectionPlot(div, distances, results, labels) {
    const useSmooth = results.length && results.every(r => r.smooth && Array.isArray(r.smooth.rho_ohmm));
    const rowsList = results.map(r => (useSmooth ? smoothLayers(r.smooth) : layers(r)));
    const doiList = results.map(r => {
      const d = useSmooth ? r.smooth.doi_m : dois(r);
      return d && typeof d.standard === "number" ? d.standard : null;
    });
    let maxDepth = 1;
    rowsList.forEach((rows, j) => {
      maxDepth = Math.max(maxDepth, doiList[j] !== null ? 1.2 * doiList[j] : 1.3 * halfSpaceBottom(rows) / 2);
    });
    const n = 120;
    const depths = Array.from({ length: n }, (_, i) => (i + 0.5) * maxDepth / n);
    const z = depths.map(d => rowsList.map((rows, j) => {
      if (doiList[j] !== null && d > doiList[j]) { return null; }  // below the DOI: blank
      const r = rhoAt(rows, d);
      return r > 0 ? Math.log10(r) : null;
    }));
    const flat = z.flat().filter(v => v !== null);
    const lo = Math.floor(Math.min.apply(null, flat));
    const hi = Math.ceil(Math.max.apply(null, flat));
    const ticks = [];
    for (let k = lo; k <= Math.max(hi, lo + 1); k++) { ticks.push(k); }
    const trace = {
      type: "heatmap", x: distances, y: depths, z: z, zmin: lo, zmax: Math.max(hi, lo + 1),
      colorscale: "Viridis", reversescale: true,
      colorbar: { title: { text: "ρ (Ω·m)" }, tickvals: ticks, ticktext: ticks.map(k => String(Math.pow(10, k))) },
      customdata: z.map(row => row.map((v, j) => [v === null ? null : Math.pow(10, v), labels[j]])),
      hovertemplate: "sounding %{customdata[1]}<br>x %{x} m, depth %{y:.3g} m<br>ρ %{customdata[0]:.3g} Ω·m<extra></extra>",
    };
    const marks = {
      x: distances, y: distances.map(() => 0), mode: "markers+text", text: labels, textposition: "top center",
      marker: { symbol: "triangle-down", size: 9, color: "#111" }, name: "soundings", cliponaxis: false,
      hoverinfo: "skip",
    };
    const layout = baseLayout({
      title: { text: useSmooth ? "Resistivity section (smooth 1D models, blank below the DOI)" : "Resistivity section (stitched 1D models)" },
      xaxis: { title: { text: "distance along the line (m)" }, gridcolor: "#e3e7ec" },
      yaxis: { title: { text: "depth (m)" }, autorange: "reversed", gridcolor: "#e3e7ec" },
      showlegend: false,
      margin: { l: 64, r: 16, t: 56, b: 52 },
    });
    return draw(div, [trace, marks], layout);
  }

  /** Misfit (RMS %) per sounding as bars with the value written on each bar. */
  function misfitBars(div, distances, rms, labels) {
    const trace = {
      type: "bar", x: distances, y: rms, text: rms.map(v => (typeof v === "number" ? v.toFixed(1) + " %" : "n/a")),
      textposition: "outside", marker: { color: "#7f8c9a" }, customdata: labels,
      hovertemplate: "sounding %{customdata}: RMS %{y:.3g} %<extra></extra>",
    };
    const layout = baseLayout({
      title: { text: "Misfit per sounding (RMS %)" },
      xaxis: { title: { text: "distance along the line (m)" } },
      yaxis: { title: { text: "RMS misfit (%)" }, rangemode: "tozero" },
      showlegend: false,
    });
    return draw(div, [trace], layout);
  }

  /** Training and validation loss per epoch (log y). history: [{epoch, train_loss, val_loss}]. */
  function lossPlot(div, history, title) {
    const series = Array.isArray(history[0]) ? history : [history];
    const traces = [];
    series.forEach(function (h, i) {
      const tag = series.length > 1 ? " (member " + (i + 1) + ")" : "";
      traces.push({ x: h.map(r => r.epoch), y: h.map(r => r.train_loss), mode: "lines", name: "train loss" + tag, line: { color: MODEL, dash: i ? "dot" : "solid" } });
      if (h.some(r => typeof r.val_loss === "number")) {
        traces.push({ x: h.map(r => r.epoch), y: h.map(r => r.val_loss), mode: "lines", name: "validation loss" + tag, line: { color: PREDICTED, dash: i ? "dot" : "solid" } });
      }
    });
    const layout = baseLayout({
      title: { text: title || "Training curves" },
      xaxis: { title: { text: "epoch" }, gridcolor: "#e3e7ec" },
      yaxis: logAxis("loss (MSE, standardised)"),
    });
    return draw(div, traces, layout);
  }

  /** Predicted against true values of one parameter on the held-out set, with the 1:1 line. */
  function scatterPlot(div, name, truth, predicted) {
    const all = truth.concat(predicted).filter(v => v > 0);
    const lo = Math.min.apply(null, all);
    const hi = Math.max.apply(null, all);
    const log = lo > 0;
    const traces = [
      { x: truth, y: predicted, mode: "markers", name: "held-out soundings", marker: { size: 4, color: MODEL, opacity: 0.6 } },
      { x: [lo, hi], y: [lo, hi], mode: "lines", name: "1:1", line: { color: "#555", dash: "dash" } },
    ];
    const unit = name.startsWith("rho") ? " (Ω·m)" : (name.startsWith("h") ? " (m)" : "");
    const layout = baseLayout({
      title: { text: name },
      xaxis: log ? logAxis("true " + name + unit) : { title: { text: "true " + name + unit } },
      yaxis: log ? logAxis("predicted " + name + unit) : { title: { text: "predicted " + name + unit } },
      showlegend: false,
      margin: { l: 60, r: 10, t: 32, b: 48 },
    });
    return draw(div, traces, layout);
  }

  /** Export a plot as PNG or SVG through Plotly's toImage; returns a data URL. */
  async function toImage(div, format) {
    await ready();
    return Plotly.toImage(div, { format: format, width: 900, height: 560 });
  }

  return {
    axisKey: axisKey, layers: layers, logErrorBars: logErrorBars, soundingPlot: soundingPlot, phasePlot: phasePlot,
    modelPlot: modelPlot, sectionPlot: sectionPlot, misfitBars: misfitBars, lossPlot: lossPlot,
    scatterPlot: scatterPlot, toImage: toImage, ready: ready, AXIS_LABELS: AXIS_LABELS,
  };
})();
