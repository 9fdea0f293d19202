// A websocket that comes back by itself: backoff with jitter, and a call to onOffline /
// onOnline so the screen can say it lost the server. Each new connection starts with a
// snapshot, so the state is re-read on every reconnection. A connection the server
// closes with one of `finalCodes` (a revoked screen key) is not tried again: onRefused.
export class LiveSocket {
  constructor(path, { onMessage, onOnline, onOffline, onRefused = () => {}, finalCodes = [] }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onMessage = onMessage;
    this.onOnline = onOnline;
    this.onOffline = onOffline;
    this.onRefused = onRefused;
    this.finalCodes = new Set(finalCodes);
    this.attempt = 0;
  }

  open() {
    const socket = new WebSocket(this.url);
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onOnline();
    });
    socket.addEventListener("message", (event) => {
      try {
        this.onMessage(JSON.parse(event.data));
      } catch (error) {
        console.error(error);
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.finalCodes.has(event.code)) {
        this.onRefused(event.code);
        return;
      }
      this.onOffline();
      const base = Math.min(30000, 500 * 2 ** this.attempt);
      const delay = base * (0.5 + Math.random());
      this.attempt += 1;
      window.setTimeout(() => this.open(), delay);
    });
  }
}
