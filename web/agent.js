// agentvp demo page, agent checkout. Plain JS, no build step, no inline anything (CSP).
// Talks only to this verifier's /demo/api/agent-checkouts endpoints (demo mode).
"use strict";

(() => {
  const API = "/demo/api/agent-checkouts";
  const POLL_MS = 800;
  const { $, el, api, problem } = window.agentvpCommon;
  const FINAL_TX = new Set(["verified", "rejected", "expired", "error"]);
  // The W3C Digital Credentials API (navigator.credentials.get({digital})): feature detection.
  const DC_API = typeof window.DigitalCredential === "function" &&
    Boolean(navigator.credentials) && typeof navigator.credentials.get === "function";
  let current = null;
  let timer = null;

  function prefill() {
    const params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
    const jti = params.get("mandate_jti");
    if (jti) $("mandate-jti").value = jti;
  }

  async function loadPolicies() {
    const select = $("policy");
    const res = await api(`${API}/policies`);
    select.replaceChildren();
    const items = (res.ok && res.body && res.body.policies) || [];
    if (!items.length) {
      select.append(el("option", null, "No agent policy configured"));
      $("start").disabled = true;
      return;
    }
    items.forEach((p) => {
      const option = el("option", null, p.payee_domain ? `${p.name} (${p.payee_domain})` : p.name);
      option.value = p.name;
      select.append(option);
    });
  }

  function minorUnits(text) {
    const match = /^(\d{1,7})(?:[.,](\d{1,2}))?$/.exec(text.trim());
    if (!match) return null;
    return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
  }

  function orderId() {
    const bytes = new Uint8Array(4);
    crypto.getRandomValues(bytes);
    return "ord-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function showError(text) {
    const box = $("start-error");
    box.textContent = text;
    box.hidden = !text;
  }

  async function start(event) {
    event.preventDefault();
    showError("");
    const amount = minorUnits($("amount").value);
    const jti = $("mandate-jti").value.trim();
    if (amount === null || amount <= 0) return showError("Enter an amount such as 129.90.");
    if (!jti) return showError("Enter the agent's mandate jti (wallet-sim list shows it).");
    const [id, name, domain] = $("payee").value.split("|");
    const action = {
      action: "payment.initiate",
      transaction_id: orderId(),
      payee: { id, name, domain },
      payment_amount: { amount, currency: "EUR" },
      mandate_jti: jti,
    };
    $("start").disabled = true;
    const res = await api(API, { json: { policy: $("policy").value || null, action } });
    $("start").disabled = false;
    if (!res.ok) return showError(problem(res));
    current = res.body;
    $("idle").hidden = true;
    $("session").hidden = false;
    $("result").hidden = true;
    $("step-up").hidden = true;
    $("qr").replaceChildren();
    render(current);
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, POLL_MS);
  }

  async function poll() {
    if (!current) return;
    const res = await api(`${API}/${encodeURIComponent(current.id)}`);
    if (res.ok) {
      current = res.body;
      render(current);
    }
    if (!current || current.decision === "pending") schedule();
  }

  function mark(step, state) {
    const item = document.querySelector(`#steps [data-step="${step}"]`);
    if (!item) return;
    ["current", "done", "ok", "bad"].forEach((c) => item.classList.toggle(c, c === state));
  }

  function render(view) {
    $("agent-command").textContent = view.agent_request.command;
    const agentDone = FINAL_TX.has(view.agent_request.status);
    mark("agent", agentDone ? "done" : "current");
    const human = view.human_request;
    if (human) {
      mark("human", FINAL_TX.has(human.status) ? "done" : "current");
      if ($("step-up").hidden && !FINAL_TX.has(human.status) && human.flow !== "dc_api") {
        const img = el("img");
        img.src = human.qr_svg_uri;
        img.alt = "";
        img.width = 260;
        img.height = 260;
        $("qr").replaceChildren(img);
        $("human-link").href = human.authorization_request_uri;
        $("human-dc-api").hidden = !DC_API;
        $("human-dc-api").disabled = false;
        $("step-up").hidden = false;
      }
      $("human-qr-block").hidden = human.flow === "dc_api";
      if (FINAL_TX.has(human.status)) $("step-up").hidden = true;
    }
    const status = $("status");
    if (view.decision === "pending") {
      status.dataset.state = "pending";
      const personDue = human && !FINAL_TX.has(human.status);
      if (!agentDone) status.textContent = personDue ? "waiting for the agent and the person" : "waiting for the agent";
      else status.textContent = personDue ? "waiting for the person to confirm" : "deciding";
      return;
    }
    $("step-up").hidden = true;
    mark("final", view.decision === "allow" ? "ok" : "bad");
    status.dataset.state = view.decision === "allow" ? "verified" : "rejected";
    status.textContent = view.decision === "allow" ? "allowed" : "denied";
    renderDecision(view);
  }

  function fact(list, key, value) {
    if (value === undefined || value === null || value === "") return;
    const row = el("div", "kv-row");
    row.append(el("dt", null, key), el("dd", null, value));
    list.append(row);
  }

  function renderDecision(view) {
    const decision = $("decision");
    decision.dataset.state = view.decision === "allow" ? "verified" : "rejected";
    decision.textContent = view.decision === "allow" ? "Allow: the agent may pay" : "Deny";
    const reasons = $("reasons");
    reasons.replaceChildren();
    (view.details || []).forEach((r) => {
      const item = el("li");
      item.dataset.code = r.code;
      item.append(el("code", null, r.code), document.createTextNode(`: ${r.detail}`));
      reasons.append(item);
    });
    const facts = $("facts");
    facts.replaceChildren();
    const amount = view.action.payment_amount || {};
    fact(facts, "Order", view.action.transaction_id);
    fact(facts, "Amount", amount.amount !== undefined ? `${(amount.amount / 100).toFixed(2)} ${amount.currency}` : null);
    fact(facts, "Payee", view.action.payee && view.action.payee.name);
    fact(facts, "Policy", view.policy);
    fact(facts, "Mandate", view.mandate && view.mandate.jti);
    fact(facts, "Agent", view.agent && view.agent.id);
    const claims = (view.identity && view.identity.claims) || null;
    const person = claims && ((claims.verified_claims && claims.verified_claims.claims) || claims);
    if (person) fact(facts, "Confirmed by", [person.given_name, person.family_name].filter(Boolean).join(" "));
    $("receipt").textContent = view.receipt || "";
    $("result").hidden = false;
  }

  // The person confirms with a wallet the browser offers: the step-up moves from the QR code to
  // the Digital Credentials API (only while no wallet has opened the QR request), the browser
  // hands the request and this page's origin to the wallet, and its answer goes to the verifier.
  async function confirmInBrowser() {
    const checkout = current;
    if (!checkout) return;
    const base = `${API}/${encodeURIComponent(checkout.id)}`;
    const note = (text) => {
      $("human-dc-status").textContent = text;
      $("human-dc-status").hidden = !text;
    };
    $("human-dc-api").disabled = true;
    const switched = await api(`${base}/human-dc-api`, { json: {} });
    if (!switched.ok) {
      $("human-dc-api").disabled = false;
      return note(`The browser's wallet cannot be used: ${problem(switched)}`);
    }
    $("human-qr-block").hidden = true;
    note("Waiting for the wallet chosen in the browser…");
    let credential;
    try {
      credential = await navigator.credentials.get({ digital: { requests: [switched.body.dc_api_request] } });
    } catch (err) {
      return note(`No wallet answered (${err.name}); the checkout expires unanswered.`);
    }
    const data = typeof credential.data === "string" ? JSON.parse(credential.data) : credential.data;
    const res = await api(`${base}/human-dc-response`, { json: { protocol: credential.protocol, data } });
    if (!res.ok) return note(`error: ${problem(res)}`);
    note("");
    if (current && current.id === checkout.id) {
      current = res.body;
      render(current);
    }
  }

  async function copyCommand() {
    try {
      await navigator.clipboard.writeText($("agent-command").textContent);
      $("copy-command").textContent = "Copied";
    } catch (_) {
      $("copy-command").textContent = "Select the text to copy";
    }
  }

  function restart() {
    clearTimeout(timer);
    current = null;
    $("session").hidden = true;
    $("result").hidden = true;
    $("idle").hidden = false;
    document.querySelectorAll("#steps li").forEach((li) => li.classList.remove("current", "done", "ok", "bad"));
    $("status").dataset.state = "idle";
    $("copy-command").textContent = "Copy command";
    $("human-qr-block").hidden = false;
    $("human-dc-status").hidden = true;
  }

  document.addEventListener("DOMContentLoaded", () => {
    prefill();
    loadPolicies();
    $("checkout").addEventListener("submit", start);
    $("copy-command").addEventListener("click", copyCommand);
    $("human-dc-api").addEventListener("click", confirmInBrowser);
    $("restart").addEventListener("click", restart);
  });
  // AP2 checkout: a challenge for the agent, then the decision of the verification using it.
  const AP2 = "/demo/api/ap2-checkouts";
  let ap2Timer = null;

  function ap2Show(view) {
    const status = $("ap2-status");
    if (view.status !== "decided") {
      status.textContent = "Waiting for the agent's mandate chain…";
      status.dataset.state = "waiting";
      return false;
    }
    status.textContent = `Decision: ${view.decision} (${view.mode || "?"} mode, ${view.vct || "no mandate"})`;
    status.dataset.state = view.decision === "accept" ? "success" : "error";
    $("ap2-reasons").replaceChildren(
      ...(view.reasons || []).map((r) => el("li", null, `${r.code}: ${r.detail}`)));
    $("ap2-receipt").textContent = view.receipt || "";
    $("ap2-receipt-box").hidden = !view.receipt;
    return true;
  }

  async function ap2Poll(id) {
    const res = await api(`${AP2}/${encodeURIComponent(id)}`);
    if (!res.ok) { $("ap2-status").textContent = problem(res); return; }
    if (!ap2Show(res.body)) ap2Timer = setTimeout(() => ap2Poll(id), POLL_MS);
  }

  async function ap2Start() {
    clearTimeout(ap2Timer);
    const res = await api(AP2, { method: "POST", json: {} });
    if (!res.ok) { $("ap2-status").textContent = problem(res); return; }
    $("ap2-command").textContent = res.body.command;
    $("ap2-command").hidden = false;
    $("ap2-reasons").replaceChildren();
    $("ap2-receipt-box").hidden = true;
    ap2Poll(res.body.id);
  }

  $("ap2-start").addEventListener("click", ap2Start);
})();
