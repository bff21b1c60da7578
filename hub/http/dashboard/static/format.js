// Names, units and numbers as people read them. Units are the hub's canonical ones
// (CONTRACTS.md section 2); a numbered instance (temperature_2) takes its base's unit.

const UNITS = {
  temperature: "°C", dew_point: "°C", humidity: "%", moisture: "%", battery: "%",
  pressure: "hPa", voltage: "V", co2: "ppm", pm1_0: "µg/m³", pm2_5: "µg/m³",
  pm4_0: "µg/m³", pm10: "µg/m³", voc_index: "", nox_index: "", illuminance: "lx",
  conductivity: "µS/cm", acceleration_x: "g", acceleration_y: "g", acceleration_z: "g",
  tx_power: "dBm", rssi: "dBm", movement_counter: "", measurement_sequence: "",
};
const DIGITS = {
  temperature: 1, dew_point: 1, humidity: 1, moisture: 0, battery: 0, pressure: 1,
  voltage: 2, co2: 0, pm1_0: 1, pm2_5: 1, pm4_0: 1, pm10: 1, voc_index: 0, nox_index: 0,
  illuminance: 0, conductivity: 0, acceleration_x: 2, acceleration_y: 2, acceleration_z: 2,
  tx_power: 0, rssi: 0, movement_counter: 0, measurement_sequence: 0,
};
const LABELS = {
  temperature: "Temperature", dew_point: "Dew point", humidity: "Humidity",
  moisture: "Moisture", battery: "Battery", pressure: "Pressure", voltage: "Voltage",
  co2: "CO₂", pm1_0: "PM1", pm2_5: "PM2.5", pm4_0: "PM4", pm10: "PM10",
  voc_index: "VOC index", nox_index: "NOx index", illuminance: "Light",
  conductivity: "Conductivity", acceleration_x: "Acceleration x",
  acceleration_y: "Acceleration y", acceleration_z: "Acceleration z", tx_power: "TX power",
  rssi: "Signal", movement_counter: "Movements", measurement_sequence: "Sequence",
};

// What a card shows, in this order (at most CARD_VALUES of them); the rest is on the
// sensor's page. Battery and signal have their own place on the card.
export const PRIMARY = [
  "temperature", "humidity", "co2", "pm2_5", "pressure", "moisture", "illuminance",
  "pm10", "voc_index", "nox_index", "conductivity", "dew_point",
];
export const CARD_VALUES = 4;

export function baseName(measurement) {
  if (measurement in UNITS) return measurement;
  const numbered = /^(.*)_(\d+)$/.exec(measurement);
  return numbered && numbered[1] in UNITS ? numbered[1] : measurement;
}

export function unit(measurement) {
  return UNITS[baseName(measurement)] ?? "";
}

export function label(measurement) {
  const base = baseName(measurement);
  const text = LABELS[base] ?? measurement.replaceAll("_", " ");
  return base === measurement ? text : `${text} ${measurement.slice(base.length + 1)}`;
}

export function number(measurement, value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toFixed(DIGITS[baseName(measurement)] ?? 2);
}

export function withUnit(measurement, value) {
  const u = unit(measurement);
  const n = number(measurement, value);
  if (n === "–" || !u) return n;
  return u === "%" ? `${n} %` : `${n} ${u}`;
}

// The measurements a card shows, most telling first.
export function cardMeasurements(measurements) {
  const names = Object.keys(measurements || {});
  const order = (m) => {
    const i = PRIMARY.indexOf(baseName(m));
    return i < 0 ? 1000 : i;
  };
  return names.filter((m) => order(m) < 1000).sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1))
    .slice(0, CARD_VALUES);
}

export function ago(seconds) {
  if (!Number.isFinite(seconds)) return "never";
  if (seconds < 10) return "just now";
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function duration(seconds) {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

const pad = (n) => String(n).padStart(2, "0");

export function clock(ts) {
  const d = new Date(ts * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function dateTime(ts) {
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ts)}`;
}

// A time relative to today: "14:32", "yesterday 14:32", or the date.
export function when(ts, now) {
  const d = new Date(ts * 1000);
  const today = new Date(now * 1000);
  if (d.toDateString() === today.toDateString()) return clock(ts);
  const yesterday = new Date((now - 86400) * 1000);
  if (d.toDateString() === yesterday.toDateString()) return `yesterday ${clock(ts)}`;
  return dateTime(ts);
}
