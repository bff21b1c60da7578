// The dashboard: one request draws the first screen (/api/dashboard), the live stream
// (/api/events) keeps it current. The grid is built once from a template; a live update
// touches only the cards of the sensors that changed; sparklines are drawn only for cards
// on screen (IntersectionObserver), at most once per animation frame.

import { ApiError, LiveStream, firstSummary, request, storeToken, storedToken } from "./api.js";
import { drawSparkline, themeColors } from "./chart.js";
import { ago, cardMeasurements, duration, label, number, when, withUnit } from "./format.js";
import { SensorPage } from "./sensor.js";

const DAY = 86400;
const SPARK_LIVE_STEP = 60; // live points are added to a sparkline at most once a minute
const TICK_MS = 5000; // "last seen", states and counts are brought up to date this often
const RESYNC_MIN_MS = 5000;

const $ = (id) => document.getElementById(id);

const S = {
  settings: null,
  hub: null,
  offset: 0, // server clock minus ours, so "2 min ago" is right on a phone with a wrong clock
  sensors: new Map(), // address -> sensor (as /api/dashboard gives it, kept current)
  cards: new Map(), // address -> card elements and drawing state
  active: new Map(), // "rule|address" -> pending or firing alert
  recent: [],
  battery: null,
  health: null,
  stream: null,
  rendered: false,
};
window.hubDashboard = S; // for the curious (and the browser tests)

const serverNow = () => Date.now() / 1000 + S.offset;

// -- sensor state ------------------------------------------------------------------------

function alertKey(alert) {
  return `${alert.rule}|${alert.address || alert.sensor}`;
}

function alertsOf(address) {
  const found = [];
  for (const alert of S.active.values()) if (alert.address === address) found.push(alert);
  return found;
}

function stateOf(sensor, now) {
  if (alertsOf(sensor.address).some((a) => a.state === "firing")) return "alerting";
  return now - sensor.last_seen > S.settings.stale_after ? "stale" : "ok";
}

const RANK = { alerting: 0, stale: 1, ok: 2 };

// -- cards -------------------------------------------------------------------------------

function buildCard(sensor) {
  const root = $("card-tpl").content.firstElementChild.cloneNode(true);
  const card = {
    root,
    name: root.querySelector(".name"),
    badge: root.querySelector(".state"),
    where: root.querySelector(".where"),
    values: root.querySelector(".values"),
    spark: root.querySelector(".spark"),
    caption: root.querySelector(".spark-caption"),
    battery: root.querySelector(".battery"),
    signal: root.querySelector(".signal"),
    seen: root.querySelector(".seen"),
    shown: "", // the measurements the values list holds, joined
    visible: false,
    dirty: true,
    state: "",
  };
  root.dataset.address = sensor.address;
  fillCard(card, sensor, serverNow());
  return card;
}

function fillCard(card, sensor, now) {
  card.name.textContent = sensor.name;
  card.name.href = `#/sensor/${encodeURIComponent(sensor.address)}`;
  card.where.textContent = [sensor.location, sensor.model].filter(Boolean).join(" · ") || "\u00a0";
  fillValues(card, sensor);
  fillFooter(card, sensor, now);
  setState(card, stateOf(sensor, now));
}

function fillValues(card, sensor) {
  const measurements = sensor.latest ? sensor.latest.measurements : {};
  const names = cardMeasurements(measurements);
  const shown = names.join(",");
  if (shown !== card.shown) {
    card.shown = shown;
    card.values.replaceChildren(
      ...names.map((m) => {
        const row = document.createElement("div");
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = label(m);
        dd.dataset.m = m;
        row.append(dt, dd);
        return row;
      }),
    );
    if (!names.length) {
      const none = document.createElement("p");
      none.className = "muted";
      none.textContent = "no readings yet";
      card.values.append(none);
    }
  }
  for (const dd of card.values.querySelectorAll("dd")) {
    const value = measurements[dd.dataset.m];
    const text = withUnit(dd.dataset.m, value);
    if (dd.textContent !== text) dd.textContent = text;
    dd.dataset.value = value === undefined ? "" : String(value);
  }
}

function fillFooter(card, sensor, now) {
  const m = sensor.latest ? sensor.latest.measurements : {};
  let battery = "";
  if (m.battery !== undefined) battery = `Battery ${number("battery", m.battery)} %`;
  else if (m.voltage !== undefined) battery = `Battery ${number("voltage", m.voltage)} V`;
  card.battery.textContent = battery;
  card.battery.classList.toggle("low", m.battery !== undefined && m.battery < 20);
  const rssi = sensor.latest ? sensor.latest.rssi : null;
  card.signal.textContent = rssi === null || rssi === undefined ? "" : `Signal ${rssi} dBm`;
  card.seen.dataset.ts = String(sensor.last_seen);
  updateSeen(card, now);
}

function updateSeen(card, now) {
  const text = `seen ${ago(now - Number(card.seen.dataset.ts))}`;
  if (card.seen.textContent !== text) card.seen.textContent = text;
}

function setState(card, state) {
  if (card.state === state) return false;
  card.state = state;
  card.root.dataset.state = state;
  card.badge.textContent = state;
  return true;
}

// -- sparklines: drawn when on screen, once per frame --------------------------------------

const toDraw = new Set();
let frame = 0;

function drawSpark(card) {
  const sensor = S.sensors.get(card.root.dataset.address);
  if (!sensor) return;
  const now = serverNow();
  const spark = sensor.spark || { t: [], temperature: [], humidity: [] };
  const ranges = drawSparkline(card.spark, spark, {
    from: now - DAY,
    to: now,
    recentFrom: S.settings.spark_recent_from,
    recentStep: S.settings.spark_recent_step,
  });
  card.dirty = false;
  card.spark.dataset.points = String(spark.t.length);
  const parts = [];
  for (const m of ["temperature", "humidity"]) {
    if (!ranges[m]) continue;
    const [low, high] = ranges[m];
    const same = number(m, low) === number(m, high);
    parts.push(same ? withUnit(m, high) : `${number(m, low)}…${withUnit(m, high)}`);
  }
  card.caption.textContent = parts.length ? `24 h: ${parts.join(" · ")}` : "24 h: no data";
  card.spark.setAttribute("aria-label", `Last 24 hours: ${parts.join(", ") || "no data"}`);
}

function requestDraw(card) {
  card.dirty = true;
  if (!card.visible) return;
  toDraw.add(card);
  if (!frame) {
    frame = requestAnimationFrame(() => {
      frame = 0;
      for (const c of toDraw) drawSpark(c);
      toDraw.clear();
    });
  }
}

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      const card = S.cards.get(entry.target.dataset.address);
      if (!card) continue;
      card.visible = entry.isIntersecting;
      if (card.visible && card.dirty) drawSpark(card);
    }
    if (!S.rendered) {
      // The first callback reports every card: the first screen is now drawn.
      S.rendered = true;
      performance.mark("dashboard-rendered");
      document.body.dataset.rendered = "true";
    }
  },
  { rootMargin: "200px 0px" },
);

// -- the grid ----------------------------------------------------------------------------

function sortKey(sensor, mode) {
  const name = sensor.name.toLowerCase();
  if (mode === "name") return [name];
  if (mode === "location") return [(sensor.location || "\uffff").toLowerCase(), name];
  if (mode === "seen") return [-sensor.last_seen, name];
  const card = S.cards.get(sensor.address);
  return [RANK[card ? card.state : "ok"], name];
}

function compare(a, b) {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

function arrange() {
  const mode = $("sort").value;
  const text = $("filter").value.trim().toLowerCase();
  const show = $("show").value;
  const sorted = [...S.sensors.values()]
    .map((s) => [sortKey(s, mode), s])
    .sort((a, b) => compare(a[0], b[0]))
    .map(([, s]) => s);
  const grid = $("grid");
  let index = 0;
  let visible = 0;
  for (const sensor of sorted) {
    const card = S.cards.get(sensor.address);
    const matches =
      (!text || `${sensor.name} ${sensor.location || ""} ${sensor.address}`.toLowerCase().includes(text)) &&
      (show === "all" || card.state === show);
    card.root.hidden = !matches;
    visible += matches;
    // Move only what is out of place: re-sorting 200 cards touches a few of them.
    if (grid.children[index] !== card.root) grid.insertBefore(card.root, grid.children[index] || null);
    index += 1;
  }
  $("empty").hidden = S.sensors.size !== 0;
  $("none-match").hidden = S.sensors.size === 0 || visible !== 0;
}

function renderCounts() {
  const counts = { ok: 0, stale: 0, alerting: 0 };
  for (const card of S.cards.values()) counts[card.state] += 1;
  $("count-all").textContent = String(S.sensors.size);
  $("count-ok").textContent = String(counts.ok);
  $("count-stale").textContent = String(counts.stale);
  $("count-alerting").textContent = String(counts.alerting);
}

// -- header, alerts, battery --------------------------------------------------------------

function renderHealth() {
  const health = S.health;
  if (!health) return;
  const badge = $("health-badge");
  badge.textContent = health.status;
  badge.dataset.state = health.status;
  $("health-reason").textContent =
    health.status === "ok" ? "every check ok" : Object.entries(health.problems).map(([k, v]) => `${k}: ${v}`).join("; ");
}

function sensorLink(address, text) {
  if (!address || !S.sensors.has(address)) {
    const span = document.createElement("span");
    span.textContent = text;
    return span;
  }
  const a = document.createElement("a");
  a.href = `#/sensor/${encodeURIComponent(address)}`;
  a.textContent = S.sensors.get(address).name;
  return a;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function renderAlerts() {
  const now = serverNow();
  const list = $("firing");
  const active = [...S.active.values()].sort(
    (a, b) => (a.state === "firing" ? 0 : 1) - (b.state === "firing" ? 0 : 1) || (a.since || 0) - (b.since || 0),
  );
  list.replaceChildren(
    ...active.map((alert) => {
      const li = element("li", `alert ${alert.state} sev-${alert.severity || "warning"}`);
      li.dataset.rule = alert.rule;
      li.append(
        element("span", "badge", alert.state === "firing" ? alert.severity || "firing" : "pending"),
        " ",
        sensorLink(alert.address, alert.sensor),
        " ",
        element("span", "rule", alert.rule),
        " ",
        element("span", "msg", alert.message || ""),
        " ",
        element("span", "since muted", alert.since ? `for ${duration(now - alert.since)}` : ""),
      );
      return li;
    }),
  );
  const firing = active.filter((a) => a.state === "firing").length;
  $("alerts-none").hidden = active.length !== 0;
  $("alerts-title").textContent = firing ? `Alerts (${firing} firing)` : "Alerts";
  const recent = $("transitions");
  recent.replaceChildren(
    ...S.recent.slice(0, 20).map((t) => {
      const li = element("li", `transition ${t.state}`);
      li.append(
        element("time", "muted", when(t.ts, now)),
        " ",
        element("span", "badge", t.state),
        " ",
        sensorLink(t.address, t.sensor),
        " ",
        element("span", "rule", t.rule),
        t.value === null || t.value === undefined ? "" : element("span", "muted", ` ${t.value}`),
      );
      return li;
    }),
  );
  $("transitions-none").hidden = S.recent.length !== 0;
}

function renderBattery() {
  const report = S.battery;
  const list = $("battery-list");
  if (!report) {
    $("battery-summary").textContent = "No battery report yet (the hub makes one a day).";
    list.replaceChildren();
    return;
  }
  const now = serverNow();
  const attention = report.sensors
    .filter((s) => (s.battery !== null && s.battery < 20) || (s.days_left !== null && s.days_left < 60))
    .sort((a, b) => (a.days_left ?? 1e9) - (b.days_left ?? 1e9) || (a.battery ?? 100) - (b.battery ?? 100));
  const low = report.sensors.filter((s) => s.battery !== null && s.battery < 20).length;
  $("battery-summary").textContent = attention.length
    ? `Report of ${when(report.ts, now)}: ${report.sensors.length} sensors, ${low} low, ${attention.length} ${attention.length === 1 ? "needs" : "need"} a look.`
    : `Report of ${when(report.ts, now)}: all ${report.sensors.length} batteries are fine.`;
  list.replaceChildren(
    ...attention.slice(0, 8).map((s) => {
      const li = element("li");
      const level = s.battery !== null ? `${number("battery", s.battery)} %` : s.voltage !== null ? `${number("voltage", s.voltage)} V` : "–";
      const left = s.days_left === null ? "" : s.days_left < 1 ? " · under a day left" : ` · about ${Math.round(s.days_left)} days left`;
      const trend = s.trend_per_day ? ` · ${s.trend_per_day.toFixed(2)} %/day` : "";
      li.append(sensorLink(s.address, s.name || s.address), element("span", "muted", ` ${level}${left}${trend}`));
      return li;
    }),
  );
}

// -- applying data -----------------------------------------------------------------------

function applySummary(summary) {
  $("problem").hidden = true;
  S.settings = summary.settings;
  S.hub = summary.hub;
  S.offset = summary.now - Date.now() / 1000;
  S.health = summary.health;
  S.battery = summary.battery;
  S.active = new Map(summary.alerts.active.map((a) => [alertKey(a), a]));
  S.recent = summary.alerts.recent;
  document.title = `${summary.hub.name} · hub`;
  $("forget").hidden = !summary.settings.token_required;
  $("hub-name").textContent = summary.hub.name;
  const now = serverNow();
  const seen = new Set();
  const fresh = document.createDocumentFragment();
  for (const sensor of summary.sensors) {
    seen.add(sensor.address);
    S.sensors.set(sensor.address, sensor);
    let card = S.cards.get(sensor.address);
    if (card) {
      fillCard(card, sensor, now);
      requestDraw(card);
    } else {
      card = buildCard(sensor);
      S.cards.set(sensor.address, card);
      fresh.append(card.root);
    }
  }
  for (const [address, card] of S.cards) {
    if (seen.has(address)) continue;
    observer.unobserve(card.root);
    card.root.remove();
    S.cards.delete(address);
    S.sensors.delete(address);
  }
  $("grid").append(fresh); // the DOM is touched once for every new card
  arrange();
  for (const card of S.cards.values()) observer.observe(card.root);
  renderCounts();
  renderHealth();
  renderAlerts();
  renderBattery();
  page.refresh();
}

let resyncTimer = 0;
let lastResync = 0;

function resync() {
  // At most one summary request every few seconds, however many reasons come up.
  if (resyncTimer) return;
  const wait = Math.max(0, lastResync + RESYNC_MIN_MS - Date.now());
  resyncTimer = setTimeout(async () => {
    lastResync = Date.now();
    try {
      applySummary(await request("/api/dashboard"));
    } catch (error) {
      handleError(error);
    } finally {
      resyncTimer = 0;
    }
  }, wait);
}

function onReadings({ sensors }) {
  const now = serverNow();
  let unknown = false;
  for (const [address, entry] of Object.entries(sensors)) {
    const sensor = S.sensors.get(address);
    if (!sensor) {
      unknown = true; // a new sensor: the summary has its name and history
      continue;
    }
    if (entry.measurements && (!sensor.latest || entry.ts >= sensor.latest.ts)) {
      sensor.latest = { ts: entry.ts, measurements: entry.measurements, rssi: entry.rssi ?? null };
      addSparkPoint(sensor, entry.ts, entry.measurements, now);
    } else if (entry.rssi !== undefined && sensor.latest) {
      sensor.latest.rssi = entry.rssi;
    }
    if (entry.seen !== undefined) sensor.last_seen = Math.max(sensor.last_seen, entry.seen);
    const card = S.cards.get(address);
    fillValues(card, sensor);
    fillFooter(card, sensor, now);
    if (setState(card, stateOf(sensor, now))) renderCounts();
    page.onReading(address, entry);
  }
  if (unknown) resync();
}

function addSparkPoint(sensor, ts, measurements, now) {
  const spark = sensor.spark || (sensor.spark = { t: [], temperature: [], humidity: [] });
  if (!("temperature" in measurements) && !("humidity" in measurements)) return;
  const last = spark.t.length ? spark.t[spark.t.length - 1] : -Infinity;
  if (ts - last < SPARK_LIVE_STEP) return;
  spark.t.push(ts);
  spark.temperature.push(measurements.temperature ?? null);
  spark.humidity.push(measurements.humidity ?? null);
  while (spark.t.length && spark.t[0] < now - DAY) {
    spark.t.shift();
    spark.temperature.shift();
    spark.humidity.shift();
  }
  requestDraw(S.cards.get(sensor.address));
}

function addressOfName(name) {
  for (const sensor of S.sensors.values()) if (sensor.name === name) return sensor.address;
  return null;
}

function onAlert(change) {
  const alert = { ...change, address: change.address || addressOfName(change.sensor) };
  const key = alertKey(alert);
  if (alert.state === "pending" || alert.state === "firing") {
    const before = S.active.get(key);
    S.active.set(key, {
      ...alert,
      since: alert.ts,
      started: before && before.state !== alert.state ? before.started : alert.ts,
    });
  } else {
    S.active.delete(key);
  }
  S.recent.unshift({ ...alert, id: 0 });
  S.recent.length = Math.min(S.recent.length, 20);
  renderAlerts();
  const sensor = alert.address && S.sensors.get(alert.address);
  if (sensor && setState(S.cards.get(sensor.address), stateOf(sensor, serverNow()))) {
    renderCounts();
    arrange();
  }
}

function onSensor(updated) {
  const sensor = S.sensors.get(updated.address);
  if (!sensor) {
    resync();
    return;
  }
  // Metadata only: the live values and the sparkline stay as they are.
  for (const key of ["name", "given_name", "location", "notes", "configured", "model"]) sensor[key] = updated[key];
  fillCard(S.cards.get(sensor.address), sensor, serverNow());
  arrange();
  page.refresh();
}

// -- time passing ------------------------------------------------------------------------

function tick() {
  if (!S.settings) return;
  const now = serverNow();
  let changed = false;
  for (const [address, card] of S.cards) {
    updateSeen(card, now);
    changed = setState(card, stateOf(S.sensors.get(address), now)) || changed;
  }
  if (changed) {
    renderCounts();
    arrange();
  }
  renderAlerts();
}

// -- errors, login, connection -----------------------------------------------------------

function setConnection(state) {
  const el = $("conn");
  el.dataset.state = state;
  el.textContent = { live: "live", reconnecting: "reconnecting…", offline: "offline" }[state] || state;
}

function showLogin(message) {
  S.stream?.close();
  $("overview").hidden = true;
  $("sensor-page").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("token").focus();
}

function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    showLogin(storedToken() ? "The hub refused that token." : "");
    return;
  }
  setConnection("offline");
  $("problem").hidden = false;
  $("problem").textContent = `Cannot load the dashboard: ${error.message}`;
}

// -- theme -------------------------------------------------------------------------------

const THEMES = ["auto", "light", "dark"];

function applyTheme(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const button = $("theme");
  button.textContent = `Theme: ${theme}`;
  button.dataset.theme = theme;
  themeColors(true);
  for (const card of S.cards.values()) requestDraw(card);
  page.redraw();
}

function currentTheme() {
  try {
    return localStorage.getItem("hub.theme") || "auto";
  } catch {
    return "auto";
  }
}

// -- routing: #/ is the overview, #/sensor/<address> a sensor's page --------------------------

const page = new SensorPage({
  root: $("sensor-page"),
  template: $("sensor-tpl"),
  sensor: (address) => S.sensors.get(address),
  serverNow,
  onEdited: onSensor,
  onUnauthorized: () => showLogin("The hub refused that token."),
});

function route() {
  const match = /^#\/sensor\/(.+)$/.exec(location.hash);
  if (!S.settings) return;
  if (match) {
    $("overview").hidden = true;
    page.show(decodeURIComponent(match[1]));
  } else {
    page.hide();
    $("overview").hidden = false;
  }
}

// -- start -------------------------------------------------------------------------------

async function boot() {
  $("login").hidden = true;
  let summary;
  try {
    summary = await firstSummary();
  } catch (error) {
    handleError(error);
    if (!(error instanceof ApiError && error.status === 401)) setTimeout(boot, 5000);
    return;
  }
  performance.mark("dashboard-data"); // the summary is here (the bench shows the split)
  $("overview").hidden = false;
  applySummary(summary);
  performance.mark("dashboard-built");
  route();
  S.stream?.close();
  S.stream = new LiveStream({
    needsTicket: summary.settings.token_required,
    handlers: {
      readings: onReadings,
      alert: onAlert,
      health: (health) => {
        S.health = health;
        renderHealth();
      },
      battery: (report) => {
        S.battery = report;
        renderBattery();
      },
      sensor: onSensor,
      reload: resync,
      unauthorized: () => showLogin("The hub refused that token."),
    },
    onState: setConnection,
    onResync: resync,
  });
  S.stream.connect();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  storeToken($("token").value.trim());
  $("token").value = "";
  boot();
});
$("forget").addEventListener("click", () => {
  storeToken(null);
  showLogin("");
});
$("theme").addEventListener("click", () => {
  const next = THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length];
  try {
    localStorage.setItem("hub.theme", next);
  } catch {
    // not kept
  }
  applyTheme(next);
});
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(currentTheme()));
for (const id of ["filter", "show", "sort"]) $(id).addEventListener("input", arrange);
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => {
  for (const card of S.cards.values()) requestDraw(card);
  page.redraw();
});
setInterval(tick, TICK_MS);
applyTheme(currentTheme());
boot();
