// agentvp: render a verification result (disclosed claims) as readable DOM.
// Builds nodes with textContent only (never HTML from data). Used by app.js.
"use strict";

window.AgentVPClaims = (() => {
  const FRIENDLY_VCT = {
    "https://agentvp.example/vct/verified_person/1": "Verified person",
    "https://agentvp.example/vct/agent_mandate/1": "Agent mandate",
  };
  const LABELS = {
    jti: "Mandate ID",
    id: "ID",
    trust_framework: "Trust framework",
    assurance_level: "Assurance level",
    time: "Verified at",
    verification_process: "Verification process",
    software_id: "Software ID",
    max_depth: "Maximum depth",
    pairwise_ids: "Pairwise IDs",
    birthdate: "Date of birth",
    jwk_thumbprint: "JWK thumbprint",
  };
  // Claims people expect first; everything else keeps the credential's order.
  const ORDER = ["given_name", "family_name", "birthdate", "id", "name", "type", "jti", "agent",
    "principal", "authority", "actions", "constraints"];
  const MINOR_UNITS = { JPY: 0, KRW: 0, BHD: 3, KWD: 3, TND: 3 };

  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  const human = (key) =>
    LABELS[key] || String(key).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

  const isObject = (v) => v !== null && typeof v === "object";

  function formatTime(value) {
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return date.toISOString().replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
  }

  function money(minor, currency) {
    if (typeof minor !== "number") return `? ${currency || ""}`.trim();
    const exponent = MINOR_UNITS[currency] ?? 2;
    return `${(minor / 10 ** exponent).toFixed(exponent)} ${currency || ""}`.trim();
  }

  const rank = (key) => {
    const index = ORDER.indexOf(key);
    return index < 0 ? ORDER.length : index;
  };

  function renderValue(value) {
    if (value === null || value === undefined) return el("span", "muted", "—");
    if (Array.isArray(value)) {
      if (!value.some(isObject)) {
        return el("span", "value", value.length ? value.join(", ") : "none disclosed");
      }
      const list = el("ul", "value-list");
      value.forEach((item) => {
        const li = el("li");
        li.append(renderValue(item));
        list.append(li);
      });
      return list;
    }
    if (isObject(value)) return definitionList(value);
    if (typeof value === "boolean") return el("span", "value", value ? "yes" : "no");
    return el("span", "value", value);
  }

  function row(dl, label, value, className) {
    const nested = isObject(value) && !(value instanceof Node);
    const item = el("div", nested ? "kv-row nested" : "kv-row");
    const dd = el("dd", className);
    if (value instanceof Node) dd.append(value);
    else if (nested) dd.append(renderValue(value));
    else dd.textContent = value;
    item.append(el("dt", null, label), dd);
    dl.append(item);
    return item;
  }

  function definitionList(object, skip = []) {
    const dl = el("dl", "kv");
    const keys = Object.keys(object).filter((k) => !skip.includes(k));
    keys.sort((a, b) => rank(a) - rank(b));
    keys.forEach((key) => {
      const value = object[key];
      if (isObject(value) && !(Array.isArray(value) && !value.some(isObject))) {
        row(dl, human(key), value);
      } else {
        row(dl, human(key), renderValue(value));
      }
    });
    return dl;
  }

  function block(className, title) {
    const section = el("section", className);
    section.setAttribute("aria-label", title);
    section.append(el("h4", "block-title", title));
    return section;
  }

  function verifiedClaimsBlock(vc) {
    const section = block("verified-claims", "Verified claims");
    const verification = vc.verification || {};
    const dl = el("dl", "kv");
    row(dl, "Trust framework", verification.trust_framework || "—", "tag");
    row(dl, "Assurance level", verification.assurance_level || "—", "tag");
    row(dl, "Verified at", verification.time ? formatTime(verification.time) : "not disclosed");
    const evidence = Array.isArray(verification.evidence) ? verification.evidence : [];
    const types = evidence.map((e) => (isObject(e) && e.type) || "undisclosed type");
    row(dl, "Evidence", types.length ? types.join(", ") : "not disclosed");
    Object.keys(verification)
      .filter((k) => !["trust_framework", "assurance_level", "time", "evidence"].includes(k))
      .forEach((k) => row(dl, human(k), verification[k]));
    section.append(dl, el("h5", "block-subtitle", "Claims"), definitionList(vc.claims || {}));
    return section;
  }

  function constraintText(c) {
    const allowed = Array.isArray(c.allowed) ? c.allowed : [];
    switch (c.type) {
      case "payment.amount_range":
        return ["Amount per payment", `${money(c.min ?? 0, c.currency)} – ${money(c.max, c.currency)}`];
      case "payment.budget":
        return ["Total budget", money(c.max, c.currency)];
      case "mandate.max_uses":
        return ["Uses", `at most ${c.max}`];
      case "checkout.allowed_merchants":
        return ["Merchants", allowed.map((m) => `${m.name || m.id} (${m.domain || m.id})`).join(", ") || "none disclosed"];
      case "checkout.allowed_categories":
        return ["Categories", allowed.map((k) => `${k.scheme} ${k.code}`).join(", ") || "none disclosed"];
      default:
        return null;
    }
  }

  function mandateBlock(claims) {
    const section = block("mandate-claims", "Authority granted to the agent");
    const dl = el("dl", "kv");
    const agent = claims.agent || {};
    if (agent.id) row(dl, "Agent", agent.id, "mono");
    if (agent.operator) row(dl, "Operator", agent.operator.name || agent.operator.id || "—");
    if (agent.software_id) {
      row(dl, "Software", `${agent.software_id}${agent.software_version ? ` ${agent.software_version}` : ""}`);
    }
    const principal = claims.principal || {};
    if (principal.type) row(dl, "Acts for", human(principal.type).toLowerCase());
    const authority = claims.authority || {};
    if (Array.isArray(authority.actions)) row(dl, "Actions", authority.actions.join(", "), "tag");
    (authority.constraints || []).forEach((c) => {
      const text = isObject(c) ? constraintText(c) : null;
      if (text) row(dl, text[0], text[1]);
      else row(dl, human((c && c.type) || "constraint"), c);
    });
    if (authority.purpose) row(dl, "Purpose", authority.purpose);
    if (claims.jti) row(dl, "Mandate ID", claims.jti, "mono small");
    section.append(dl);
    return section;
  }

  function credentialCard(queryId, item) {
    const card = el("article", "credential");
    const head = el("header", "credential-head");
    head.append(
      el("h3", null, FRIENDLY_VCT[item.vct] || item.vct),
      el("span", "badge badge-ok", "signature and holder key verified"),
    );
    const meta = el("dl", "kv kv-meta");
    row(meta, "Issuer", item.iss, "mono");
    const status = item.status;
    const statusText = status
      ? `${status.status || "checked"}${status.uri ? ` (status list ${status.uri})` : ""}`
      : "no status list entry";
    row(meta, "Credential status", statusText, status && status.status === "valid" ? "good" : null);
    row(meta, "Credential type", item.vct, "mono small");
    row(meta, "Query", queryId, "mono small");
    if (item.iat) row(meta, "Issued", formatTime(item.iat));
    if (item.exp) row(meta, "Expires", formatTime(item.exp));
    row(meta, "Holder key (JWK thumbprint)", item.holder_jkt || "—", "mono small");
    row(meta, "Selective disclosures", String(item.disclosed ?? "—"));
    card.append(head, meta);
    const claims = item.claims || {};
    const shown = [];
    if (isObject(claims.verified_claims)) {
      card.append(verifiedClaimsBlock(claims.verified_claims));
      shown.push("verified_claims");
    }
    const rest = Object.keys(claims).filter((k) => !shown.includes(k));
    if (isObject(claims.authority)) {
      card.append(mandateBlock(claims));
      const details = el("details", "other-claims");
      details.append(el("summary", null, "All disclosed claims"), definitionList(claims, shown));
      card.append(details);
    } else if (rest.length) {
      const section = block("other-claims", shown.length ? "Other disclosed claims" : "Disclosed claims");
      section.append(definitionList(claims, shown));
      card.append(section);
    }
    return card;
  }

  function actionCard(actions) {
    const card = el("article", "credential action-card");
    card.append(el("h3", null, "Action signed by the agent"));
    const dl = el("dl", "kv");
    actions.forEach((td) => {
      const p = td.payload || {};
      const amount = p.payment_amount || {};
      const payee = p.payee || {};
      row(dl, p.action || td.type, `${money(amount.amount, amount.currency)} to ${payee.name || payee.id || "?"} (order ${p.transaction_id || "?"})`);
    });
    card.append(dl, el("p", "muted small",
      "The agent's key-binding JWT carries the hash of this transaction_data; the verifier checked it."));
    return card;
  }

  /** The result card's content for one verified presentation view. */
  function render(view, actions = []) {
    const fragment = document.createDocumentFragment();
    const summary = el("p", "result-summary");
    const FLOWS = { same_device: "same-device", dc_api: "Digital Credentials API" };
    const flow = FLOWS[view.flow] || "cross-device";
    summary.append(
      el("span", "badge badge-ok", "verified"),
      document.createTextNode(` at ${formatTime(view.result.verified_at)} · ${flow} flow`),
    );
    fragment.append(summary);
    if (actions.length) fragment.append(actionCard(actions));
    Object.entries(view.result.credentials || {}).forEach(([queryId, items]) => {
      (items || []).forEach((item) => fragment.append(credentialCard(queryId, item)));
    });
    if (view.result.id_token) {
      const card = el("article", "credential");
      card.append(el("h3", null, "Self-issued ID token"), definitionList(view.result.id_token));
      fragment.append(card);
    }
    return fragment;
  }

  return { render };
})();
