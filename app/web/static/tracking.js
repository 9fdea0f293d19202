// The tracking page of a ticket, kept up to date on the holder's phone. The region marked
// data-refresh holds the ticket's state (_tracking_state.html): a websocket (data-socket)
// says when the ticket's place or status changed and the state is fetched again at once;
// it is also fetched every data-every seconds while the socket is down, and every three
// times that while it is up (a call repeated at the same station, the time shown). The
// region is replaced only when what it says changed (so that screen readers hear real
// news only); then the page's title follows, the heading takes the focus if the focus was
// in the region, and a new call makes the phone vibrate once where it can.
// While the state cannot be read (no network, the server away or answering an error, a
// page that is not the state, or no answer within READ_WITHIN), the page's notice
// #hors-ligne says since when the place shown dates, and goes as soon as a read succeeds.
// The rounds go on as they were, and the network coming back reads at once.
// A 404 or 410 is an answer about the ticket, not a lost connection: the ticket is no
// more, and the page's #ticket-disparu (a <template>) takes the place of the state, in
// words, announced as an alert. Once the state is one that never changes again (that, or
// a ticket over: done, passed, cancelled, closed), reading stops: no more rounds, the
// socket closed, and the arrival form of a remote ticket hidden. Without JavaScript, the
// notice stays hidden, the page's "Actualiser" link and its forms still work, and the
// link of a ticket that is no more opens a page that says so.
(function () {
  "use strict";
  var region = document.querySelector("[data-refresh]");
  if (!region) { return; }
  var url = region.getAttribute("data-refresh");
  var offline = document.getElementById("hors-ligne");
  var READ_WITHIN = 15000;
  var ANSWERED = [404, 410];
  var ENDED = ["done", "no_show", "cancelled", "closed", "gone"];
  var busy = false;
  var stopped = false;
  var live = null;

  function stateOf(root) {
    return root ? root.querySelector(".track") : null;
  }

  // What the state says, less the time it was read at.
  function meaning(track) {
    var copy = track.cloneNode(true);
    var updated = copy.querySelector(".updated");
    if (updated) { updated.parentNode.removeChild(updated); }
    return copy.outerHTML;
  }

  function vibrate() {
    if (typeof navigator.vibrate !== "function") { return; }
    try { navigator.vibrate([400, 200, 400, 200, 600]); } catch (ignored) { /* not allowed */ }
  }

  function newCall(before, after) {
    if (after.getAttribute("data-status") !== "called") { return false; }
    if (before.getAttribute("data-status") !== "called") { return true; }
    var was = parseInt(before.getAttribute("data-calls") || "0", 10);
    return parseInt(after.getAttribute("data-calls") || "0", 10) > was;
  }

  // Says the connection is lost, with the time of the place still shown (its "Mis à
  // jour à" line); the words change only when that time does, so that they are heard once.
  function lost() {
    if (!offline) { return; }
    var shown = region.querySelector(".updated-at");
    var at = offline.querySelector(".offline-at");
    if (shown && at && at.textContent !== shown.textContent) {
      at.textContent = shown.textContent;
    }
    offline.hidden = false;
  }

  function found() {
    if (offline) { offline.hidden = true; }
  }

  // Whether the state shown is one that never changes again.
  function ended() {
    var track = stateOf(region);
    return Boolean(track) && ENDED.indexOf(track.getAttribute("data-status")) !== -1;
  }

  function stop() {
    stopped = true;
    if (live) { live.stop(); }
    var arrival = document.querySelector(".remote-arrive");
    if (arrival) { arrival.hidden = true; }
  }

  // What to show of a ticket that is no more (null: the page has no words for it).
  function goneState() {
    var held = document.getElementById("ticket-disparu");
    return held ? held.innerHTML : null;
  }

  // Puts the state read in place; false when what came is not a state (a Wi-Fi login
  // page, say).
  function show(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var next = stateOf(holder);
    var current = stateOf(region);
    if (!next) { return false; }
    if (!current) { return true; }
    if (meaning(next) === meaning(current)) {
      var now = next.querySelector(".updated");
      var shown = current.querySelector(".updated");
      if (now && shown && !shown.contains(document.activeElement)) {
        shown.innerHTML = now.innerHTML;
      }
      return true;
    }
    var hadFocus = region.contains(document.activeElement) && document.activeElement !== document.body;
    var called = newCall(current, next);
    region.replaceChild(next, current);
    var title = next.getAttribute("data-title");
    if (title) { document.title = title; }
    if (hadFocus) {
      var heading = next.querySelector("h1");
      if (heading) { heading.focus(); }
    }
    if (called) { vibrate(); }
    return true;
  }

  function refresh() {
    if (busy || stopped) { return; }
    busy = true;
    var options = { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } };
    var timer = null;
    if (typeof AbortController === "function") {
      var abort = new AbortController();
      options.signal = abort.signal;
      timer = window.setTimeout(function () { abort.abort(); }, READ_WITHIN);
    }
    fetch(url, options)
      .then(function (response) {
        if (ANSWERED.indexOf(response.status) !== -1) { return goneState(); }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        if (stopped) { return; }
        if (html !== null && !show(html)) { throw new Error("not a state"); }
        found();
        if (ended()) { stop(); }
      })
      .catch(lost) // the next round will try again
      .then(function () {
        window.clearTimeout(timer);
        busy = false;
      });
  }

  // While the socket is up it says when the ticket's place or status changed (and is
  // read again when it opens); a call repeated at the same station, and the time shown,
  // come from a slower round. A socket closed with 4404 is a ticket gone: the next round
  // says so. A ticket over when the page opens has nothing more to read.
  if (ended()) { return; }
  live = window.guichetLive(region, refresh, {
    every: 10, liveEvery: 30, readOnOpen: true, lastCodes: [4404]
  });
  // A phone that wakes up, or a tab brought back, shows the news at once.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { refresh(); }
  });
  window.addEventListener("online", refresh);
})();
