// The printed ticket: a button that opens the browser's print dialog.
(function () {
  "use strict";
  var button = document.getElementById("imprimer");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
