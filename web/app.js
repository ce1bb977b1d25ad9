// agentvp relying-party demo page. Plain JS, no build step, no inline anything (CSP).
// Talks only to this verifier's /demo/api/... endpoints (demo mode); never holds an API key.
"use strict";

(() => {
  const API = "/demo/api";
  const SAME_DEVICE_KEY = "agentvp.demo.same-device";
  const AGENT_ACTION_TD = "https://agentvp.example/td/agent_action/1";
  const FINAL = new Set(["verified", "rejected", "expired", "error"]);
  const PROGRESS = { pending: 0, request_retrieved: 1 };
  const { $, el, api, problem } = window.agentvpCommon;
  // The W3C Digital Credentials API (navigator.credentials.get({digital})): feature detection.
  const DC_API = typeof window.DigitalCredential === "function" &&
    Boolean(navigator.credentials) && typeof navigator.credentials.get === "function";

  let presets = [];
  let choice = null; // preset name or "custom"
  let session = null;
  let validateTimer = null;

  // ------------------------------------------------------------------ choosing

  function renderChoices() {
    const box = $("choices");
    box.querySelectorAll(".choice, #choices-loading").forEach((n) => n.remove());
    const options = presets.map((p) => ({ value: p.name, title: titleFor(p.name), text: p.description }));
    options.push({ value: "custom", title: "Custom DCQL query", text: "Write your own query; it is checked as you type." });
    options.forEach((opt, index) => {
      const label = el("label", "choice");
      const input = el("input");
      input.type = "radio";
      input.name = "choice";
      input.value = opt.value;
      input.id = `choice-${opt.value}`;
      input.checked = index === 0;
      input.addEventListener("change", () => select(opt.value));
      const body = el("span", "choice-body");
      body.append(el("span", "choice-title", opt.title), el("span", "choice-text", opt.text));
      label.append(input, body);
      box.append(label);
    });
    select(options[0].value);
    $("start").disabled = false;
  }

  function titleFor(name) {
    if (name === "identity") return "Verified identity";
    if (name === "agent_mandate") return "Agent mandate";
    return name.replace(/[_-]+/g, " ").replace(/^./, (c) => c.toUpperCase());
  }

  function select(value) {
    choice = value;
    const custom = value === "custom";
    $("custom").hidden = !custom;
    if (custom && !$("dcql").value.trim()) resetEditor();
    if (custom) scheduleValidation(0);
    $("action").hidden = !queryHasMandate(currentQuery());
    clearStartError();
  }

  function resetEditor() {
    const example = presets.find((p) => p.name === "identity") || presets[0];
    const query = example ? example.dcql_query : { credentials: [] };
    $("dcql").value = JSON.stringify(query, null, 2);
    scheduleValidation(0);
  }

  function currentQuery() {
    if (choice === "custom") {
      try {
        return JSON.parse($("dcql").value);
      } catch (_) {
        return null;
      }
    }
    const preset = presets.find((p) => p.name === choice);
    return preset ? preset.dcql_query : null;
  }

  function mandateQueryId(query) {
    const creds = (query && Array.isArray(query.credentials)) ? query.credentials : [];
    const found = creds.find((c) => c && c.meta && Array.isArray(c.meta.vct_values) &&
      c.meta.vct_values.some((v) => String(v).includes("agent_mandate")));
    return found ? found.id : null;
  }

  const queryHasMandate = (query) => mandateQueryId(query) !== null;

  function transactionData() {
    const query = currentQuery();
    const queryId = mandateQueryId(query);
    if (!queryId || !$("action-on").checked) return [];
    const cents = Math.round(Number($("action-amount").value) * 100);
    const [id, name, domain] = $("action-payee").value.split("|");
    const order = `ord-${Date.now().toString(36)}`;
    return [{
      type: AGENT_ACTION_TD,
      credential_ids: [queryId],
      transaction_data_hashes_alg: ["sha-256"],
      payload: {
        action: "payment.initiate",
        transaction_id: order,
        payee: { id, name, domain },
        category: { scheme: "iso18245", code: domain.startsWith("tickets") ? "7922" : "5942" },
        payment_amount: { amount: Number.isFinite(cents) ? cents : 0, currency: "EUR" },
      },
    }];
  }

  function requestBody() {
    const body = {};
    if (choice === "custom") {
      body.dcql_query = JSON.parse($("dcql").value); // caller handles SyntaxError
    } else {
      body.profile = choice;
    }
    const td = transactionData();
    if (td.length) body.transaction_data = td;
    if (DC_API) {
      const [signed, mode] = $("dc-api-mode").value.split("|");
      Object.assign(body, { dc_api: true, dc_api_signed: signed === "signed", dc_api_response_mode: mode });
    }
    return body;
  }

  // ------------------------------------------------------------------ validation

  function feedback(kind, text) {
    const box = $("dcql-feedback");
    box.dataset.kind = kind;
    box.textContent = text;
    $("dcql").setAttribute("aria-invalid", kind === "error" ? "true" : "false");
  }

  function scheduleValidation(delay = 350) {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validateEditor, delay);
  }

  async function validateEditor() {
    if (choice !== "custom") return true;
    let query;
    try {
      query = JSON.parse($("dcql").value);
    } catch (err) {
      feedback("error", `JSON syntax: ${err.message}`);
      return false;
    }
    $("action").hidden = !queryHasMandate(query);
    const res = await api(`${API}/validate`, { json: { dcql_query: query } });
    if (res.ok) {
      feedback("ok", "Valid DCQL query");
      return true;
    }
    feedback("error", problem(res));
    return false;
  }

  function clearStartError() {
    $("start-error").hidden = true;
    $("start-error").textContent = "";
  }

  function startError(text) {
    $("start-error").textContent = text;
    $("start-error").hidden = false;
  }

  // ------------------------------------------------------------------ starting

  async function start() {
    clearStartError();
    let body;
    try {
      body = requestBody();
    } catch (err) {
      feedback("error", `JSON syntax: ${err.message}`);
      return;
    }
    $("start").disabled = true;
    try {
      const res = await api(`${API}/presentations`, { json: body });
      if (!res.ok) {
        if (choice === "custom") feedback("error", problem(res));
        else startError(problem(res));
        return;
      }
      await begin(res.body.cross_device, res.body.same_device, body.transaction_data || [], res.body.dc_api);
    } catch (err) {
      startError(`Could not reach the verifier: ${err.message}`);
    } finally {
      $("start").disabled = false;
    }
  }

  async function begin(cross, same, actions, dc) {
    stopSession();
    session = {
      cross,
      same,
      dc: dc || null,
      actions,
      statuses: { [cross.id]: cross.status, [same.id]: same.status },
      sources: [],
      timers: [],
      done: false,
      offset: cross.server_time - Date.now() / 1000,
      lifetime: Math.max(cross.expires_at - cross.server_time, 1),
    };
    localStorage.setItem(SAME_DEVICE_KEY, JSON.stringify({ id: same.id, actions }));
    $("idle").hidden = true;
    $("result").hidden = true;
    $("session").hidden = false;
    $("session").classList.remove("done");
    $("qr-frame").hidden = false;
    $("qr-overlay").hidden = true;
    $("qr-caption").hidden = false;
    $("same-device").hidden = false;
    $("same-device").href = same.authorization_request_uri;
    $("dc-api").hidden = !session.dc;
    $("dc-api").disabled = false;
    const publicOrigin = new URL(same.request_uri).origin;
    $("origin-hint").hidden = publicOrigin === location.origin;
    $("origin-hint").textContent = `The wallet returns you to ${publicOrigin}/ (the verifier's public URL); open this page there for the same-device flow.`;
    $("qr").dataset.uri = cross.authorization_request_uri;
    $("expiry").hidden = false;
    $("restart").hidden = true;
    showProgress("pending");
    await renderQr(cross.qr_svg_uri);
    tick();
    session.timers.push(setInterval(tick, 500));
    follow(cross);
    follow(same);
  }

  async function renderQr(uri) {
    const response = await fetch(uri, { cache: "no-store" });
    const text = await response.text();
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = doc.documentElement;
    if (!response.ok || svg.nodeName.toLowerCase() !== "svg") {
      $("qr").replaceChildren(el("p", "form-error", "QR code unavailable"));
      return;
    }
    svg.setAttribute("focusable", "false");
    svg.setAttribute("aria-hidden", "true");
    $("qr").replaceChildren(document.importNode(svg, true));
    sizeQr();
  }

  // Whole device pixels per module: no seams between rows, sharp edges at any zoom.
  function sizeQr() {
    const svg = $("qr").querySelector("svg");
    if (!svg) return;
    const modules = Number((svg.getAttribute("viewBox") || "").split(/\s+/)[2]) || 0;
    const room = $("qr").clientWidth;
    if (!modules || !room) return;
    const ratio = window.devicePixelRatio || 1;
    const perModule = Math.max(1, Math.floor((room * ratio) / modules));
    const size = (perModule * modules) / ratio;
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
  }

  function stopSession() {
    if (!session) return;
    session.done = true;
    session.sources.forEach((s) => s.close());
    session.timers.forEach((t) => { clearInterval(t); clearTimeout(t); });
    session.sources = [];
    session.timers = [];
  }

  // ------------------------------------------------------------------ countdown

  function tick() {
    if (!session || session.done) return;
    const now = Date.now() / 1000 + session.offset;
    const left = Math.max(0, Math.ceil(session.cross.expires_at - now));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    $("countdown").textContent = `${minutes}:${seconds}`;
    $("countdown").classList.toggle("urgent", left <= 30);
    $("countdown-bar").value = Math.min(1, left / session.lifetime);
    if (now > session.cross.expires_at + 3) pollOnce(session.cross); // the stream should have said
  }

  // ------------------------------------------------------------------ live status

  function follow(view) {
    if (!("EventSource" in window)) {
      poll(view);
      return;
    }
    const source = new EventSource(view.events_uri);
    session.sources.push(source);
    source.addEventListener("status", (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      onStatus(view, data.status);
    });
    source.addEventListener("error", () => {
      // Stream broke (proxy, network): fall back to polling for this transaction.
      source.close();
      if (session && !session.done && !FINAL.has(session.statuses[view.id])) poll(view);
    });
  }

  function poll(view) {
    const timer = setInterval(async () => {
      if (await pollOnce(view)) clearInterval(timer);
    }, 1000);
    session.timers.push(timer);
    pollOnce(view);
  }

  // One status read; true once this transaction is final (nothing more to learn).
  async function pollOnce(view) {
    const current = session;
    const res = await api(view.status_uri);
    if (current !== session || !res.ok) return current !== session;
    onStatus(view, res.body.status, res.body);
    return FINAL.has(res.body.status);
  }

  async function onStatus(view, status, full) {
    const current = session;
    if (!current || current.done || !(view.id in current.statuses)) return;
    current.statuses[view.id] = status;
    if (!FINAL.has(status)) {
      const furthest = Object.values(current.statuses)
        .filter((s) => s in PROGRESS)
        .sort((a, b) => PROGRESS[b] - PROGRESS[a])[0];
      showProgress(furthest || "pending");
      return;
    }
    if (view.flow === "same_device" && status !== "expired") {
      showProgress("request_retrieved", "wallet answered on this device; returning…");
      return;
    }
    let result = full;
    if (!result || !("result" in result || "error" in result)) {
      const res = await api(view.status_uri);
      if (!res.ok) return;
      result = res.body;
    }
    if (current === session) finish(result);
  }

  function showProgress(step, text) {
    const labels = { pending: "waiting for wallet", request_retrieved: "wallet opened the request" };
    setStatus(step, text || labels[step]);
    const order = ["pending", "request_retrieved", "final"];
    const at = order.indexOf(step);
    $("steps").querySelectorAll("li").forEach((li) => {
      const index = order.indexOf(li.dataset.step);
      li.classList.toggle("done", index < at);
      li.classList.toggle("current", index === at);
      li.classList.remove("ok", "bad");
    });
  }

  function setStatus(state, text) {
    const status = $("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  function outcome(view) {
    const error = view.error || {};
    if (view.status === "verified") return ["verified", "verified"];
    if (view.status === "expired") return ["expired", "expired"];
    if (view.status === "error" && error.code === "access_denied") return ["declined", "declined"];
    if (view.status === "rejected") return ["rejected", `rejected: ${error.detail || error.code || "unknown reason"}`];
    return ["error", `error: ${error.code || "unknown"}${error.detail ? ` (${error.detail})` : ""}`];
  }

  function finish(view, actions = (session && session.actions) || []) {
    stopSession();
    const [state, text] = outcome(view);
    $("session").hidden = false;
    $("idle").hidden = true;
    $("session").classList.add("done");
    setStatus(state, text);
    const opened = state !== "expired" || (session && Object.values(session.statuses).includes("request_retrieved"));
    $("steps").querySelectorAll("li").forEach((li) => {
      li.classList.remove("current");
      li.classList.toggle("done", li.dataset.step !== "request_retrieved" || Boolean(opened));
      if (li.dataset.step === "final") {
        li.classList.add(state === "verified" ? "ok" : "bad");
        li.textContent = text.charAt(0).toUpperCase() + text.slice(1);
      }
    });
    // The mark covers the QR code it answers; without one (a same-device return in a fresh
    // page) there is no frame to show, and the status line says it all.
    const hasQr = Boolean($("qr").querySelector("svg"));
    $("qr-frame").hidden = !hasQr;
    const overlay = $("qr-overlay");
    overlay.hidden = !hasQr;
    overlay.dataset.state = state;
    overlay.textContent = state === "verified" ? "✓" : state === "expired" ? "" : "✕";
    $("same-device").hidden = true;
    $("dc-api").hidden = true;
    $("origin-hint").hidden = true;
    $("qr-caption").hidden = true;
    $("expiry").hidden = true;
    $("restart").hidden = false;
    if (view.flow === "same_device") localStorage.removeItem(SAME_DEVICE_KEY);
    if (state === "verified" && view.result) {
      renderResult(view, actions);
      $("result").scrollIntoView({ block: "start" });
    }
  }

  // ------------------------------------------------------------------ Digital Credentials API

  // The browser asks the person which wallet to use and hands it the request with this page's
  // origin; the wallet's answer comes back here and goes to the verifier to be checked.
  async function useDigitalCredential() {
    const current = session;
    if (!current || current.done || !current.dc) return;
    const dc = current.dc;
    $("dc-api").disabled = true;
    setStatus("request_retrieved", "waiting for the wallet you choose in the browser…");
    let credential;
    try {
      credential = await navigator.credentials.get({ digital: { requests: [dc.dc_api_request] } });
    } catch (err) {
      if (current !== session || current.done) return;
      $("dc-api").disabled = false;
      showProgress("pending", `no wallet answered (${err.name}); try again or scan the QR code`);
      return;
    }
    if (current !== session || current.done || !credential) return;
    const data = typeof credential.data === "string" ? JSON.parse(credential.data) : credential.data;
    setStatus("request_retrieved", "checking the wallet's answer…");
    const res = await api(`${API}/presentations/${encodeURIComponent(dc.id)}/dc-response`, {
      json: { protocol: credential.protocol, data },
    });
    if (current !== session || current.done) return;
    if (!res.ok) {
      $("dc-api").disabled = false;
      setStatus("error", `error: ${problem(res)}`);
      return;
    }
    finish(res.body);
  }

  // ------------------------------------------------------------------ same-device return

  async function handleReturn() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const code = params.get("response_code");
    if (!code) return;
    history.replaceState(null, "", location.pathname + location.search);
    let pending = null;
    try {
      pending = JSON.parse(localStorage.getItem(SAME_DEVICE_KEY) || "null");
    } catch (_) {
      pending = null;
    }
    $("idle").hidden = true;
    $("result").hidden = true;
    $("session").hidden = false;
    $("qr-caption").hidden = true;
    if (!session) $("qr-frame").hidden = true; // a fresh page: no QR code to frame
    if (!pending || !pending.id) {
      setStatus("error", "error: this browser started no same-device request");
      return;
    }
    if (session && session.same.id !== pending.id) stopSession();
    if (session) session.done = true;
    setStatus("request_retrieved", "finishing: reading the result with the response code…");
    const res = await api(`${API}/presentations/${encodeURIComponent(pending.id)}/redeem`, {
      json: { response_code: code },
    });
    if (!res.ok) {
      setStatus("error", `error: ${problem(res)}`);
      return;
    }
    finish(res.body, Array.isArray(pending.actions) ? pending.actions : []);
  }

  // ------------------------------------------------------------------ result card

  function renderResult(view, actions) {
    $("result-body").replaceChildren(window.AgentVPClaims.render(view, actions));
    $("raw").textContent = JSON.stringify(view.result, null, 2);
    $("result").hidden = false;
  }

  // ------------------------------------------------------------------ wiring

  function restart() {
    stopSession();
    session = null;
    $("session").hidden = true;
    $("result").hidden = true;
    $("idle").hidden = false;
    $("qr-caption").hidden = false;
    $("steps").querySelector('[data-step="final"]').textContent = "Result";
    $("start").focus();
  }

  async function init() {
    $("start").addEventListener("click", start);
    $("restart").addEventListener("click", restart);
    $("dc-api").addEventListener("click", useDigitalCredential);
    $("dc-api-options").hidden = !DC_API;
    $("dcql").addEventListener("input", () => scheduleValidation());
    $("dcql-reset").addEventListener("click", resetEditor);
    $("action-on").addEventListener("change", () => {
      $("action-fields").hidden = !$("action-on").checked;
    });
    window.addEventListener("hashchange", handleReturn);
    window.addEventListener("resize", sizeQr);
    const res = await api(`${API}/presets`);
    if (!res.ok) {
      $("choices-loading").textContent = `Demo API unavailable: ${problem(res)}`;
      return;
    }
    presets = res.body.presets || [];
    renderChoices();
    await handleReturn();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
