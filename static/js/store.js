// Small helpers for pages that work without JavaScript: copy a licence key, print a receipt.
// Served from the store (the CSP allows scripts from 'self' only); each button starts
// hidden and is shown here, so without JavaScript nobody sees a button that does nothing.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http (a store tried locally): copy through a selected, off-screen text area.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = document.execCommand("copy");
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var key = document.getElementById(button.getAttribute("data-copy"));
    if (!key) { return; }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(key.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied");
        // Screen readers hear it from the page's status line, not from the button.
        var status = document.getElementById("copy-status");
        if (status) { status.textContent = button.textContent; }
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        window.getSelection().selectAllChildren(key);
      });
    });
  });

  // A form sent back with problems: start at the list of them (links lead to each field).
  var summary = document.querySelector(".error-summary");
  if (summary && document.activeElement !== summary) { summary.focus(); }

  document.querySelectorAll("button.print-page").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());
