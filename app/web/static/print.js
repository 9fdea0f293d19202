// The printed slips: a button that opens the browser's print dialog. It starts hidden, so
// that without JavaScript nobody sees a button that does nothing (the page then says to use
// the browser's own Print command).
(function () {
  "use strict";
  var button = document.getElementById("imprimer");
  if (button) {
    button.hidden = false;
    var hint = document.getElementById("imprimer-sans-js");
    if (hint) { hint.hidden = true; }
    button.addEventListener("click", function () { window.print(); });
  }
})();
