// The confirmation page: ask agentvp whether the wallet answered, then say how it ended.
"use strict";
(function () {
  const main = document.getElementById("main");
  const status = document.getElementById("confirm-status");
  const endings = {
    verified: "Confirmed. You can return to your application.",
    rejected: "Not confirmed. Return to your application.",
    expired: "This confirmation has expired. Start again from your application.",
  };

  window.agentvpPollStatus(
    "/oauth/confirm/" + encodeURIComponent(main.dataset.confirmation) + "/status",
    Number(main.dataset.expires) * 1000,
    {
      answer(view) {
        if (!Object.prototype.hasOwnProperty.call(endings, view.status)) return false;
        status.textContent = endings[view.status];
        main.dataset.status = view.status;
        return true;
      },
      gone: () => {
        status.textContent = "This confirmation is unknown or has expired.";
      },
      expired: () => {
        status.textContent = endings.expired;
      },
    },
  );
})();
