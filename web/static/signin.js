// The Mini App's sign-in: Telegram puts initData in the launch URL's fragment
// (#tgWebAppData=...). Send it to the server, which checks Telegram's signature, then reload
// signed in. Without it (a plain browser), the page explains how to get a sign-in link.
// Loaded by every page: one signed in as another Telegram account than the launch's (two
// accounts in one Telegram app share its web view's cookies) is not shown; it signs in again.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  var initData = params.get("tgWebAppData");
  if (!initData) return;
  var signedIn = document.querySelector('meta[name="user-id"]');
  var post = function () {
    return fetch("/app/signin/initdata", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ init_data: initData })
    });
  };
  if (signedIn) {
    var launched = null;
    try {
      launched = String(JSON.parse(new URLSearchParams(initData).get("user")).id);
    } catch (e) { /* not Telegram's: the server refuses it */ }
    if (launched === signedIn.content) return;
    document.documentElement.style.visibility = "hidden";
    // The server ended this page's session either way: signed in as the launch's account,
    // or back to the sign-in page, which says why not.
    post().then(function (resp) {
      if (resp.ok) {
        window.location.replace("/app/");
      } else {
        window.location.reload();
      }
    });
    return;
  }
  var start = function () {
    var show = function (id) { document.getElementById(id).hidden = false; };
    if (!document.getElementById("howto")) return;
    document.getElementById("howto").hidden = true;
    show("signing");
    post().then(function (resp) {
      if (resp.ok) {
        window.location.replace("/app/");
      } else {
        document.getElementById("signing").hidden = true;
        show("refused");
      }
    });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
