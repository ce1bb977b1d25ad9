// agentvp wallet simulator page. Plain JS, no build step, no inline anything (CSP).
// The wallet server resolves and verifies requests and holds the keys; this page only shows
// what it found and sends the user's decision.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const KINDS = { identity: "Verified identity", mandate: "Agent mandate" };

  let current = null; // the request view from the server

  async function call(path, options = {}) {
    const response = await fetch(path, { cache: "no-store", ...options });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    return { ok: response.ok, status: response.status, body };
  }

  const problem = (res) =>
    (res.body && (res.body.error_description || res.body.error)) || `HTTP ${res.status}`;

  function show(section) {
    ["scan", "consent", "done"].forEach((id) => { $(id).hidden = id !== section; });
    window.scrollTo(0, 0);
  }

  function busy(on, text = "Checking the request…") {
    $("busy").hidden = !on;
    $("busy").textContent = text;
    $("open").disabled = on;
  }

  function scanError(title, text, stage) {
    $("scan-error-title").textContent = title;
    $("scan-error-text").textContent = text;
    $("scan-error-hint").hidden = stage !== "verifier";
    $("scan-error").hidden = false;
  }

  // ------------------------------------------------------------------ opening a request

  async function open(body, contentType) {
    $("scan-error").hidden = true;
    busy(true);
    try {
      const res = await call("/api/requests", {
        method: "POST",
        headers: { "Content-Type": contentType, Accept: "application/json" },
        body,
      });
      if (!res.ok) {
        const stage = res.body && res.body.stage;
        const title = stage === "verifier" ? "Untrusted verifier: request refused"
          : stage === "scan" ? "No request found in the image"
            : "Could not open the request";
        scanError(title, problem(res), stage);
        return;
      }
      renderConsent(res.body);
    } catch (err) {
      scanError("Could not reach the wallet", err.message);
    } finally {
      busy(false);
    }
  }

  function openUri(text) {
    const uri = text.trim();
    if (!uri) {
      scanError("Nothing to open", "Paste an openid4vp:// link first.");
      return;
    }
    open(JSON.stringify({ uri }), "application/json");
  }

  function openImage(file) {
    if (!file) return;
    if (!["image/png", "image/jpeg"].includes(file.type)) {
      scanError("Unsupported file", `Use a PNG or JPEG image (got ${file.type || "unknown type"}).`);
      return;
    }
    open(file, file.type);
  }

  // ------------------------------------------------------------------ consent screen

  function renderConsent(view) {
    current = view;
    const v = view.verifier;
    $("who-subject").textContent = v.subject || v.client_id;
    $("who-host").textContent = `answers go to ${v.response_host}`;
    const trust = $("who-trust");
    trust.dataset.trusted = v.trusted ? "yes" : "no";
    trust.textContent = v.trusted ? "Trusted verifier" : "Not authenticated";
    $("who-client").textContent = v.client_id;
    $("who-issuer").textContent = v.issuer || "unsigned request (development only)";
    $("who-mode").textContent = v.response_mode === "direct_post.jwt"
      ? "encrypted to the verifier (direct_post.jwt)" : "not encrypted (direct_post)";

    const actions = $("actions");
    actions.replaceChildren();
    view.actions.forEach((action) => actions.append(actionItem(action)));
    $("why").hidden = view.actions.length === 0;

    $("problem").hidden = view.can_comply;
    $("problem-text").textContent = view.problem || "";
    $("approve").hidden = !view.can_comply;
    $("what-title").hidden = !view.can_comply;

    const queries = $("queries");
    queries.replaceChildren();
    view.queries.forEach((q) => queries.append(queryCard(q)));
    if (view.wants_id_token) {
      queries.append(el("p", "note", "The verifier also asks for a self-issued ID token (a pseudonymous identifier bound to your key)."));
    }
    show("consent");
    $("approve").disabled = false;
    $("decline").disabled = false;
    $(view.can_comply ? "approve" : "decline").focus();
  }

  function actionItem(action) {
    const li = el("li", "action");
    li.append(el("strong", "action-text", action.text));
    const p = action.payload || {};
    const facts = [];
    if (p.payee && p.payee.domain) facts.push(`payee ${p.payee.domain}`);
    if (p.category) facts.push(`category ${p.category.scheme} ${p.category.code}`);
    if (p.mandate_jti) facts.push(`mandate ${p.mandate_jti}`);
    if (facts.length) li.append(el("span", "muted small", facts.join(" · ")));
    return li;
  }

  function queryCard(q) {
    const card = el("article", q.optional ? "query optional" : "query");
    const head = el("div", "query-head");
    const title = el("div", "query-title");
    title.append(el("strong", null, KINDS[q.kind] || q.kind || q.vct), el("span", "muted small", `from ${q.issuer}`));
    head.append(title);
    if (q.optional) {
      const label = el("label", "toggle");
      const box = el("input");
      box.type = "checkbox";
      box.value = q.query_id;
      box.className = "share-optional";
      box.id = `share-${q.query_id}`;
      box.checked = false;
      label.append(box, el("span", null, "Optional: share"));
      head.append(label);
    } else {
      head.append(el("span", "pill", "Required"));
    }
    card.append(head);

    const requested = el("div", "section");
    requested.append(el("span", "section-title", "The verifier asks for"));
    const list = el("ul", "paths");
    q.requested.forEach((path) => list.append(el("li", "mono small", path)));
    if (!q.requested.length) list.append(el("li", "muted small", "the credential itself"));
    requested.append(list);
    card.append(requested);

    const disclosed = el("div", "section");
    disclosed.append(el("span", "section-title", "Revealed from your credential"));
    const dl = el("dl", "disclosed");
    q.disclosed.forEach((d) => {
      const row = el("div");
      row.append(el("dt", null, d.name), el("dd", null, d.value));
      dl.append(row);
    });
    if (!q.disclosed.length) dl.append(el("p", "muted small", "No selectively disclosable claims; only what is always visible in the credential."));
    disclosed.append(dl);
    card.append(disclosed);
    return card;
  }

  async function decide(action) {
    if (!current) return;
    $("approve").disabled = true;
    $("decline").disabled = true;
    const share = [...document.querySelectorAll(".share-optional:checked")].map((b) => b.value);
    const res = await call(`/api/requests/${encodeURIComponent(current.id)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ share_optional: share }),
    });
    const who = current.verifier.subject || current.verifier.client_id;
    current = null;
    if (!res.ok) {
      finished("failed", "Could not answer", problem(res), null);
      return;
    }
    if (res.body.status === "submitted") {
      finished("shared", "Shared", `Your presentation was sent to ${who}.`, res.body.redirect_uri);
    } else {
      finished("declined", "Declined", `${who} was told you declined (access_denied).`, res.body.redirect_uri);
    }
  }

  function finished(state, title, text, redirect) {
    $("done").dataset.state = state;
    $("done-mark").textContent = state === "shared" ? "✓" : "✕";
    $("done-title").textContent = title;
    $("done-text").textContent = text;
    const link = $("continue");
    link.hidden = !redirect;
    if (redirect) link.href = redirect;
    show("done");
  }

  // ------------------------------------------------------------------ wallet contents

  async function loadContents() {
    const res = await call("/api/wallet");
    if (!res.ok) return;
    const creds = $("credentials");
    creds.replaceChildren();
    res.body.credentials.forEach((c) => {
      const li = el("li");
      li.dataset.kind = c.kind;
      li.append(el("strong", null, KINDS[c.kind] || c.kind), el("span", "muted small", ` from ${c.iss} · held by ${c.holder}`));
      if (c.kind === "mandate") {
        // Several mandates: their jti and limits tell them apart (`--mandate` takes the jti).
        li.append(el("span", "small mandate-limits", c.summary || ""), el("code", "small mandate-jti", c.jti || ""));
      }
      creds.append(li);
    });
    if (!res.body.credentials.length) creds.append(el("li", "muted", "none (wallet-sim issue identity)"));
    const anchors = $("anchors");
    anchors.replaceChildren();
    res.body.trusted_verifiers.forEach((s) => anchors.append(el("li", "mono small", s)));
    if (!res.body.trusted_verifiers.length) anchors.append(el("li", "muted", "none: every signed request will be refused"));
  }

  // ------------------------------------------------------------------ wiring

  function init() {
    $("paste-form").addEventListener("submit", (event) => {
      event.preventDefault();
      openUri($("uri").value);
    });
    $("file").addEventListener("change", () => {
      openImage($("file").files[0]);
      $("file").value = "";
    });
    const drop = $("drop");
    ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      openImage(event.dataTransfer && event.dataTransfer.files[0]);
    });
    document.addEventListener("paste", (event) => {
      if ($("scan").hidden || event.target === $("uri")) return;
      const items = [...(event.clipboardData ? event.clipboardData.files : [])];
      if (items.length) {
        event.preventDefault();
        openImage(items[0]);
      }
    });
    $("approve").addEventListener("click", () => decide("approve"));
    $("decline").addEventListener("click", () => decide("decline"));
    $("again").addEventListener("click", () => {
      $("uri").value = "";
      $("scan-error").hidden = true;
      show("scan");
      $("uri").focus();
    });
    loadContents();
  }

  document.addEventListener("DOMContentLoaded", init);
})();
