// The cookie banner (web/cookies.py): "Necessary only" and "Accept all" post the choice as
// JSON; the server records it and sets or drops the analytics cookie. "Cookie settings" in
// the footer shows the banner again.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var banner = document.getElementById("cookie-banner");
    if (!banner) return;
    Array.prototype.forEach.call(banner.querySelectorAll("[data-cookies]"), function (button) {
      button.addEventListener("click", function () {
        var choice = button.getAttribute("data-cookies");
        fetch("/app/cookies", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ choice: choice })
        }).then(function (resp) {
          if (resp.ok) {
            banner.hidden = true;
            banner.setAttribute("data-choice", choice);
          }
        });
      });
    });
    var settings = document.getElementById("cookie-settings");
    if (settings) settings.addEventListener("click", function () { banner.hidden = false; });
  });
})();
