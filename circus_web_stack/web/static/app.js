// The console's page: one snapshot (api/state), then one Server-Sent Events stream (api/live) that a
// reconnecting browser resumes from its last event id. Everything the daemon reports is put in the
// page as text (textContent), never as markup.
"use strict";

const TAIL_LINES = 1000;
const PROCESS_POINTS = 120;
const WATCHER_POINTS = 300;
const model = { daemons: [], csrf: "", role: "viewer", cursor: "", tails: {}, selected: null, detail: {}, node: "" };
const RECONNECT_MS = 2000;
let source = null;

// ------------------------------------------------------------------ data

async function loadState() {
  const response = await fetch("api/state", { credentials: "same-origin" });
  if (response.status === 401) { location.href = "login"; return; }
  const state = await response.json();
  model.csrf = state.csrf; model.role = state.role; model.cursor = state.cursor;
  model.daemons = state.daemons;
  for (const daemon of model.daemons) {
    for (const [name, watcher] of Object.entries(daemon.watchers)) {
      watcher.history = watcher.history || [];
    }
  }
  document.body.classList.toggle("viewer", model.role !== "admin");
  fillNodeFilter();
  document.getElementById("who").textContent = state.user + " (" + state.role + ")";
  connect(state.cursor);
  queueRender();
}

function connect(since) {
  if (source) source.close();
  source = new EventSource("api/live?since=" + since);
  const live = document.getElementById("live");
  source.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  source.onerror = () => {
    live.textContent = "reconnecting"; live.className = "live off";
    // The browser retries by itself after a cut stream, but gives up on an error answer (a proxy's
    // 502 while circushttpd restarts): then retry from the last event seen.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => connect(model.cursor), RECONNECT_MS);
  };
  const on = (kind, handle) => source.addEventListener(kind, (e) => {
    model.cursor = e.lastEventId || model.cursor;
    handle(JSON.parse(e.data));
  });
  on("tick", onTick);
  on("event", onEvent);
  on("output", onOutput);
  on("status", onStatus);
  on("daemon", onDaemon);
  on("reset", () => { source.close(); loadState(); });
}

function watcherOf(d, name) {
  const daemon = model.daemons[d];
  if (!daemon) return null;
  if (!daemon.watchers[name]) {
    daemon.watchers[name] = { state: "unknown", processes: [], aggregate: {}, history: [], reload: null, sockets: [] };
  }
  return daemon.watchers[name];
}

function onTick(tick) {
  const daemon = model.daemons[tick.d];
  if (!daemon) return;
  for (const [name, data] of Object.entries(tick.watchers)) {
    const watcher = watcherOf(tick.d, name);
    watcher.aggregate = data.aggregate;
    watcher.processes = data.processes;
    watcher.sockets = data.sockets;
    watcher.history.push(data.point);
    if (watcher.history.length > WATCHER_POINTS) watcher.history.shift();
    const detail = model.detail[key(tick.d, name)];
    if (detail) {
      for (const proc of data.processes) {
        const series = detail.process_history[proc.pid] = detail.process_history[proc.pid] || [];
        series.push([data.point[0], num(proc.cpu), num(proc.rss_bytes)]);
        if (series.length > PROCESS_POINTS) series.shift();
      }
    }
  }
  daemon.sockets = tick.sockets;
  queueRender();
}

function onEvent(record) {
  const daemon = model.daemons[record.d];
  if (!daemon) return;
  daemon.events.push(record);
  if (daemon.events.length > 500) daemon.events.shift();
  if (record.event === "reload") watcherOf(record.d, record.watcher).reload = record.payload;
  queueRender();
}

function onOutput(message) {
  const tail = tailOf(message.d, message.watcher);
  if (message.dropped) tail.push({ meta: true, line: "(" + message.dropped + " lines left out by the rate limit)" });
  for (const line of message.lines) tail.push({ pid: message.pid, stream: message.stream, line, time: message.time });
  while (tail.length > TAIL_LINES) tail.shift();
  if (!tailPaused) queueRender();
}

function tailOf(d, name) {
  const k = key(d, name);
  return model.tails[k] = model.tails[k] || [];
}

function onStatus(message) {
  const daemon = model.daemons[message.d];
  if (!daemon) return;
  for (const name of Object.keys(daemon.watchers)) if (!(name in message.statuses)) delete daemon.watchers[name];
  for (const [name, state] of Object.entries(message.statuses)) watcherOf(message.d, name).state = state;
  queueRender();
}

function onDaemon(message) {
  const daemon = model.daemons[message.d];
  if (!daemon) return;
  daemon.connected = message.connected; daemon.error = message.error;
  queueRender();
}

// A fleet's console: a node filter over every view (the page's node column says which is which).
function fillNodeFilter() {
  const select = document.getElementById("node-filter");
  document.getElementById("node-filter-box").hidden = model.daemons.length < 2;
  const names = model.daemons.map((d) => d.node);
  if (!names.includes(model.node)) model.node = "";
  select.replaceChildren(el("option", { value: "" }, "all nodes"), ...names.map((n) => el("option", { value: n }, n)));
  select.value = model.node;
}

// ------------------------------------------------------------------ actions

async function act(d, command, props) {
  const body = JSON.stringify(Object.assign({ d, command }, props || {}));
  const box = document.getElementById("reply-box");
  const reply = document.getElementById("reply");
  reply.textContent = command + " " + JSON.stringify(props || {}) + " ..."; reply.className = "";
  box.hidden = false;
  const response = await fetch("api/action", {
    method: "POST", credentials: "same-origin", body,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": model.csrf },
  });
  const data = await response.json();
  const failed = !response.ok || (data.reply && data.reply.status === "error");
  reply.className = failed ? "error" : "";
  reply.textContent = JSON.stringify(data.reply !== undefined ? data.reply : data, null, 2);
}

function actionButton(d, command, props, label) {
  return el("button", {
    class: "admin", type: "button", "data-action": command, textContent: label || command,
    on: { click: (e) => { e.stopPropagation(); act(d, command, props); } },
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("reply-close").addEventListener("click", () => { document.getElementById("reply-box").hidden = true; });
  document.getElementById("reloadconfig").addEventListener("click", () => act(0, "reloadconfig", {}));
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": model.csrf } });
    location.href = "login";
  });
  window.addEventListener("hashchange", () => { model.selected = null; queueRender(); });
  document.getElementById("node-filter").addEventListener("change", (e) => { model.node = e.target.value; queueRender(); });
  loadState();
});
