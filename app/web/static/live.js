// The rhythm of a region kept live, shared by the staff consoles (refresh.js) and the
// tracking page of a ticket (tracking.js). A websocket (the region's data-socket) says
// when something changed, and `read` fetches the region again at once; a socket that
// closes is opened again after a pause that doubles each time (half a second at first,
// 30 seconds at most, with some chance in it so that a room of screens does not knock at
// once), except when it closes with one of `lastCodes`. While the socket is down, or
// without one, `read` runs every data-every seconds (`every` if the region says none, 2
// at least); while it is up, every `liveEvery` seconds all the same. What it returns
// stops it all (`stop()`: no more rounds, the socket closed and not opened again), for a
// region that has nothing more to learn.
(function () {
  "use strict";
  window.guichetLive = function (region, read, options) {
    var seconds = parseInt(region.getAttribute("data-every") || String(options.every), 10);
    var every = Math.max(2, seconds) * 1000;
    var socketPath = region.getAttribute("data-socket");
    var live = false;
    var attempt = 0;
    var rounds = 0;
    var socket = null;
    var stopped = false;

    function connect() {
      if (stopped) { return; }
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      try {
        socket = new WebSocket(scheme + location.host + socketPath);
      } catch (ignored) {
        return;
      }
      socket.addEventListener("open", function () {
        live = true;
        attempt = 0;
        if (options.readOnOpen && !stopped) { read(); }
      });
      socket.addEventListener("message", function () { if (!stopped) { read(); } });
      socket.addEventListener("close", function (event) {
        live = false;
        if (stopped || (options.lastCodes || []).indexOf(event.code) !== -1) { return; }
        var delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random());
        attempt += 1;
        window.setTimeout(connect, delay);
      });
    }

    if (socketPath && "WebSocket" in window) { connect(); }
    var rounder = window.setInterval(function () {
      rounds += 1;
      if (!live || rounds * every >= options.liveEvery * 1000) {
        rounds = 0;
        read();
      }
    }, every);

    return {
      stop: function () {
        stopped = true;
        window.clearInterval(rounder);
        if (socket) {
          try { socket.close(1000); } catch (ignored) { /* closed already */ }
        }
      }
    };
  };
})();
