// The wallet login page: ask agentvp whether the wallet answered, then go back to the client.
"use strict";
(function () {
  const main = document.getElementById("main");
  const status = document.getElementById("login-status");
  const say = (text) => {
    status.textContent = text;
  };

  window.agentvpPollStatus(
    "/oauth/login/" + encodeURIComponent(main.dataset.login),
    Number(main.dataset.expires) * 1000,
    {
      answer(view) {
        if (view.status !== "verified" && view.status !== "rejected") return false;
        say(view.status === "verified" ? "Verified. Returning to the application…"
          : "Not verified. Returning to the application…");
        window.location.assign(view.redirect);
        return true;
      },
      gone: () => say("This login request is unknown or has expired."),
      expired: () => say("This login request has expired. Start again from your application."),
    },
  );
})();
