// The controller connection: v2 requests matched to replies by id, telemetry and hello pushed
// to listeners, and reconnection with backoff (0.5 s doubling to 10 s, forever).

export class Connection {
  constructor(url, { onState, onHello, onTelemetry, onText, onTokenRefused }) {
    this.url = url;
    this.handlers = { onState, onHello, onTelemetry, onText, onTokenRefused };
    this.pending = new Map();
    this.nextId = 1;
    this.delay = 500;
    this.ws = null;
    this.open();
  }

  open() {
    this.handlers.onState?.({ state: "connecting" });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 500;
      this.handlers.onState?.({ state: "connected" });
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = (e) => {
      for (const [, p] of this.pending) p.reject(new Error("connection lost"));
      this.pending.clear();
      // Without the token the controller says so and closes (1008): ask for it, do not retry.
      if (e.code === 1008 && e.reason.startsWith("unauthorized")) {
        this.handlers.onState?.({ state: "unauthorized", reason: e.reason });
        return;
      }
      // A token the controller says was rotated is forgotten. A socket that never opened is not
      // a verdict on the token (a browser reports a busy controller's reset as it does a 401):
      // the page keeps it and tries again.
      if (this.url.includes("?token=") && e.code === 1008) {
        this.url = this.handlers.onTokenRefused?.() ?? this.url;
      }
      const retryMs = this.delay;
      this.delay = Math.min(this.delay * 2, 10000);
      this.handlers.onState?.({ state: "disconnected", code: e.code, reason: e.reason, retryMs });
      setTimeout(() => this.open(), retryMs);
    };
  }

  receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.handlers.onText?.(text); // a v1 plain-text reply
      return;
    }
    if (msg.type === "telemetry") this.handlers.onTelemetry?.(msg);
    else if (msg.type === "hello") this.handlers.onHello?.(msg);
    else if (msg.type === "reply" && this.pending.has(msg.id)) {
      this.pending.get(msg.id).resolve(msg);
      this.pending.delete(msg.id);
    } else this.handlers.onText?.(text);
  }

  /** Sends a v2 command; resolves with the reply ({ok, result} or {ok:false, error}). */
  request(cmd, params = {}) {
    return this.send((id) => JSON.stringify({ cmd, id, ...params }));
  }

  /** Sends a v2 command whose `cycle` is JSON text as the user wrote it (so duplicate keys and
   *  key case reach the controller unchanged, and it warns about them). */
  requestWithCycle(cmd, cycleText, params = {}) {
    const more = Object.entries(params).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join("");
    return this.send((id) => `{"cmd":${JSON.stringify(cmd)},"id":${id}${more},"cycle":${cycleText}}`);
  }

  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ ok: false, error: { code: "disconnected", message: "not connected to the controller", path: "" } });
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(frame(id));
    }).catch((e) => ({ ok: false, error: { code: "disconnected", message: e.message, path: "" } }));
  }
}

/** Forgets the remembered token (it was refused); the URL to connect with then. */
export function forgetToken(location, storage) {
  try {
    storage?.removeItem("tumble.token");
  } catch {
    // Nothing was kept.
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

/** The WebSocket URL of the controller that served this page, with its token: the one the
 *  page's own URL carries (`http://host:8080/?token=...`, what `tumble serve` prints), which is
 *  then remembered for this origin in `storage`, or the one remembered before. */
export function controllerUrl(location, storage) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let token = new URLSearchParams(location.search).get("token");
  try {
    if (token) storage?.setItem("tumble.token", token);
    else token = storage?.getItem("tumble.token") ?? null;
  } catch {
    // Storage refused (a private window): the URL's token still works for this visit.
  }
  return `${scheme}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ""}`;
}
