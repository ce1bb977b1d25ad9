// Shared by the demo pages (loaded first): same-origin JSON calls and two DOM helpers.
// Plain JS, no build step, no inline anything (CSP).
"use strict";

window.agentvpCommon = (() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  async function api(path, options = {}) {
    const init = { headers: { Accept: "application/json" }, cache: "no-store", ...options };
    if (options.json !== undefined) {
      init.method = init.method || "POST";
      init.headers = { ...init.headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(options.json);
      delete init.json;
    }
    const response = await fetch(path, init);
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

  return Object.freeze({ $, el, api, problem });
})();
