// The Mini App's sign-in: Telegram puts initData in the launch URL's fragment
// (#tgWebAppData=...). Send it to the server, which checks Telegram's signature, then reload
// signed in. Without it (a plain browser), the page explains how to get a sign-in link.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  var initData = params.get("tgWebAppData");
  if (!initData) return;
  var show = function (id) { document.getElementById(id).hidden = false; };
  document.getElementById("howto").hidden = true;
  show("signing");
  fetch("/app/signin/initdata", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ init_data: initData })
  }).then(function (resp) {
    if (resp.ok) {
      window.location.replace("/app/");
    } else {
      document.getElementById("signing").hidden = true;
      show("refused");
    }
  });
})();
