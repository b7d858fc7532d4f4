// "Log in with Telegram" without Telegram's telegram-widget.js from a CDN: the button is a
// plain link to oauth.telegram.org/auth (the widget's redirect mode), which comes back to this
// page with #tgAuthResult=<base64url JSON of the signed data>. Post it to the server, which
// checks Telegram's signature (core/web_auth.py login_widget_user), then reload signed in.
(function () {
  "use strict";
  // base64url or plain base64, possibly percent-encoded: accept either.
  var found = /[#&]tgAuthResult=([^&]*)/.exec(window.location.hash);
  if (!found) return;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  function show(id, on) { var el = document.getElementById(id); if (el) el.hidden = !on; }
  var auth = null;
  try {
    var b64 = decodeURIComponent(found[1]).replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bytes = Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
    auth = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) { auth = null; }
  if (!auth || typeof auth !== "object") { show("widget-refused", true); return; }
  var fields = {};
  Object.keys(auth).forEach(function (k) { fields[k] = String(auth[k]); });
  show("howto", false);
  show("signing", true);
  fetch("/app/signin/telegram", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ auth: fields })
  }).then(function (resp) {
    if (resp.ok) {
      window.location.replace("/app/");
    } else {
      show("signing", false);
      show("howto", true);
      show("widget-refused", true);
    }
  });
})();
