// The lobby screen: the latest calls and the waiting count, live from the server.
//
// Options in the query string: services=caf,ants (only those démarches),
// stations=12,13 (only those station ids), rows=6, page=2 (a second screen showing the
// next rows), sound=0 (no chime, no voice). ecran=<key>: the key of a screen paired by
// the mairie's manager, passed on to the websocket so that the screen is counted; a
// display without it shows the same public queue, uncounted.
import { Announcer } from "./announcer.js";
import { LiveSocket } from "./live.js";

const slug = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const options = new URLSearchParams(location.search);
const onlyServices = listOption("services");
const onlyStations = listOption("stations");
const rows = Math.max(1, Math.min(20, parseInt(options.get("rows") || "6", 10)));
const page = Math.max(1, parseInt(options.get("page") || "1", 10));
const screenKey = options.get("ecran");
const FRESH_MS = 10000;
const NOT_PAIRED = 4403;

const announcer = new Announcer();
const seen = new Set();
let state = null;
let firstState = true;

function listOption(name) {
  const value = options.get(name);
  return value ? new Set(value.split(",").map((item) => item.trim()).filter(Boolean)) : null;
}

function shown(call) {
  if (onlyServices && !onlyServices.has(call.service)) return false;
  if (onlyStations && !onlyStations.has(String(call.station_id))) return false;
  return true;
}

function hhmm(date) {
  return date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
}

function key(call) {
  return `${call.number}|${call.called_at}`;
}

function render(next) {
  const calls = next.called.filter(shown);
  const fresh = [];
  for (const call of calls.slice().reverse()) {
    if (!seen.has(key(call))) {
      seen.add(key(call));
      if (!firstState) fresh.push(call);
    }
  }
  firstState = false;
  state = next;
  const list = document.getElementById("calls");
  const pageCalls = calls.slice((page - 1) * rows, page * rows);
  list.replaceChildren(...pageCalls.map((call) => row(call)));
  document.getElementById("no-calls").hidden = pageCalls.length > 0;
  const waiting = next.waiting;
  const count = onlyServices
    ? [...onlyServices].reduce((sum, code) => sum + (waiting.by_service[code] || 0), 0)
    : waiting.count;
  document.getElementById("waiting-count").textContent = String(count);
  document.getElementById("waiting-people").textContent = count > 1 ? "personnes" : "personne";
  const eta = waiting.eta_minutes;
  document.getElementById("waiting-eta").textContent =
    count > 0 && eta ? `Attente estimée : ${eta[0]} à ${eta[1]} minutes` : "";
  document.getElementById("last-update").textContent = hhmm(new Date());
  for (const call of fresh) announcer.announce(call.number, call.station);
}

function row(call) {
  const item = document.createElement("li");
  item.className = "call";
  const age = Date.now() - new Date(call.called_at).getTime();
  if (age < FRESH_MS && call.status === "called") {
    item.classList.add("fresh");
    window.setTimeout(() => item.classList.remove("fresh"), FRESH_MS - Math.max(0, age));
  }
  if (call.status !== "called") item.classList.add("done");
  const number = document.createElement("span");
  number.className = "number";
  number.textContent = call.number;
  const label = document.createElement("span");
  label.className = "fresh-label";
  label.textContent = "nouvel appel";
  number.append(label);
  const station = document.createElement("span");
  station.className = "station";
  station.textContent = call.station;
  item.append(number, station);
  return item;
}

async function reread() {
  const response = await fetch(`/api/v1/sites/${encodeURIComponent(slug)}/display`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) return;
  const next = await response.json();
  // Two gaps in a row start two re-reads: the one answered last may be the older.
  if (!state || next.seq >= state.seq) render(next);
}

function tick() {
  document.getElementById("clock").textContent = hhmm(new Date());
}

async function start(withSound) {
  document.getElementById("start").hidden = true;
  if (withSound && options.get("sound") !== "0") announcer.enable();
  const query = screenKey ? `?ecran=${encodeURIComponent(screenKey)}` : "";
  const socket = new LiveSocket(`/ws/sites/${encodeURIComponent(slug)}/display${query}`, {
    finalCodes: [NOT_PAIRED],
    onRefused() {
      document.getElementById("offline").hidden = true;
      document.getElementById("unpaired").hidden = false;
    },
    onMessage(message) {
      if (message.type === "snapshot" || !state || message.seq === state.seq + 1) {
        render(message);
      } else if (message.seq > state.seq + 1) {
        reread().catch(() => render(message));
      }
    },
    onOnline() {
      document.getElementById("offline").hidden = true;
    },
    onOffline() {
      document.getElementById("offline").hidden = false;
    },
  });
  socket.open();
}

async function loadSite() {
  const response = await fetch(`/api/v1/sites/${encodeURIComponent(slug)}`);
  if (response.ok) {
    const site = await response.json();
    document.getElementById("mairie").textContent = site.name;
    document.title = `Appels – ${site.name}`;
  }
}

tick();
window.setInterval(tick, 1000);
loadSite();
document.getElementById("start-button").addEventListener("click", () => start(true));
document.getElementById("start-silent").addEventListener("click", () => start(false));
if (options.get("autostart") === "1") start(false);
