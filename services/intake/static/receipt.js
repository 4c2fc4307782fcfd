// The receipt's copy button (without JavaScript the code is plain, selectable text).
(function () {
  "use strict";
  var button = document.getElementById("copy-code");
  var code = document.getElementById("tracking-code");
  var said = document.getElementById("copy-status");
  if (!button || !code) { return; }

  function selectCode() {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copied(ok) {
    said.textContent = ok ? button.dataset.copiedLabel : button.dataset.failedLabel;
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    var text = code.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(true); }, function () {
        selectCode();
        copied(false);
      });
      return;
    }
    selectCode();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
    copied(ok);
  });
}());
