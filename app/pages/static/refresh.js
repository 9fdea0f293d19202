// Keeps the regions marked data-refresh up to date by fetching their HTML again every
// data-every seconds; a region that holds the keyboard focus is left alone until it is
// let go. Without JavaScript, the page's own links and buttons still work.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh]").forEach(function (region) {
    var url = region.getAttribute("data-refresh");
    var every = Math.max(2, parseInt(region.getAttribute("data-every") || "5", 10)) * 1000;
    function refresh() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (html) {
          if (!region.contains(document.activeElement)) { region.innerHTML = html; }
        })
        .catch(function () { /* the next round will try again */ });
    }
    window.setInterval(refresh, every);
  });
})();
