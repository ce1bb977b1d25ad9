// The confirmation page: ask agentvp whether the wallet answered, then say how it ended.
"use strict";
(function () {
  const main = document.getElementById("main");
  const status = document.getElementById("confirm-status");
  const id = main.dataset.confirmation;
  const expires = Number(main.dataset.expires) * 1000;
  const endings = {
    verified: "Confirmed. You can return to your application.",
    rejected: "Not confirmed. Return to your application.",
    expired: "This confirmation has expired. Start again from your application.",
  };
  let delay = 1000;

  async function poll() {
    if (Date.now() > expires + 5000) {
      status.textContent = endings.expired;
      return;
    }
    try {
      const answer = await fetch("/oauth/confirm/" + encodeURIComponent(id) + "/status", {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (answer.ok) {
        const view = await answer.json();
        if (view.status in endings) {
          status.textContent = endings[view.status];
          main.dataset.status = view.status;
          return;
        }
        delay = 1000;
      } else if (answer.status === 404) {
        status.textContent = "This confirmation is unknown or has expired.";
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
})();
