// Live updates without inline scripts: an element with data-poll="<JSON url>" asks it every
// 1.5 s. The answer's `done`/`total` fill a <progress> and a counter inside the element;
// once the answer says `final`, the page reloads to show the outcome the server rendered.
(function () {
  "use strict";
  var el = document.querySelector("[data-poll]");
  if (!el) return;
  var url = el.getAttribute("data-poll");
  var bar = el.querySelector("progress");
  var count = el.querySelector("[data-count]");
  var state = el.querySelector("[data-state-text]");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return setTimeout(tick, 3000);
        if (bar && typeof data.total === "number") {
          bar.max = Math.max(data.total, 1);
          bar.value = data.done;
        }
        if (count && typeof data.total === "number") count.textContent = data.done + "/" + data.total;
        if (state && data.state_text) state.textContent = data.state_text;
        el.setAttribute("data-state", data.state || "");
        if (data.final) { window.location.reload(); return; }
        setTimeout(tick, 1500);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
