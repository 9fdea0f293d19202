// A page that comes back with its form's errors shows them first: the summary, which
// lists them with a link to each field, takes the focus (and so comes into view, and is
// read out), rather than sitting below the fold of a phone. So does a question asked
// before a change is made (an administration form that would call off appointments).
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary[tabindex], .confirm-summary[tabindex]");
  if (summary) {
    summary.focus();
  }
})();
