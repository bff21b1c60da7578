// Talking to the hub: JSON requests with the token when there is one, and the live stream.

const TOKEN_KEY = "hub.token";

export function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the page asks each time
  }
}

export function storeToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing to keep it in
  }
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export async function request(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch (error) {
    throw new ApiError(0, `the hub cannot be reached (${error.message})`, null);
  }
  return parse(answer);
}

// The summary prefetch.js asked for as the page began to load, once; else a new request.
export async function firstSummary() {
  const early = window.hubFirstSummary;
  window.hubFirstSummary = null;
  const answer = early ? await early : null;
  return answer ? parse(answer) : request("/api/dashboard");
}

async function parse(answer) {
  const isJson = (answer.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await answer.json() : null;
  if (!answer.ok) {
    throw new ApiError(answer.status, (data && data.error) || answer.statusText, data);
  }
  return data;
}

// The live stream: EventSource, reconnected for ever. With a token, each connection first
// gets a one-time ticket (EventSource cannot send the Authorization header). `onState`
// hears "live", "reconnecting" or "offline"; `onResync` is called after a reconnect, when
// events may have been missed.
export class LiveStream {
  constructor({ needsTicket, handlers, onState, onResync }) {
    this.needsTicket = needsTicket;
    this.handlers = handlers;
    this.onState = onState;
    this.onResync = onResync;
    this.source = null;
    this.failures = 0;
    this.opened = false;
    this.timer = null;
  }

  async connect() {
    clearTimeout(this.timer);
    let url = "/api/events";
    if (this.needsTicket) {
      try {
        const { ticket } = await request("/api/events/ticket", { method: "POST" });
        url += `?ticket=${encodeURIComponent(ticket)}`;
      } catch (error) {
        if (error.status === 401) {
          this.onState("offline");
          this.handlers.unauthorized?.();
          return;
        }
        this.retryLater();
        return;
      }
    }
    const source = (this.source = new EventSource(url));
    source.onopen = () => {
      const wasOpen = this.opened;
      this.opened = true;
      this.failures = 0;
      this.onState("live");
      if (wasOpen) this.onResync();
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (a spent ticket, the hub stopping): start again with a new ticket.
        source.close();
        this.retryLater();
      } else {
        this.onState("reconnecting");
        if (this.needsTicket) {
          // The browser would retry with the spent ticket: do it ourselves.
          source.close();
          this.retryLater();
        }
      }
    };
    for (const [name, handler] of Object.entries(this.handlers)) {
      if (name === "unauthorized") continue;
      source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    }
  }

  retryLater() {
    this.failures += 1;
    this.onState(this.failures > 3 ? "offline" : "reconnecting");
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.failures, 5));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  close() {
    clearTimeout(this.timer);
    this.source?.close();
  }
}
