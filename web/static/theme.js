// Telegram's launch parameters arrive in the URL fragment (tgWebAppThemeParams, tgWebAppData).
// Keep them for the session (the fragment is gone after the first navigation) and apply the
// theme as CSS variables, so the pages look like the Telegram client around them.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  try {
    if (params.get("tgWebAppThemeParams")) {
      sessionStorage.setItem("tgTheme", params.get("tgWebAppThemeParams"));
    }
    var raw = sessionStorage.getItem("tgTheme");
    if (!raw) return;
    var theme = JSON.parse(raw);
    var root = document.documentElement;
    Object.keys(theme).forEach(function (key) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(theme[key])) {
        root.style.setProperty("--tg-" + key.replace(/_/g, "-"), theme[key]);
      }
    });
  } catch (e) { /* storage blocked or bad JSON: the default colours stay */ }
})();
