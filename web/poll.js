// Shared by the wallet login and confirmation pages (loaded before them): ask agentvp for a
// transaction's status until the wallet's answer ends the wait. Every second while it is
// pending, backing off to 8 s while the server cannot be reached; gives up 5 s after expiry.
"use strict";

window.agentvpPollStatus = (url, expiresAtMs, on) => {
  // on.answer(view) returns true when the view ends the wait; on.gone() for a 404 (unknown or
  // removed); on.expired() once the transaction's time is over.
  let delay = 1000;

  async function poll() {
    if (Date.now() > expiresAtMs + 5000) {
      on.expired();
      return;
    }
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (answer.ok) {
        if (on.answer(await answer.json())) return;
        delay = 1000;
      } else if (answer.status === 404) {
        on.gone();
        return;
      } else {
        delay = Math.min(delay * 2, 8000);
      }
    } catch (e) {
      delay = Math.min(delay * 2, 8000);
    }
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, 500);
};
