// Keeps the regions marked data-refresh up to date, at the rhythm of live.js: with
// data-socket, a websocket says when something changed and the region's HTML is fetched
// again at once; while the socket is down (or without one), every data-every seconds.
// A region that holds the keyboard focus is left alone until it is let go. What says in
// how many seconds it turns (data-turns-in: reception's arrival code) is read again right
// then, not up to a round later. When the staff session has ended (the fetch is sent to
// the login page, or refused), a region marked data-ended shows that sentence in place of
// what it held, which would otherwise stay on screen as if current (an arrival code gone
// stale).
// Without JavaScript, the page's own links and buttons still work.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh]").forEach(function (region) {
    var url = region.getAttribute("data-refresh");
    var turning = null;

    function readAgainWhenItTurns() {
      var turns = region.querySelector("[data-turns-in]");
      window.clearTimeout(turning);
      if (!turns) { return; }
      // Half a second late rather than early: the answer then carries the new code.
      var seconds = Math.max(1, parseInt(turns.getAttribute("data-turns-in"), 10) || 1);
      turning = window.setTimeout(refresh, seconds * 1000 + 500);
    }

    function ended() {
      var sentence = region.getAttribute("data-ended");
      if (!sentence || region.querySelector("[data-session-ended]")) { return; }
      var notice = document.createElement("p");
      notice.className = "alert";
      notice.setAttribute("role", "alert");
      notice.setAttribute("data-session-ended", "");
      notice.textContent = sentence + " ";
      var again = document.createElement("a");
      again.href = location.href;
      again.textContent = region.getAttribute("data-reload") || "OK";
      notice.appendChild(again);
      window.clearTimeout(turning);
      region.replaceChildren(notice);
    }

    function refresh() {
      // Marked as the page's own: it keeps the region current, not the session alive.
      var headers = { Accept: "text/html", "X-Guichet-Background": "1" };
      fetch(url, { credentials: "same-origin", headers: headers })
        .then(function (response) {
          // Sent elsewhere (the session ended: the login page) is no fragment of the page.
          // Refused (another agent logged in since, in this browser) ends it as well.
          if (response.redirected || response.status === 401 || response.status === 403) {
            ended();
          }
          if (!response.ok || response.redirected) { throw new Error(String(response.status)); }
          return response.text();
        })
        .then(function (html) {
          if (!region.contains(document.activeElement)) {
            region.innerHTML = html;
            readAgainWhenItTurns();
          }
        })
        .catch(function () { /* the next round will try again */ });
    }

    readAgainWhenItTurns();
    // While the socket is up, a round every minute all the same: a change missed, or the
    // session's end, shows within a minute.
    window.guichetLive(region, refresh, { every: 5, liveEvery: 60 });
  });
})();
