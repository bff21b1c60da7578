// Charts drawn by hand on canvas: a sparkline per card and a larger chart with axes.
// Lines break where data is missing (two neighbours farther apart than the expected
// spacing allows), so a sensor that was silent shows a gap, not a straight line across it.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

let colors = null;

// The theme's colours, read from the CSS once per theme change.
export function themeColors(refresh = false) {
  if (colors && !refresh) return colors;
  const style = getComputedStyle(document.documentElement);
  const get = (name) => style.getPropertyValue(name).trim() || "#888";
  colors = {
    text: get("--muted"),
    grid: get("--grid"),
    temperature: get("--c-temp"),
    humidity: get("--c-hum"),
    line: get("--c-line"),
    band: get("--c-band"),
    mark: get("--text"),
  };
  return colors;
}

// Size the backing store for the device's pixel ratio and clear it.
function fit(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, canvas.clientWidth);
  const h = Math.max(1, canvas.clientHeight);
  const width = Math.round(w * ratio);
  const height = Math.round(h * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

export function extent(...columns) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const column of columns) {
    if (!column) continue;
    for (const v of column) {
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

// Runs of drawable points: [[i, i+1, ...], ...], broken at missing values and gaps.
function segments(t, v, maxGap) {
  const runs = [];
  let run = null;
  let previous = null;
  for (let i = 0; i < t.length; i++) {
    const value = v[i];
    if (value === null || value === undefined || !Number.isFinite(value)) {
      run = null;
      continue;
    }
    if (run === null || t[i] - t[previous] > maxGap(previous, i)) {
      run = [];
      runs.push(run);
    }
    run.push(i);
    previous = i;
  }
  return runs;
}

function strokeRuns(ctx, runs, t, v, x, y, dotRadius) {
  ctx.beginPath();
  for (const run of runs) {
    if (run.length === 1) continue;
    ctx.moveTo(x(t[run[0]]), y(v[run[0]]));
    for (let k = 1; k < run.length; k++) ctx.lineTo(x(t[run[k]]), y(v[run[k]]));
  }
  ctx.stroke();
  // A lone point (one reading between two gaps) would be invisible as a line: a dot.
  ctx.fillStyle = ctx.strokeStyle;
  for (const run of runs) {
    if (run.length !== 1) continue;
    ctx.beginPath();
    ctx.arc(x(t[run[0]]), y(v[run[0]]), dotRadius, 0, 2 * Math.PI);
    ctx.fill();
  }
}

// A card's sparkline: temperature (solid) and humidity (dashed), each on its own scale, over
// [from, to]. Returns each series' range for the caption.
export function drawSparkline(canvas, spark, { from, to, recentFrom, recentStep }) {
  const { ctx, w, h } = fit(canvas);
  const c = themeColors();
  const pad = 3;
  const t = spark.t;
  const x = (ts) => pad + ((ts - from) / (to - from)) * (w - 2 * pad);
  // Hourly means before `recentFrom` (an hour without one is a gap), then one reading per
  // `recentStep` (and live points), which may wander within their buckets.
  const maxGap = (a) => (t[a] < recentFrom ? 1.5 * 3600 : 2.5 * recentStep);
  const ranges = {};
  const series = [
    ["temperature", c.temperature, [], 1],
    ["humidity", c.humidity, [4, 3], 4],
  ];
  for (const [name, color, dash, minSpan] of series) {
    const values = spark[name];
    const range = extent(values);
    if (!range) continue;
    ranges[name] = range;
    let [lo, hi] = range;
    if (hi - lo < minSpan) {
      const mid = (hi + lo) / 2;
      lo = mid - minSpan / 2;
      hi = mid + minSpan / 2;
    }
    const y = (v) => h - pad - ((v - lo) / (hi - lo)) * (h - 2 * pad);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.setLineDash(dash);
    strokeRuns(ctx, segments(t, values, maxGap), t, values, x, y, 2);
  }
  ctx.setLineDash([]);
  return ranges;
}

// "Nice" round tick values covering [lo, hi]: 1, 2, 2.5 or 5 times a power of ten.
export function niceTicks(lo, hi, count) {
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.5; v += step) {
    ticks.push(Number(v.toFixed(10)));
  }
  return { ticks, step };
}

const HOUR = 3600;
const DAY = 86400;
const STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

// Ticks on local-time boundaries (hours, midnights, first days of months).
export function timeTicks(from, to, maxTicks) {
  const span = to - from;
  const step = STEPS.find((s) => span / s <= maxTicks);
  const ticks = [];
  if (step === undefined) {
    const d = new Date(from * 1000);
    d.setDate(1);
    d.setHours(0, 0, 0, 0);
    const months = Math.max(1, Math.ceil(span / (30 * DAY) / maxTicks));
    while (d.getTime() / 1000 <= to) {
      const ts = d.getTime() / 1000;
      if (ts >= from) {
        ticks.push({ t: ts, label: d.getMonth() === 0 ? String(d.getFullYear()) : MONTHS[d.getMonth()] });
      }
      d.setMonth(d.getMonth() + months);
    }
    return ticks;
  }
  const offset = new Date(from * 1000).getTimezoneOffset() * 60;
  let t = Math.ceil((from - offset) / step) * step + offset;
  for (; t <= to; t += step) {
    const d = new Date(t * 1000);
    let label;
    if (step < DAY) {
      label = d.getHours() === 0 && d.getMinutes() === 0
        ? `${DAYS[d.getDay()]} ${d.getDate()}`
        : `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    } else {
      label = `${MONTHS[d.getMonth()]} ${d.getDate()}`;
    }
    ticks.push({ t, label });
  }
  return ticks;
}

// A tick's label with as many decimals as the step needs (0.25 -> 2, 0.5 -> 1, 5 -> 0).
export function tickLabel(value, step) {
  let digits = 0;
  while (digits < 6 && Math.abs(Math.round(step * 10 ** digits) - step * 10 ** digits) > 1e-6) digits += 1;
  return value.toFixed(digits);
}

function nearest(t, ts) {
  let lo = 0;
  let hi = t.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] < ts) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(t[lo - 1] - ts) < Math.abs(t[lo] - ts)) lo -= 1;
  return lo;
}

// The sensor page's chart: axes, a line (raw values or means), the min/max band of rollups,
// gaps, and the value under the pointer.
export class Chart {
  constructor(canvas, { format, onHover } = {}) {
    this.canvas = canvas;
    this.format = format || tickLabel;
    this.onHover = onHover || (() => {});
    this.data = null;
    this.hover = null;
    canvas.addEventListener("pointermove", (event) => this.pointer(event));
    canvas.addEventListener("pointerleave", () => {
      this.hover = null;
      this.draw();
      this.onHover(null);
    });
  }

  // data: {t, value} (raw) or {t, min, mean, max} (rollups); from, to; maxGap in seconds.
  set(data) {
    this.data = data;
    this.hover = null;
    this.draw();
  }

  pointer(event) {
    const d = this.data;
    if (!d || !d.t.length || !this.geometry) return;
    const { left, right, from, to } = this.geometry;
    const rect = this.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const ts = from + ((px - left) / (right - left)) * (to - from);
    this.hover = nearest(d.t, ts);
    this.draw();
    this.onHover(this.hover);
  }

  draw() {
    const { ctx, w, h } = fit(this.canvas);
    const c = themeColors();
    const d = this.data;
    if (!d) return;
    const main = d.value || d.mean;
    const left = 48;
    const right = w - 12;
    const top = 10;
    const bottom = h - 24;
    const { from, to } = d;
    this.geometry = { left, right, from, to };
    const range = extent(main, d.min, d.max);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = c.text;
    if (!range) {
      ctx.textAlign = "center";
      ctx.fillText("no data in this range", (left + right) / 2, (top + bottom) / 2);
      return;
    }
    const { ticks, step } = niceTicks(range[0], range[1], Math.max(2, Math.floor((bottom - top) / 40)));
    const lo = Math.min(ticks[0], range[0]);
    const hi = Math.max(ticks[ticks.length - 1], range[1]);
    const x = (ts) => left + ((ts - from) / (to - from)) * (right - left);
    const y = (v) => bottom - ((v - lo) / (hi - lo || 1)) * (bottom - top);

    // Grid and y labels.
    ctx.strokeStyle = c.grid;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of ticks) {
      const py = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, py);
      ctx.lineTo(right, py);
      ctx.stroke();
      ctx.fillText(this.format(v, step), left - 6, py);
    }
    // Time axis.
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const tick of timeTicks(from, to, Math.max(2, Math.floor((right - left) / 90)))) {
      const px = Math.round(x(tick.t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, bottom);
      ctx.lineTo(px, bottom + 4);
      ctx.stroke();
      ctx.fillText(tick.label, px, bottom + 7);
    }

    const t = d.t;
    const maxGap = () => d.maxGap;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top - 2, right - left, bottom - top + 4);
    ctx.clip();
    if (d.min && d.max) {
      // The band between each bucket's min and max, per run between gaps.
      ctx.fillStyle = c.band;
      for (const run of segments(t, d.mean, maxGap)) {
        ctx.beginPath();
        run.forEach((i, k) => (k ? ctx.lineTo(x(t[i]), y(d.max[i])) : ctx.moveTo(x(t[i]), y(d.max[i]))));
        for (let k = run.length - 1; k >= 0; k--) ctx.lineTo(x(t[run[k]]), y(d.min[run[k]]));
        ctx.closePath();
        if (run.length === 1) {
          const i = run[0];
          ctx.fillRect(x(t[i]) - 2, y(d.max[i]), 4, Math.max(1, y(d.min[i]) - y(d.max[i])));
        } else {
          ctx.fill();
        }
      }
    }
    ctx.strokeStyle = c.line;
    ctx.lineWidth = 1.75;
    ctx.lineJoin = "round";
    strokeRuns(ctx, segments(t, main, maxGap), t, main, x, y, 2.5);
    if (this.hover !== null && this.hover < t.length) {
      const i = this.hover;
      ctx.strokeStyle = c.mark;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x(t[i]), top);
      ctx.lineTo(x(t[i]), bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      if (main[i] !== null && main[i] !== undefined) {
        ctx.fillStyle = c.mark;
        ctx.beginPath();
        ctx.arc(x(t[i]), y(main[i]), 4, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.restore();
  }
}
