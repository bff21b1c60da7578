// A sensor's page: a larger chart over a chosen range, every latest value, what the hub
// knows about the sensor, and a form to name and place it.

import { ApiError, request } from "./api.js";
import { Chart } from "./chart.js";
import { PRIMARY, ago, baseName, dateTime, label, number, unit, withUnit } from "./format.js";

// Range -> how far back, and the history resolution that suits it: raw readings for a day,
// hourly rollups for a week or a month, daily ones for a year.
const RANGES = {
  "24h": { since: "24h", seconds: 86400, resolution: "raw", gap: null },
  "7d": { since: "7d", seconds: 7 * 86400, resolution: "hour", gap: 1.5 * 3600 },
  "30d": { since: "30d", seconds: 30 * 86400, resolution: "hour", gap: 1.5 * 3600 },
  "1y": { since: "365d", seconds: 365 * 86400, resolution: "day", gap: 1.5 * 86400 },
};
const HIDDEN_FIELDS = ["measurement_sequence"];

export class SensorPage {
  constructor({ root, template, sensor, serverNow, onEdited, onUnauthorized }) {
    this.root = root;
    this.template = template;
    this.sensorOf = sensor;
    this.serverNow = serverNow;
    this.onEdited = onEdited;
    this.onUnauthorized = onUnauthorized;
    this.address = null;
    this.range = "24h";
    this.measurement = null;
    this.chart = null;
    this.loading = 0;
  }

  show(address) {
    const sensor = this.sensorOf(address);
    this.root.hidden = false;
    if (!sensor) {
      this.address = null;
      this.root.replaceChildren(Object.assign(document.createElement("p"), {
        textContent: `No sensor ${address} here. `,
      }));
      const back = Object.assign(document.createElement("a"), { href: "#/", textContent: "All sensors" });
      this.root.firstChild.append(back);
      return;
    }
    if (address !== this.address) this.build(sensor);
    this.refresh();
    window.scrollTo(0, 0);
    this.root.querySelector("h2").focus({ preventScroll: true });
  }

  hide() {
    this.root.hidden = true;
  }

  build(sensor) {
    this.address = sensor.address;
    this.range = "24h";
    const view = this.template.content.firstElementChild.cloneNode(true);
    this.root.replaceChildren(view);
    this.el = {
      name: view.querySelector("h2"),
      badge: view.querySelector(".state"),
      where: view.querySelector(".where"),
      ranges: view.querySelectorAll(".ranges button"),
      select: view.querySelector(".measurement"),
      canvas: view.querySelector(".chart"),
      caption: view.querySelector(".chart-caption"),
      latest: view.querySelector(".latest tbody"),
      meta: view.querySelector(".meta"),
      form: view.querySelector("form.edit"),
      status: view.querySelector(".edit-status"),
    };
    this.chart = new Chart(this.el.canvas, { onHover: (i) => this.hoverCaption(i) });
    for (const button of this.el.ranges) {
      button.addEventListener("click", () => {
        this.range = button.dataset.range;
        this.loadChart();
      });
    }
    this.el.select.addEventListener("change", () => {
      this.measurement = this.el.select.value;
      this.loadChart();
    });
    this.el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    const names = Object.keys(sensor.latest ? sensor.latest.measurements : {});
    this.measurement = names.includes("temperature") ? "temperature" : names[0] || null;
    this.fillSelect(names);
    this.fillForm(sensor);
    this.loadDetail();
    this.loadChart();
  }

  fillSelect(names) {
    const current = this.measurement;
    const options = names.filter((m) => !HIDDEN_FIELDS.includes(m)).sort(byImportance);
    this.el.select.replaceChildren(
      ...options.map((m) => {
        const option = document.createElement("option");
        option.value = m;
        option.textContent = unit(m) ? `${label(m)} (${unit(m)})` : label(m);
        option.selected = m === current;
        return option;
      }),
    );
  }

  async loadDetail() {
    // The measurements with history (a sensor may have sent others before).
    try {
      const detail = await request(`/api/sensors/${encodeURIComponent(this.address)}`);
      if (detail.address === this.address) this.fillSelect(detail.measurements);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
    }
  }

  // Everything but the chart, from the sensor as the overview keeps it.
  refresh() {
    if (this.root.hidden || !this.address) return;
    const sensor = this.sensorOf(this.address);
    if (!sensor) return;
    const now = this.serverNow();
    this.el.name.textContent = sensor.name;
    const card = document.querySelector(`.card[data-address="${CSS.escape(sensor.address)}"]`);
    const state = card ? card.dataset.state : sensor.state;
    this.el.badge.textContent = state;
    this.el.badge.dataset.state = state;
    this.el.where.textContent = [sensor.location, sensor.model].filter(Boolean).join(" · ");
    this.fillLatest(sensor);
    const rows = [
      ["Address", sensor.address],
      ["Model", sensor.model || "–"],
      ["Integration", sensor.integration],
      ["Format", sensor.format || "–"],
      ["Advertised name", sensor.advertised_name || "–"],
      ["Location", sensor.location || "–"],
      ["Notes", sensor.notes || "–"],
      ["First seen", dateTime(sensor.first_seen)],
      ["Last seen", `${dateTime(sensor.last_seen)} (${ago(now - sensor.last_seen)})`],
    ];
    this.el.meta.replaceChildren(
      ...rows.flatMap(([key, value]) => {
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = key;
        dd.textContent = value;
        return [dt, dd];
      }),
    );
  }

  fillLatest(sensor) {
    const latest = sensor.latest;
    const m = latest ? latest.measurements : {};
    const names = Object.keys(m).filter((k) => !HIDDEN_FIELDS.includes(k)).sort(byImportance);
    const rows = names.map((name) => [label(name), withUnit(name, m[name]), name]);
    if (latest && latest.rssi !== null && latest.rssi !== undefined) rows.push(["Signal", `${latest.rssi} dBm`, "rssi"]);
    this.el.latest.replaceChildren(
      ...rows.map(([key, value, name]) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        const td = document.createElement("td");
        th.scope = "row";
        th.textContent = key;
        td.textContent = value;
        td.dataset.m = name;
        tr.append(th, td);
        return tr;
      }),
    );
  }

  fillForm(sensor) {
    const form = this.el.form;
    const configured = new Set(sensor.configured || []);
    for (const key of ["name", "location", "notes"]) {
      const input = form.elements[key];
      input.value = (key === "name" ? sensor.name : sensor[key]) || "";
      input.disabled = configured.has(key);
      const note = form.querySelector(`[data-note="${key}"]`);
      note.hidden = !configured.has(key);
      note.textContent = configured.has(key)
        ? `Set by the config (devices: in hub.yaml); the config wins at the hub's next start, so change it there.`
        : "";
    }
    form.querySelector("button").disabled = ["name", "location", "notes"].every((k) => configured.has(k));
  }

  async save() {
    const sensor = this.sensorOf(this.address);
    const form = this.el.form;
    const changes = {};
    for (const key of ["name", "location", "notes"]) {
      const input = form.elements[key];
      if (input.disabled) continue;
      const value = input.value.trim();
      const before = (key === "name" ? sensor.name : sensor[key]) || "";
      if (value !== before) changes[key] = value;
    }
    if (!Object.keys(changes).length) {
      this.el.status.textContent = "Nothing to save.";
      return;
    }
    this.el.status.textContent = "Saving…";
    try {
      const answer = await request(`/api/sensors/${encodeURIComponent(this.address)}`, {
        method: "PATCH",
        body: changes,
      });
      this.onEdited(answer.sensor);
      this.fillForm(this.sensorOf(this.address));
      this.el.status.textContent = ["Saved.", ...answer.warnings].join(" ");
      this.el.status.dataset.state = "ok";
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.el.status.textContent = "Not saved: the hub needs its token.";
        this.onUnauthorized();
        return;
      }
      this.el.status.textContent = `Not saved: ${error.message}`;
      this.el.status.dataset.state = "error";
    }
  }

  async loadChart() {
    for (const button of this.el.ranges) button.setAttribute("aria-pressed", String(button.dataset.range === this.range));
    const m = this.measurement;
    if (!m) {
      this.chart.set(null);
      this.el.caption.textContent = "This sensor has sent no measurements yet.";
      return;
    }
    const range = RANGES[this.range];
    const ticket = ++this.loading;
    this.el.caption.textContent = "Loading…";
    const query = new URLSearchParams({ measurement: m, since: range.since, resolution: range.resolution });
    let answer;
    try {
      answer = await request(`/api/sensors/${encodeURIComponent(this.address)}/history?${query}`);
    } catch (error) {
      if (ticket !== this.loading) return;
      if (error instanceof ApiError && error.status === 401) this.onUnauthorized();
      const empty = error instanceof ApiError && error.status === 404;
      this.series = null;
      this.chart.set(null);
      this.el.caption.textContent = empty ? "No history of this measurement." : `Cannot load the history: ${error.message}`;
      return;
    }
    if (ticket !== this.loading) return; // a newer choice was made meanwhile
    const now = this.serverNow();
    const rows = answer.rows;
    const t = rows.map((r) => r.ts);
    let data;
    if (answer.resolution === "raw") {
      const value = rows.map((r) => r.value);
      data = { t, value, maxGap: rawGap(t) };
    } else {
      // A bucket's point sits in its middle.
      const size = answer.resolution === "hour" ? 3600 : 86400;
      data = {
        t: t.map((ts) => ts + size / 2),
        mean: rows.map((r) => r.mean),
        min: rows.map((r) => r.min),
        max: rows.map((r) => r.max),
        maxGap: range.gap,
      };
    }
    data.from = now - range.seconds;
    data.to = now;
    data.resolution = answer.resolution;
    this.series = data;
    this.chart.set(data);
    this.el.canvas.dataset.points = String(t.length);
    this.el.canvas.dataset.resolution = answer.resolution;
    this.el.canvas.setAttribute("aria-label", `${label(m)} over ${this.range}: ${this.summary(data)}`);
    this.el.caption.textContent = this.summary(data);
  }

  summary(data) {
    const m = this.measurement;
    const values = data.value || data.mean;
    const low = data.min || values;
    const high = data.max || values;
    const finite = (a) => a.filter((v) => v !== null && Number.isFinite(v));
    if (!values.length) return "No data in this range.";
    const what = { raw: "readings", hour: "hourly min/mean/max", day: "daily min/mean/max" }[data.resolution];
    return `${values.length} ${what}; lowest ${withUnit(m, Math.min(...finite(low)))}, highest ${withUnit(m, Math.max(...finite(high)))}.`;
  }

  hoverCaption(i) {
    const data = this.series;
    if (i === null || !data) {
      if (data) this.el.caption.textContent = this.summary(data);
      return;
    }
    const m = this.measurement;
    const at = dateTime(data.t[i]);
    if (data.value) {
      this.el.caption.textContent = `${withUnit(m, data.value[i])} at ${at}`;
    } else {
      this.el.caption.textContent =
        `${at}: mean ${withUnit(m, data.mean[i])} (${number(m, data.min[i])} … ${withUnit(m, data.max[i])})`;
    }
  }

  // A live reading of this sensor: the latest table, and the 24 h chart grows.
  onReading(address, entry) {
    if (address !== this.address || this.root.hidden) return;
    const sensor = this.sensorOf(address);
    if (sensor) this.fillLatest(sensor);
    const data = this.series;
    const m = this.measurement;
    if (!data || data.resolution !== "raw" || !entry.measurements || !(m in entry.measurements)) return;
    if (data.t.length && entry.ts <= data.t[data.t.length - 1]) return;
    data.t.push(entry.ts);
    data.value.push(entry.measurements[m]);
    data.to = Math.max(data.to, entry.ts);
    data.from = data.to - RANGES["24h"].seconds;
    this.chart.draw();
    this.el.canvas.dataset.points = String(data.t.length);
  }

  redraw() {
    if (this.chart && !this.root.hidden) this.chart.draw();
  }
}

// The card's measurements first (temperature, humidity, ...), then the rest by name.
function byImportance(a, b) {
  const rank = (m) => {
    const i = PRIMARY.indexOf(baseName(m));
    return i < 0 ? PRIMARY.length : i;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

// Raw readings: a gap is a pause many times longer than the sensor's usual spacing.
function rawGap(t) {
  if (t.length < 3) return Infinity;
  const steps = [];
  for (let i = 1; i < t.length; i++) steps.push(t[i] - t[i - 1]);
  steps.sort((a, b) => a - b);
  return Math.max(300, 10 * steps[Math.floor(steps.length / 2)]);
}
