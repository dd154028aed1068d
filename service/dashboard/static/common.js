/* geobp dashboard: shared helpers (API calls, token, DOM building, formatting, words for flags). */
"use strict";

window.geobp = (function () {
  const body = document.body;
  const API = body.dataset.api;
  const FILES = body.dataset.files;
  const ROOT = body.dataset.root || "";
  const TOKEN_KEY = "geobp.apiToken";

  /** The API token the user typed, kept in this tab's sessionStorage only. */
  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }
  function setToken(token) {
    try {
      if (token) { sessionStorage.setItem(TOKEN_KEY, token); } else { sessionStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage disabled: the token lives only in the input */ }
    showTokenState();
  }
  function showTokenState() {
    const state = document.getElementById("token-state");
    if (state) { state.textContent = getToken() ? "token kept for this tab" : "no token"; }
  }

  /** An Error carrying the API's error code and HTTP status. */
  class ApiFailure extends Error {
    constructor(message, status, code) { super(message); this.status = status; this.code = code; }
  }

  async function readError(response) {
    let message = response.status + " " + response.statusText;
    let code = "http_error";
    try {
      const data = await response.json();
      if (data && data.error) { message = data.error.message || message; code = data.error.code || code; }
    } catch (e) { /* not JSON */ }
    return new ApiFailure(message, response.status, code);
  }

  /** Call the REST API: api("/networks") → parsed JSON. opts: {method, body, auth}. */
  async function api(path, opts) {
    opts = opts || {};
    const headers = { "Accept": "application/json" };
    if (opts.body !== undefined) { headers["Content-Type"] = "application/json"; }
    if (opts.auth) {
      const token = getToken();
      if (!token) {
        throw new ApiFailure("Type the API token at the top of the page first (needed for this action).", 401, "unauthorized");
      }
      headers["Authorization"] = "Bearer " + token;
    }
    const response = await fetch(API + path, {
      method: opts.method || "GET",
      headers: headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    if (!response.ok) { throw await readError(response); }
    if (response.status === 204) { return null; }
    return response.json();
  }

  /** POST to a dashboard helper endpoint; returns the Response (checked). */
  async function postFile(path, init) {
    const response = await fetch(FILES + path, Object.assign({ method: "POST" }, init));
    if (!response.ok) { throw await readError(response); }
    return response;
  }

  function showAlert(message, kind) {
    const box = document.getElementById("alert");
    box.textContent = message;
    box.className = "alert " + (kind || "error");
    box.hidden = false;
  }
  function clearAlert() {
    const box = document.getElementById("alert");
    box.hidden = true;
    box.textContent = "";
  }

  /** el("td", {class: "num"}, "text", childNode…): build DOM without innerHTML. */
  function el(tag, attrs) {
    const node = document.createElement(tag);
    const props = attrs || {};
    for (const key of Object.keys(props)) {
      const value = props[key];
      if (value === undefined || value === null || value === false) { continue; }
      if (key === "class") { node.className = value; }
      else if (key === "text") { node.textContent = value; }
      else if (key.startsWith("on")) { node.addEventListener(key.slice(2), value); }
      else { node.setAttribute(key, value === true ? "" : value); }
    }
    for (let i = 2; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === undefined || child === null || child === false) { continue; }
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fmt(value, digits) {
    if (value === undefined || value === null || value === "") { return "–"; }
    if (typeof value !== "number") { return String(value); }
    if (!isFinite(value)) { return String(value); }
    if (Number.isInteger(value) && Math.abs(value) < 1e6) { return String(value); }
    const d = digits || 3;
    const a = Math.abs(value);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) { return value.toExponential(d - 1); }
    return Number(value.toPrecision(d)).toString();
  }
  function fmtDate(iso) {
    if (!iso) { return "–"; }
    const d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }
  function pct(fraction) {
    return (typeof fraction === "number") ? Math.round(fraction * 100) + " %" : "–";
  }

  /** Words for a misfit: {level: ok|warn|bad, text}. Uses chi (noise-normalised) when present. */
  function misfitWords(misfit) {
    misfit = misfit || {};
    const chi = misfit.chi;
    const rms = misfit.rms_percent;
    const parts = [];
    if (typeof rms === "number") { parts.push("RMS " + fmt(rms, 3) + " %"); }
    if (typeof chi === "number") { parts.push("χ " + fmt(chi, 3)); }
    let level = "neutral";
    let word = "misfit not reported";
    if (typeof chi === "number") {
      if (chi <= 1.2) { level = "ok"; word = "good fit (within the noise)"; }
      else if (chi <= 2.5) { level = "warn"; word = "fair fit (above the noise)"; }
      else { level = "bad"; word = "poor fit (well above the noise)"; }
    } else if (typeof rms === "number") {
      if (rms <= 5) { level = "ok"; word = "good fit"; }
      else if (rms <= 15) { level = "warn"; word = "fair fit"; }
      else { level = "bad"; word = "poor fit"; }
    }
    return { level: level, word: word, text: word + (parts.length ? " — " + parts.join(", ") : "") };
  }

  function badge(level, text) { return el("span", { class: "badge " + level }, text); }

  function domainBadge(inDomain) {
    if (inDomain === true) { return badge("ok", "✓ inside the training domain"); }
    if (inDomain === false) { return badge("bad", "⚠ outside the training domain — treat with caution"); }
    return badge("neutral", "domain check not reported");
  }

  const STATUS_LEVEL = { queued: "neutral", running: "warn", succeeded: "ok", failed: "bad", cancelled: "neutral" };
  function statusBadge(status) {
    const icon = { queued: "… ", running: "▶ ", succeeded: "✓ ", failed: "✗ ", cancelled: "■ " }[status] || "";
    return badge(STATUS_LEVEL[status] || "neutral", icon + status);
  }

  /** Save a Blob as a file. */
  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 2000);
  }

  /** Pick the network an alias-less name resolves to: production, else latest, else newest. */
  function preferredVersions(networks) {
    const byName = new Map();
    for (const net of networks) {
      const list = byName.get(net.name) || [];
      list.push(net);
      byName.set(net.name, list);
    }
    const out = [];
    for (const list of byName.values()) {
      const pick = list.find(n => (n.aliases || []).includes("production"))
        || list.find(n => (n.aliases || []).includes("latest"))
        || list.slice().sort((a, b) => b.version - a.version)[0];
      out.push(pick);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The registry networks that POST /networks/{id}/invert takes: served versions (forward
   *  model with served: true) are inverted through POST /invert instead. */
  function registryNetworks(networks) {
    return networks.filter(n => !(n.forward_model || {}).served);
  }

  function networkLabel(net) {
    const fm = net.forward_model || {};
    const aliases = (net.aliases || []).length ? " [" + net.aliases.join(", ") + "]" : "";
    return net.name + " v" + net.version + aliases + " — " + (fm.name || "?") + ", " + (fm.n_layers || "?") + " layers";
  }

  function setupTokenForm() {
    const form = document.getElementById("token-form");
    const input = document.getElementById("token-input");
    if (!form) { return; }
    input.value = getToken();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      setToken(input.value.trim());
    });
    document.getElementById("token-forget").addEventListener("click", function () {
      input.value = "";
      setToken("");
    });
    showTokenState();
  }
  setupTokenForm();

  return {
    API: API, ROOT: ROOT, api: api, postFile: postFile, ApiFailure: ApiFailure,
    getToken: getToken, setToken: setToken, showAlert: showAlert, clearAlert: clearAlert,
    el: el, fmt: fmt, fmtDate: fmtDate, pct: pct, misfitWords: misfitWords, badge: badge,
    domainBadge: domainBadge, statusBadge: statusBadge, saveBlob: saveBlob,
    preferredVersions: preferredVersions, networkLabel: networkLabel,
    registryNetworks: registryNetworks,
  };
})();
