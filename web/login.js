// The wallet login page: ask agentvp whether the wallet answered, then go back to the client.
"use strict";
(function () {
  const main = document.getElementById("main");
  const status = document.getElementById("login-status");
  const loginId = main.dataset.login;
  const expires = Number(main.dataset.expires) * 1000;
  let delay = 1000;

  function say(text) {
    status.textContent = text;
  }

  async function poll() {
    if (Date.now() > expires + 5000) {
      say("This login request has expired. Start again from your application.");
      return;
    }
    try {
      const answer = await fetch("/oauth/login/" + encodeURIComponent(loginId), {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (answer.ok) {
        const view = await answer.json();
        if (view.status === "verified" || view.status === "rejected") {
          say(view.status === "verified" ? "Verified. Returning to the application…"
            : "Not verified. Returning to the application…");
          window.location.assign(view.redirect);
          return;
        }
        delay = 1000;
      } else if (answer.status === 404) {
        say("This login request is unknown or has expired.");
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
