// The lobby screen: the latest call on one line, the previous calls, the waiting count
// and its estimate, the clock; live from the server, shown as soon as the page loads.
//
// Options in the query string: services=caf,ants (only those démarches),
// stations=12,13 (only those station ids), rows=6 (calls on the screen: the latest and
// the previous ones), page=2 (a second screen showing the next rows), sound=0 (no chime,
// no voice, no sound button), kiosque=1 (sound on from the start, for a browser started
// with --autoplay-policy=no-user-gesture-required). ecran=<key>: the key of a screen
// paired by the mairie's manager, passed on to the websocket so that the screen is
// counted; a display without it shows the same public queue, uncounted. autostart=1 is
// still accepted and changes nothing (the screen starts by itself).
//
// A wrong option never blanks the screen: a value that is not one (rows=abc, page=-1,
// kiosque=peut-être) is ignored, and so are station ids and démarche codes this mairie
// does not have; a filter left with none is no filter. A key that cannot be one of ours
// (other characters: a mangled address) is not passed on: the screen shows the public
// queue, uncounted, and says its address is wrong. What is ignored is said in the
// browser's console by the option's name, never its value (a key is a secret).
//
// While the mairie is closed (`opening` in the state, re-read every minute), the screen
// shows no waiting estimate but that it is closed and when it opens next, if known.
//
// Sound: the "Activer le son" button's choice is remembered in this browser
// (localStorage); on the next load the screen asks for sound again, and if the browser
// holds it back until a gesture, it says so and the first click or key brings it back.
//
// The arrival QR code (remote tickets) is shown when the state carries
// `arrival: {qr}` (an image address of this server, or a data: image); hidden otherwise.
//
// Words: the page is in the language of its address (`?lang=en`) or the visitor's; what
// this script writes comes from the page's `#words` (app/live/lobby.py), patterns whose
// `{name}` it fills in: "Attente estimée pour un nouveau ticket : {wait}".
import { Announcer } from "./announcer.js";
import { LiveSocket } from "./live.js";

const slug = slugOf(location.pathname);
const options = new URLSearchParams(location.search);
let onlyServices = listOption("services", /^[a-z0-9][a-z0-9-]{0,39}$/);
let onlyStations = listOption("stations", /^\d{1,9}$/);
const rows = numberOption("rows", 6, 1, 20);
const page = numberOption("page", 1, 1, 100);
const KEY_SHAPE = /^[A-Za-z0-9_-]{1,100}$/;
const givenKey = options.get("ecran");
const badKey = Boolean(givenKey) && !KEY_SHAPE.test(givenKey);
const screenKey = badKey ? null : givenKey;
const withoutSound = flagOption("sound", "0", "1");
const kiosk = flagOption("kiosque", "1", "0");
const FRESH_MS = 10000;
const OPENING_EVERY_MS = 60000;
const NOT_PAIRED = 4403;
const SOUND_CHOICE = "guichet.display.son";
const NBSP = "\u00a0";

const $ = (id) => document.getElementById(id);
const WORDS = JSON.parse($("words").textContent);
// "0 personne" in French, "0 people" in English: each language's own rule.
const plural = new Intl.PluralRules(WORDS.locale);
const announcer = new Announcer({
  onChange: showSound,
  lang: WORDS.locale,
  words: (number, station) => said("announce", {
    letter: number[0],
    number: parseInt(number.slice(1), 10),
    station: station.toLowerCase(),
  }),
});
const seen = new Set();
let state = null;
let firstState = true;
let timeZone;
// Whether the mairie is open: {open, opens_at, today}; null until the server says.
let opening = null;

function ignored(name) {
  console.warn(`Écran d'appel : option « ${name} » ignorée.`);
}

function slugOf(path) {
  const last = path.replace(/\/+$/, "").split("/").pop();
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

// The items of a list option that have the shape `pattern`; null (no filter) when none do.
function listOption(name, pattern) {
  const value = options.get(name);
  if (value === null) return null;
  const items = value.split(",").map((item) => item.trim().toLowerCase()).filter(Boolean);
  const good = items.filter((item) => pattern.test(item));
  if (good.length < items.length || good.length === 0) ignored(name);
  return good.length ? new Set(good) : null;
}

// A whole number from `low` to `high`; `fallback` for anything else.
function numberOption(name, fallback, low, high) {
  const value = options.get(name);
  if (value === null) return fallback;
  const number = /^\s*\d{1,6}\s*$/.test(value) ? parseInt(value, 10) : NaN;
  if (Number.isNaN(number)) {
    ignored(name);
    return fallback;
  }
  return Math.max(low, Math.min(high, number));
}

// Whether the flag is `on`; a value neither `on` nor `off` is ignored.
function flagOption(name, on, off) {
  const value = options.get(name);
  if (value !== null && value !== on && value !== off && value !== "") ignored(name);
  return value === on;
}

// A filter without the items this mairie does not have; no filter when none is left.
function known(filter, name, items) {
  if (!filter) return null;
  const kept = new Set([...filter].filter((item) => items.has(item)));
  if (kept.size < filter.size) ignored(name);
  return kept.size ? kept : null;
}

function shown(call) {
  if (onlyServices && !onlyServices.has(call.service)) return false;
  if (onlyStations && !onlyStations.has(String(call.station_id))) return false;
  return true;
}

// WORDS[name] with its `{key}` filled from `values`.
function said(name, values = {}) {
  return WORDS[name].replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

// A time or a duration in one piece: a line never ends between "9 h" and "30".
function unbroken(text) {
  return text.replace(/ /g, NBSP);
}

function parts(date, format) {
  let formatter;
  try {
    formatter = new Intl.DateTimeFormat(WORDS.locale, { ...format, timeZone });
  } catch {
    formatter = new Intl.DateTimeFormat(WORDS.locale, format);
  }
  return Object.fromEntries(formatter.formatToParts(date).map((part) => [part.type, part.value]));
}

// "9 h 30" ("9:30" in English), in the mairie's time zone.
function clockText(date) {
  const { hour, minute } = parts(date, { hour: "numeric", minute: "2-digit", hourCycle: "h23" });
  return unbroken(said("clock", { hour: parseInt(hour, 10), minute }));
}

// "mercredi 1er décembre" ("Wednesday 1 December").
function dayText(date) {
  const { weekday, day, month } = parts(date, { weekday: "long", day: "numeric", month: "long" });
  return said("day", { weekday, day: day === "1" ? WORDS.first : day, month }).replace(
    / (\S+)$/,
    `${NBSP}$1`,
  );
}

// "25 minutes", "1 heure", "2 heures", "1 h 30": minutes rounded to five, never one.
function duration(minutes) {
  if (minutes < 60) return unbroken(said("minutes", { num: minutes }));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (rest === 0) return unbroken(said(hours === 1 ? "hour" : "hours", { num: hours }));
  return unbroken(said("hours_minutes", { hours, minutes: String(rest).padStart(2, "0") }));
}

// The wait a newcomer may expect, in words, rounded to five minutes: never "0 à 38".
export function estimateText([low, high]) {
  const from = Math.floor(low / 5) * 5;
  const to = Math.max(5, Math.ceil(high / 5) * 5);
  if (from >= 120) return said("over", { duration: duration(120) });
  if (to <= 10) return said("under", { duration: duration(10) });
  if (from < 5) return said("under", { duration: duration(to) });
  if (to - from <= 5) return said("about", { duration: duration(to) });
  if (to < 60) return said("between_minutes", { low: from, count: to }).replace(/ (\S+)$/, `${NBSP}$1`);
  return said("between", { low: duration(from), high: duration(to) });
}

function key(call) {
  return `${call.number}|${call.called_at}`;
}

// `next` on the screen; its calls not seen before are announced, unless `quiet` (the same
// state shown again once a filter lost what this mairie does not have).
function render(next, quiet = false) {
  const calls = next.called.filter(shown);
  const fresh = [];
  for (const call of calls.slice().reverse()) {
    if (!seen.has(key(call))) {
      seen.add(key(call));
      if (!firstState && !quiet) fresh.push(call);
    }
  }
  firstState = false;
  state = next;
  takeOpening(next);
  const pageCalls = calls.slice((page - 1) * rows, page * rows);
  const latest = page === 1 ? pageCalls[0] : undefined;
  const previous = page === 1 ? pageCalls.slice(1) : pageCalls;
  $("latest").replaceChildren(...(latest ? [callLine(latest, "p")] : []));
  $("no-calls").hidden = Boolean(latest);
  $("calls").replaceChildren(...previous.map((call) => callLine(call, "li")));
  $("no-previous").hidden = previous.length > 0;
  $("calls-head").hidden = previous.length === 0;
  fitLatest();
  fitRows();
  showWaiting(next.waiting);
  showArrival(next.arrival);
  $("last-update").textContent = clockText(new Date());
  for (const call of fresh) announcer.announce(call.number, call.station);
}

function callLine(call, tag) {
  const item = document.createElement(tag);
  item.className = "call";
  const age = Date.now() - new Date(call.called_at).getTime();
  if (age < FRESH_MS && call.status === "called") {
    item.classList.add("fresh");
    window.setTimeout(() => item.classList.remove("fresh"), FRESH_MS - Math.max(0, age));
  }
  const number = document.createElement("span");
  number.className = "number";
  number.textContent = call.number;
  const label = document.createElement("span");
  label.className = "fresh-label";
  label.textContent = WORDS.new_call;
  number.append(label);
  const to = document.createElement("span");
  to.className = "to";
  const arrow = document.createElement("span");
  arrow.setAttribute("aria-hidden", "true");
  arrow.textContent = "→";
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = ` ${WORDS.go_to} `;
  to.append(arrow, spoken);
  const station = document.createElement("span");
  station.className = "station";
  station.textContent = call.station;
  item.append(number, to, station);
  return item;
}

// The latest call stays on one line: CSS sizes it with clamp(); a station name longer
// than the usual "Poste 3" shrinks it further rather than wrap or overflow.
// The previous calls that fit whole: a row the panel would cut in half (a banner took
// some height, a long list on a small screen) is left out rather than shown in part.
function fitRows() {
  const list = $("calls");
  const box = list.parentElement.getBoundingClientRect();
  for (const row of list.children) row.hidden = false;
  for (const row of list.children) row.hidden = row.getBoundingClientRect().bottom > box.bottom + 1;
}

function fitLatest() {
  const line = $("latest").firstElementChild;
  if (!line) return;
  line.style.removeProperty("--fit");
  const room = line.clientWidth;
  const needed = line.scrollWidth;
  if (needed > room && room > 0) line.style.setProperty("--fit", String((room / needed) * 0.97));
}

// "Mairie fermée en ce moment. Ouverture aujourd'hui à 13 h 30." (or another day's).
function closedText({ opens_at: opensAt, today }) {
  const opens = opensAt ? new Date(opensAt) : null;
  if (!opens || Number.isNaN(opens.getTime())) return WORDS.closed;
  if (today) return said("opens_today", { time: clockText(opens) });
  return said("opens_later", { day: dayText(opens), time: clockText(opens) });
}

function showWaiting(waiting) {
  const byService = waiting.by_service || {};
  const count = onlyServices
    ? [...onlyServices].reduce((sum, code) => sum + (byService[code] || 0), 0)
    : waiting.count;
  $("waiting-count").textContent = String(count);
  $("waiting-people").textContent = plural.select(count) === "one" ? WORDS.person : WORDS.people;
  const eta = waiting.eta_minutes;
  const line = $("waiting-eta");
  const closed = Boolean(opening && opening.open === false);
  if (closed) {
    line.hidden = false;
    line.textContent = closedText(opening);
    return;
  }
  line.hidden = !(count > 0 && eta);
  line.textContent = line.hidden ? "" : said("wait", { wait: estimateText(eta) });
}

function takeOpening(body) {
  if (body && body.opening && typeof body.opening.open === "boolean") opening = body.opening;
}

// Opening and closing time change nothing in the queue: the state is asked for them.
async function rereadOpening() {
  const response = await fetch(`/api/v1/sites/${encodeURIComponent(slug)}/display`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) return;
  const next = await response.json();
  takeOpening(next);
  // Opening hides or gives the estimate with no change in the queue: the state's own
  // waiting line is taken too, unless the websocket has already brought a newer one.
  if (state && next.seq === state.seq && next.waiting) state.waiting = next.waiting;
  if (state) showWaiting(state.waiting);
}

function showArrival(arrival) {
  const qr = arrival && typeof arrival.qr === "string" ? arrival.qr : "";
  const usable = qr.startsWith("/") || qr.startsWith("data:image/");
  const image = $("arrival-code");
  if (usable && image.getAttribute("src") !== qr) image.setAttribute("src", qr);
  // The six digits too, for a phone that cannot read the QR code: typed on the ticket's page.
  const code = arrival && typeof arrival.code === "string" && /^\d{6}$/.test(arrival.code) ? arrival.code : "";
  $("arrival-digits").textContent = code ? `${code.slice(0, 3)}${NBSP}${code.slice(3)}` : "";
  $("arrival-typed").hidden = !(usable && code);
  $("arrival").hidden = !usable;
  document.body.classList.toggle("with-arrival", usable);
}

async function reread() {
  const response = await fetch(`/api/v1/sites/${encodeURIComponent(slug)}/display`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) return;
  const next = await response.json();
  // The public state never carries the arrival code: a paired screen keeps the one its
  // websocket last sent (a new code, or none once closed, comes as a snapshot).
  if (state && state.arrival) next.arrival = state.arrival;
  // Two gaps in a row start two re-reads: the one answered last may be the older.
  if (!state || next.seq >= state.seq) render(next);
}

function tick() {
  const now = new Date();
  $("clock").textContent = clockText(now);
  $("today").textContent = dayText(now);
}

function rememberedSound() {
  try {
    return window.localStorage.getItem(SOUND_CHOICE);
  } catch {
    return null;
  }
}

function rememberSound(choice) {
  try {
    window.localStorage.setItem(SOUND_CHOICE, choice);
  } catch {
    // A browser that keeps nothing asks again at the next load.
  }
}

function showSound() {
  const button = $("sound");
  button.textContent = announcer.playing ? WORDS.sound_off : WORDS.sound_on;
  button.classList.toggle("on", announcer.playing);
  $("sound-note").hidden = !(announcer.enabled && !announcer.playing);
}

function setUpSound() {
  if (withoutSound) return;
  const button = $("sound");
  button.hidden = false;
  button.addEventListener("click", () => {
    if (announcer.playing) {
      announcer.disable();
      rememberSound("off");
      return;
    }
    announcer.enable();
    rememberSound("on");
    if (announcer.audio) {
      announcer.audio.resume().then(() => announcer.chime(), () => {});
    }
  });
  // Sound asked for but held back by the browser: the first gesture anywhere brings it.
  const wake = (event) => {
    if (event.target === button || !announcer.enabled || announcer.playing) return;
    announcer.enable();
  };
  document.addEventListener("pointerdown", wake);
  document.addEventListener("keydown", wake);
  const choice = rememberedSound();
  if (choice === "on" || (choice === null && kiosk)) announcer.enable();
  showSound();
}

function connect() {
  const query = screenKey ? `?ecran=${encodeURIComponent(screenKey)}` : "";
  const socket = new LiveSocket(`/ws/sites/${encodeURIComponent(slug)}/display${query}`, {
    finalCodes: [NOT_PAIRED],
    onRefused() {
      $("offline").hidden = true;
      $("unpaired").hidden = false;
      // What it showed before is no longer followed: no old calls or count left as if live.
      document.body.classList.add("refused");
    },
    onMessage(message) {
      if (message.type === "snapshot" || !state || message.seq === state.seq + 1) {
        render(message);
      } else if (message.seq > state.seq + 1) {
        reread().catch(() => render(message));
      }
    },
    onOnline() {
      $("offline").hidden = true;
      fitRows();
    },
    onOffline() {
      $("offline").hidden = false;
      fitRows();
    },
  });
  socket.open();
}

async function loadSite() {
  const response = await fetch(`/api/v1/sites/${encodeURIComponent(slug)}`);
  if (response.ok) {
    const site = await response.json();
    $("mairie").textContent = site.name;
    document.title = said("title", { mairie: site.name });
    timeZone = site.timezone;
    onlyStations = known(onlyStations, "stations", new Set(site.stations.map((s) => String(s.id))));
    if (state) render(state, true);
    tick();
    fitLatest();
  }
}

async function loadServices() {
  if (!onlyServices) return;
  const response = await fetch("/api/v1/services");
  if (response.ok) {
    onlyServices = known(onlyServices, "services", new Set((await response.json()).map((s) => s.code)));
    if (state) render(state, true);
  }
}

document.body.classList.toggle("kiosk", kiosk);
document.body.classList.toggle("continued", page > 1);
if (page > 1) $("calls-title").textContent = WORDS.continued;
tick();
window.setInterval(tick, 1000);
window.addEventListener("resize", () => {
  fitLatest();
  fitRows();
});
$("bad-key").hidden = !badKey;
if (badKey) ignored("ecran");
setUpSound();
loadSite();
loadServices();
connect();
window.setInterval(() => rereadOpening().catch(() => {}), OPENING_EVERY_MS);
