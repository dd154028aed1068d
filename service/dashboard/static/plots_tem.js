/* TEM data plots of the Invert page: −dBz/dt per ampere and the late-time apparent resistivity
 * against time (log–log), observed (error bars symmetric in log space) and predicted at the gates,
 * as in the CLI figures (inversion/formats/figures_tem.py). */
"use strict";
window.geobpTemPlots = (function () {
  const P = window.geobpPlots;
  const OBSERVED = "#222";
  const PREDICTED = "#c0392b";
  const POLARISABLE = "#2e8b57";
  const LEFT_OUT = "#999";
  const MU0 = 4e-7 * Math.PI;
  const CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function isTem(observation, result) {
    return Array.isArray((observation || {}).times_s) || Array.isArray(((result || {}).predicted || {}).times_s);
  }

  function loopArea(observation) {
    if (observation.loop_side_m) { return observation.loop_side_m * observation.loop_side_m; }
    if (observation.loop_radius_m) { return Math.PI * observation.loop_radius_m * observation.loop_radius_m; }
    return null;
  }

  /** Late-time apparent resistivity (Ω·m) of −dBz/dt per ampere g (V/(A·m²)) at t (s). */
  function lateTimeRho(t, g, area) {
    return t.map((ti, i) => (g[i] > 0
      ? Math.pow(Math.pow(MU0, 2.5) * area / (20 * Math.pow(Math.PI, 1.5) * Math.pow(ti, 2.5) * g[i]), 2 / 3)
      : null));
  }

  function layout(title, yTitle) {
    const axis = (text) => ({ type: "log", title: { text: text }, gridcolor: "#e3e7ec", zeroline: false, exponentformat: "power" });
    return {
      title: { text: title }, xaxis: axis("time (s)"), yaxis: axis(yTitle),
      margin: { l: 72, r: 16, t: 36, b: 96 }, font: { size: 12 },
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.3, yanchor: "top" },
      paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    };
  }

  async function draw(div, traces, lay) {
    try {
      await P.ready();
    } catch (err) {
      div.textContent = "The plot could not be drawn: " + err.message;
      return div;
    }
    return Plotly.react(div, traces, lay, CONFIG);
  }

  /** Which observed gates (times, s) the fit used: those among the predicted times. */
  function fittedGates(times, fittedTimes) {
    if (!Array.isArray(fittedTimes)) return times.map(function () { return true; });
    return times.map(function (t) {
      return fittedTimes.some(function (f) { return Math.abs(f - t) <= 1e-9 * Math.abs(t); });
    });
  }

  /** −dBz/dt (top div) and late-time ρa (bottom div), observed and predicted; observed gates the
   * fit left out (dropped by the server, named in the warnings) are drawn apart, in grey. */
  function temPlots(dataDiv, rhoDiv, observation, result) {
    const pred = (result && result.predicted) || {};
    const allT = observation.times_s || [];
    const allG = observation.dbzdt_v_per_am2 || [];
    const fitted = fittedGates(allT, pred.times_s);
    const pick = function (values, keep) {
      return (values || []).filter(function (_, i) { return fitted[i] === keep; });
    };
    const errors = observation.dbzdt_error_percent;
    const obsT = pick(allT, true);
    const obsG = pick(allG, true);
    const area = loopArea(observation);
    const dataTraces = [{
      x: obsT, y: obsG, mode: "markers", name: "observed",
      marker: { color: OBSERVED, size: 7, symbol: "circle-open", line: { width: 2 } },
      error_y: P.logErrorBars(obsG, Array.isArray(errors) ? pick(errors, true) : errors),
    }];
    const rhoTraces = [];
    if (area) {
      rhoTraces.push({ x: obsT, y: lateTimeRho(obsT, obsG, area), mode: "markers", name: "observed",
        marker: { color: OBSERVED, size: 7, symbol: "circle-open", line: { width: 2 } } });
    }
    const outT = pick(allT, false);
    const outG = pick(allG, false);
    if (outT.length) {
      const grey = { color: LEFT_OUT, size: 7, symbol: "circle-open", line: { width: 1 } };
      const name = "not fitted (dropped: see the warnings)";
      dataTraces.push({ x: outT, y: outG, mode: "markers", name: name, marker: grey });
      if (area) {
        rhoTraces.push({ x: outT, y: lateTimeRho(outT, outG, area), mode: "markers", name: name, marker: grey });
      }
    }
    if (Array.isArray(pred.times_s) && Array.isArray(pred.dbzdt_v_per_am2)) {
      const line = { color: PREDICTED, width: 2 };
      dataTraces.push({ x: pred.times_s, y: pred.dbzdt_v_per_am2, mode: "lines+markers", name: "predicted (model response at the gates)", line: line });
      if (area) {
        rhoTraces.push({ x: pred.times_s, y: lateTimeRho(pred.times_s, pred.dbzdt_v_per_am2, area), mode: "lines+markers", name: "predicted", line: line });
      }
    }
    const rev = observation && observation.reversed_gates;
    if (rev && Array.isArray(rev.times_s) && Array.isArray(rev.dbzdt_v_per_am2)) {
      // gates after a sign reversal: below zero, drawn as |−dBz/dt| (no apparent resistivity)
      dataTraces.push({ x: rev.times_s, y: rev.dbzdt_v_per_am2.map(Math.abs), mode: "markers",
        name: "below zero: |value|", marker: { symbol: "triangle-down-open", color: OBSERVED, size: 8 } });
    }
    const ip = result && result.ip;
    if (ip && ip.preferred && rev && ip.reversed_gates && Array.isArray(ip.reversed_gates.predicted)) {
      dataTraces.push({ x: rev.times_s, y: ip.reversed_gates.predicted.map(Math.abs), mode: "markers",
        name: "polarisable model's |value| below zero", marker: { symbol: "triangle-down", color: POLARISABLE, size: 7 } });
    }
    if (ip && ip.preferred && Array.isArray(pred.times_s) && Array.isArray(ip.predicted)) {
      // a polarisable model may reverse sign: only its positive part is drawn on the log axis
      const shown = ip.predicted.map(function (v) { return v > 0; });
      const t = pred.times_s.filter(function (_, i) { return shown[i]; });
      const g = ip.predicted.filter(function (_, i) { return shown[i]; });
      const name = "polarisable (Cole–Cole) model, χ " + Number(ip.misfit.chi).toPrecision(3);
      const line = { color: POLARISABLE, width: 2, dash: "dashdot" };
      dataTraces.push({ x: t, y: g, mode: "lines", name: name, line: line });
      if (area) {
        rhoTraces.push({ x: t, y: lateTimeRho(t, g, area), mode: "lines", name: name, line: line });
      }
    }
    const dataLayout = layout("TEM data: −dBz/dt per ampere", "−dBz/dt per A (V/(A·m²))");
    // the data and the model decide the axis (a decade either side), not the noise gates' bars
    const values = [].concat(...dataTraces.map(function (t) { return t.y; }))
      .filter(function (v) { return v > 0 && isFinite(v); });
    if (values.length) {
      dataLayout.yaxis.range = [Math.log10(Math.min(...values)) - 1, Math.log10(Math.max(...values)) + 1];
    }
    draw(dataDiv, dataTraces, dataLayout);
    return draw(rhoDiv, rhoTraces, layout("Late-time apparent resistivity", "late-time ρa (Ω·m)"));
  }

  return { isTem: isTem, lateTimeRho: lateTimeRho, fittedGates: fittedGates, temPlots: temPlots };
})();
