// The rule form's live check: a moment after typing stops, the text goes to /app/rules/check
// (the chat's own parser on the server) and the error, with a marker at its column, or the
// rule as it will be saved is shown. Saving checks again on the server: this is only help.
(function () {
  var text = document.getElementById("rule-text");
  if (!text) { return; }
  var box = document.getElementById("rule-error");
  var message = document.getElementById("rule-error-text");
  var at = document.getElementById("rule-error-at");
  var ok = document.getElementById("rule-ok");
  var canonical = document.getElementById("rule-canonical");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var timer = null;
  var asked = 0;

  function show(answer) {
    if (answer.ok) {
      box.hidden = true;
      ok.hidden = false;
      canonical.textContent = answer.canonical;
      text.setAttribute("aria-invalid", "false");
      return;
    }
    ok.hidden = true;
    box.hidden = false;
    message.textContent = answer.message;
    text.setAttribute("aria-invalid", "true");
    at.textContent = "";
    if (answer.column) {
      at.appendChild(document.createTextNode(answer.before));
      var mark = document.createElement("mark");
      mark.textContent = "\u27f6";
      at.appendChild(mark);
      at.appendChild(document.createTextNode(answer.after));
      at.hidden = false;
    } else {
      at.hidden = true;
    }
  }

  function check() {
    var mine = ++asked;
    if (!text.value.trim()) { box.hidden = true; ok.hidden = true; return; }
    fetch("/app/rules/check", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ text: text.value })
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (mine === asked) { show(answer); }  // an older answer arriving late is dropped
    }).catch(function () {});
  }

  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  if (text.value.trim()) { check(); }
})();
