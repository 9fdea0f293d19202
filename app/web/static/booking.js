// The booking pages, improved where JavaScript runs (they work without it): a day of the
// strip shown in place, the slot chosen said in the bar at the bottom, a form sent once
// (a second tap does not book twice), and the private page's "Imprimer" button.
(function () {
  "use strict";

  function showDay(form, link) {
    var day = link.getAttribute("data-day");
    var panel = form.querySelector('fieldset.day[data-day="' + day + '"]');
    if (!panel) { return false; }
    form.querySelectorAll("fieldset.day").forEach(function (each) { each.hidden = each !== panel; });
    form.querySelectorAll(".day-tab").forEach(function (tab) {
      var current = tab === link;
      if (current) { tab.setAttribute("aria-current", "date"); } else { tab.removeAttribute("aria-current"); }
    });
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", link.href.split("#")[0]);
    }
    var legend = panel.querySelector("legend");
    panel.setAttribute("tabindex", "-1");
    panel.focus({ preventScroll: true });
    if (legend && legend.scrollIntoView) { legend.scrollIntoView({ block: "nearest" }); }
    return true;
  }

  function sayChoice(form, input) {
    var text = form.querySelector(".choice-bar-text");
    if (!text || !input) { return; }
    text.textContent = text.getAttribute("data-chosen") + " ";
    var strong = document.createElement("strong");
    strong.textContent = input.getAttribute("data-moment");
    text.appendChild(strong);
  }

  document.querySelectorAll("form.slot-form").forEach(function (form) {
    form.querySelectorAll(".day-tab").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey) { return; }
        if (showDay(form, link)) { event.preventDefault(); }
      });
    });
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "debut") { sayChoice(form, event.target); }
    });
  });

  // A form sent once: a second tap while the page loads is ignored.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      form.setAttribute("aria-busy", "true");
    });
  });

  // Back to a page kept in memory: its forms may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.removeAttribute("aria-busy");
    });
  });

  var print = document.getElementById("imprimer");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
