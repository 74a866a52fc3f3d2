// The console's rendering: DOM built with createElement and textContent only (never markup from
// data), hand-drawn canvas charts, the views. app.js holds the data and the actions.
"use strict";

// circusd's own helpers: shown, but their processes are reported as the daemon's, and acting on them
// from here would stop the console itself.
const HELPERS = new Set(["circusd-stats", "circushttpd"]);
const SIGNALS = { 1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" };
let renderQueued = false;
let tailPaused = false;
let tailFilter = "";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function num(value) { return typeof value === "number" && isFinite(value) ? value : null; }
function fmtCpu(value) { const v = num(value); return v === null ? "N/A" : v.toFixed(1) + "%"; }
function fmtBytes(value) {
  const v = num(value); if (v === null) return "N/A";
  const units = ["B", "K", "M", "G", "T"]; let i = 0, x = v;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return (i ? x.toFixed(1) : x) + units[i];
}
function fmtAge(value) {
  const v = num(value); if (v === null) return "N/A";
  if (v < 120) return Math.round(v) + "s";
  if (v < 7200) return Math.round(v / 60) + "m";
  return (v / 3600).toFixed(1) + "h";
}
function key(d, name) { return d + "/" + name; }

// ------------------------------------------------------------------ charts

function drawChart(canvas, points, series) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 300, height = canvas.clientHeight || 70;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  ctx.clearRect(0, 0, width, height);
  canvas.setAttribute("data-points", String(points.length));
  const style = getComputedStyle(document.documentElement);
  for (const [index, colorVar] of series) {
    const values = points.map((p) => p[index]).filter((v) => v !== null);
    const max = Math.max(1, ...values);
    ctx.strokeStyle = style.getPropertyValue(colorVar).trim() || "#888";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    points.forEach((p, i) => {
      if (p[index] === null) { started = false; return; }
      const x = points.length > 1 ? (i / (points.length - 1)) * width : width;
      const y = height - 2 - (p[index] / max) * (height - 4);
      if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
    });
    ctx.stroke();
  }
}

function chart(points, big) {
  const canvas = el("canvas", { class: big ? "chart big" : "chart" });
  requestAnimationFrame(() => drawChart(canvas, points, [[1, "--cpu"], [2, "--mem"]]));
  return canvas;
}

const legend = () => el("div", { class: "legend" }, el("span", { class: "cpu" }, "— CPU %"), "  ",
  el("span", { class: "mem" }, "— memory (RSS)"));

// ------------------------------------------------------------------ views

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const parts = hash.split("/").map(decodeURIComponent);
  if (parts[0] === "w" && parts.length >= 3) return { view: "watcher", d: Number(parts[1]), name: parts.slice(2).join("/") };
  if (parts[0] === "sockets") return { view: "sockets" };
  if (parts[0] === "events") return { view: "events" };
  return { view: "overview" };
}

function render() {
  const view = document.getElementById("view");
  const where = route();
  const banner = document.getElementById("banner");
  const down = model.daemons.filter((d) => !d.connected);
  banner.hidden = down.length === 0;
  banner.textContent = down.map((d) => d.node + " is down: " + (d.error || "not connected yet")).join(" · ");
  const scroll = saveTailScroll();
  let content;
  if (where.view === "watcher") content = watcherView(where.d, where.name);
  else if (where.view === "sockets") content = socketsView();
  else if (where.view === "events") content = eventsView();
  else content = overview();
  view.replaceChildren(content);
  restoreTailScroll(scroll);
}

// The daemons the node filter lets through (every one when it is "all nodes").
function shownDaemons() { return model.daemons.filter((d) => !model.node || d.node === model.node); }
function fleetView() { return model.daemons.length > 1; }

function overview() {
  const root = el("div");
  for (const daemon of shownDaemons()) {
    if (fleetView()) {
      root.append(el("h2", { class: "node-heading", "data-node": daemon.node }, daemon.node,
        el("span", { class: "state " + (daemon.connected ? "active" : "stopped") }, daemon.connected ? "up" : "down")));
    }
    const grid = el("div", { class: "grid" });
    for (const [name, w] of Object.entries(daemon.watchers)) {
      const agg = w.aggregate || {};
      const card = el("div", { class: "card watcher-card", "data-watcher": name, "data-node": daemon.node },
        el("h3", {}, fleetView() ? el("span", { class: "node" }, daemon.node) : null,
          el("a", { href: "#/w/" + daemon.d + "/" + encodeURIComponent(name) }, name),
          el("span", { class: "state " + w.state }, w.state)),
        el("div", { class: "figures" },
          el("span", {}, "processes ", el("b", { class: "proc-count" }, String(w.processes.length))),
          el("span", {}, "CPU ", el("b", {}, fmtCpu(agg.cpu_total))),
          el("span", {}, "memory ", el("b", {}, fmtBytes(agg.rss_bytes))),
          (w.sockets || []).length ? el("span", { class: "watcher-sockets" }, "sockets ",
            el("b", {}, w.sockets.map((n) => socketLabel(daemon, n)).join(", "))) : null),
        HELPERS.has(name) ? el("div", { class: "legend" }, "helper of circusd") : chart(w.history || [], false),
        HELPERS.has(name) ? null : el("div", { class: "actions" },
          actionButton(daemon.d, "start", { name }), actionButton(daemon.d, "stop", { name }),
          actionButton(daemon.d, "reload", { name }), actionButton(daemon.d, "incr", { name, nb: 1 }, "+1"),
          actionButton(daemon.d, "decr", { name, nb: 1 }, "−1")));
      grid.append(card);
    }
    root.append(grid);
    if (daemon.sockets && daemon.sockets.length) root.append(el("h2", {}, "Sockets"), socketsTable(daemon));
  }
  root.prepend(legend());
  return root;
}

function socketLabel(daemon, name) {
  const found = (daemon.sockets || []).find((s) => s.name === name);
  return found ? name + " " + found.address + " (queue " + (found.queue ?? "?") + ")" : name;
}

function socketsTable(daemon) {
  const body = el("tbody");
  for (const s of daemon.sockets) {
    body.append(el("tr", { "data-fd": String(s.fd), "data-node": daemon.node },
      fleetView() ? el("td", { class: "node" }, daemon.node) : null, el("td", {}, s.name || ""), el("td", {}, s.address || ""), el("td", { class: "queue" }, String(s.queue ?? "")),
      el("td", {}, String(s.backlog ?? "")), el("td", { class: "rate" }, String(s.accepted_per_s ?? "")),
      el("td", {}, String(s.dropped ?? "")), el("td", {}, String(s.connections ?? ""))));
  }
  return el("div", { class: "table-wrap" }, el("table", { id: "sockets-" + daemon.d },
    el("thead", {}, el("tr", {}, ...[...(fleetView() ? ["node"] : []), "socket", "address", "accept queue", "backlog", "accepted/s", "dropped", "open"].map((h) => el("th", {}, h)))),
    body));
}

function socketsView() {
  const root = el("div");
  for (const daemon of shownDaemons()) root.append(el("h2", {}, "Sockets of " + daemon.node), socketsTable(daemon));
  return root;
}

function eventText(record) {
  const p = record.payload || {};
  const parts = [record.watcher, record.event];
  if (p.process_pid !== undefined) parts.push("pid=" + p.process_pid);
  if (p.wid !== undefined) parts.push("wid=" + p.wid);
  if (p.exit_code !== undefined) {
    const how = p.exit_code < 0 ? "killed by " + (SIGNALS[-p.exit_code] || "signal " + -p.exit_code)
      : "exit " + p.exit_code;
    parts.push(how + (p.expected ? " (asked to stop)" : p.exit_code ? " (crashed)" : ""));
  }
  for (const k of ["old", "new", "ready", "done", "rolled_back", "reason", "attempts", "retry_in", "error", "key"]) {
    if (p[k] !== undefined) parts.push(k + "=" + p[k]);
  }
  return parts.join(" ");
}

function eventsList(events) {
  const list = el("ul", { class: "events" });
  for (const record of events.slice(-200).reverse()) {
    const t = new Date(((record.payload || {}).time || 0) * 1000);
    list.append(el("li", {}, el("time", {}, t.toLocaleTimeString()), eventText(record)));
  }
  return list;
}

function eventsView() {
  const root = el("div");
  for (const daemon of shownDaemons()) root.append(el("h2", {}, "Events of " + daemon.node), eventsList(daemon.events));
  return root;
}

function reloadProgress(w) {
  const r = w.reload;
  if (!r || r.new === undefined) return null;
  const target = Math.max(1, (r.old || 0) + (r.new || 0));
  const pct = r.done ? 100 : Math.round(((r.ready || 0) / Math.max(1, (r.ready || 0) + (r.old || 0))) * 100);
  const bar = el("div", { class: "progress" }, el("div", {}));
  bar.firstChild.style.width = pct + "%";
  const text = r.done ? (r.rolled_back ? "reload rolled back: " + (r.reason || "") : "reload done")
    : "reloading: old " + r.old + ", new " + r.new + ", ready " + r.ready;
  return el("div", { class: "card", id: "reload-progress", "data-target": String(target) }, el("div", {}, text), bar);
}

async function ensureDetail(d, name) {
  const k = key(d, name);
  if (model.detail[k]) return;
  model.detail[k] = { process_history: {}, loading: true };
  const response = await fetch("api/watcher?d=" + d + "&name=" + encodeURIComponent(name), { credentials: "same-origin" });
  if (!response.ok) return;
  const detail = await response.json();
  model.detail[k] = detail;
  const tail = tailOf(d, name);
  if (!tail.length) for (const line of detail.output) tail.push(line);
  queueRender();
}

function watcherView(d, name) {
  const daemon = model.daemons[d];
  const w = daemon && daemon.watchers[name];
  if (!w) return el("p", {}, "No watcher " + name + " (yet).");
  ensureDetail(d, name);
  const agg = w.aggregate || {};
  const countInput = el("input", { type: "number", min: "0", value: String(w.processes.length), id: "set-count", class: "admin" });
  const signalSelect = el("select", { id: "signal-name", class: "admin" },
    ...["HUP", "TERM", "USR1", "USR2", "INT", "KILL", "TTIN", "TTOU"].map((s) => el("option", { value: s }, s)));
  const root = el("div", {},
    el("h2", {}, fleetView() ? el("span", { class: "node" }, daemon.node) : null, name + " ",
      el("span", { class: "state " + w.state }, w.state)),
    el("div", { class: "figures" },
      el("span", {}, "processes ", el("b", { class: "proc-count" }, String(w.processes.length))),
      el("span", {}, "CPU ", el("b", {}, fmtCpu(agg.cpu_total))),
      el("span", {}, "memory ", el("b", {}, fmtBytes(agg.rss_bytes)))),
    el("div", { class: "actions" },
      actionButton(d, "start", { name }), actionButton(d, "stop", { name }), actionButton(d, "restart", { name }),
      actionButton(d, "reload", { name }), actionButton(d, "incr", { name, nb: 1 }, "+1"),
      actionButton(d, "decr", { name, nb: 1 }, "−1"), countInput,
      el("button", { class: "admin", type: "button", "data-action": "numprocesses", textContent: "set count",
        on: { click: () => act(d, "numprocesses", { name, count: Number(countInput.value) }) } }),
      signalSelect,
      el("button", { class: "admin", type: "button", "data-action": "signal", textContent: "signal all",
        on: { click: () => act(d, "signal", { name, signum: signalSelect.value }) } })),
    reloadProgress(w),
    legend(), chart(w.history || [], true));
  const detail = model.detail[key(d, name)] || { process_history: {} };
  if (model.selected && w.processes.some((p) => p.pid === model.selected)) {
    root.append(el("section", { id: "process-chart" }, el("h3", {}, "pid " + model.selected),
      chart(detail.process_history[model.selected] || [], false),
      el("div", { class: "actions" },
        el("button", { class: "admin", type: "button", "data-action": "signal-pid", textContent: "signal pid",
          on: { click: () => act(d, "signal", { name, pid: model.selected, signum: signalSelect.value }) } }))));
  }
  const body = el("tbody");
  for (const p of [...w.processes].sort((a, b) => (a.wid ?? 1e9) - (b.wid ?? 1e9) || a.pid - b.pid)) {
    const children = (p.children || []).map((c) => c.pid + " " + (c.cmdline || "")).join(", ");
    const row = el("tr", { "data-pid": String(p.pid), class: p.pid === model.selected ? "selected" : "",
      on: { click: () => { model.selected = p.pid; queueRender(); } } },
      el("td", {}, String(p.pid)), el("td", {}, p.wid === undefined || p.wid === null ? "" : String(p.wid)),
      el("td", {}, fmtAge(num(p.age) ?? (p.started ? Date.now() / 1000 - p.started : null))),
      el("td", { class: "state " + p.state }, p.state || ""), el("td", { class: "ready" }, p.ready ? "yes" : "no"),
      el("td", {}, fmtCpu(p.cpu)), el("td", {}, fmtBytes(p.rss_bytes)), el("td", {}, children));
    body.append(row);
  }
  root.append(el("div", { class: "table-wrap" }, el("table", { id: "procs" },
    el("thead", {}, el("tr", {}, ...["pid", "wid", "age", "state", "ready", "CPU", "memory", "children"].map((h) => el("th", {}, h)))),
    body)));
  root.append(tailPanel(d, name));
  return root;
}

function tailPanel(d, name) {
  const search = el("input", { type: "search", placeholder: "filter lines", value: tailFilter, id: "tail-filter",
    on: { input: (e) => { tailFilter = e.target.value; queueRender(); } } });
  const pause = el("button", { type: "button", id: "tail-pause", textContent: tailPaused ? "resume" : "pause",
    on: { click: () => { tailPaused = !tailPaused; queueRender(); } } });
  const box = el("div", { class: "tail", id: "tail" });
  for (const entry of tailOf(d, name)) {
    if (tailFilter && !entry.line.includes(tailFilter)) continue;
    box.append(el("div", { class: "line " + (entry.meta ? "meta" : entry.stream) },
      entry.meta ? entry.line : "[" + entry.pid + " " + entry.stream + "] " + entry.line));
  }
  return el("section", {}, el("h3", {}, "Output"), el("div", { class: "toolbar" }, search, pause), box);
}

function saveTailScroll() {
  const box = document.getElementById("tail");
  if (!box) return null;
  return { top: box.scrollTop, atBottom: box.scrollTop + box.clientHeight >= box.scrollHeight - 4 };
}

function restoreTailScroll(saved) {
  const box = document.getElementById("tail");
  if (!box) return;
  box.scrollTop = !saved || saved.atBottom ? box.scrollHeight : saved.top;
}
