// popvim dashboard: plain JS, no framework, nothing loaded from elsewhere.
// The token lives in sessionStorage (gone with the tab); data comes from the
// REST API with that token; live updates come from /v1/events/sse with a
// single-use ticket (EventSource cannot send an Authorization header).
"use strict";

const PAGE_SIZE = 50;
const TOKEN_KEY = "popvim.token";
const USER_KEY = "popvim.user";

const S = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: sessionStorage.getItem(USER_KEY) || "",
  info: null,           // /v1/info: this PoP's name and engine
  localSite: "",
  containers: new Map(), // id -> container
  networks: [],
  pops: [],
  health: null,
  popHealth: new Map(),
  services: [],
  service: null,        // the NS instance on its own page
  ops: [],
  lb: null,             // GET .../loadbalancer: what the service's load balancers see
  loadtests: [],        // GET .../loadtests: its last load tests, newest first
  filter: "",
  page: 0,
  selected: null,       // container id whose chart is shown
  usage: null,
  source: null,         // the EventSource
  pending: new Set(),   // container ids to re-read
  timers: [],
};

// --- small DOM helpers (text only: data never becomes markup) -------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
function stateCell(state) { return h("td", { class: `state state-${state}` }, state); }
function flash(text, bad) {
  const el = $("#flash");
  el.textContent = text || "";
  el.className = bad ? "flash bad" : "flash";
}
function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

// --- REST ----------------------------------------------------------------------
class ApiError extends Error {}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${S.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) { logout("Your session ended; log in again."); throw new ApiError("not logged in"); }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const e = data && data.error;
    throw new ApiError(e ? `${e.code}: ${e.message}` : `HTTP ${r.status}`);
  }
  return data;
}

async function act(label, fn) {
  flash(`${label}…`);
  try { await fn(); flash(`${label}: done`); } catch (e) { flash(`${label}: ${e.message}`, true); }
}

// --- log in and out ----------------------------------------------------------
async function login(ev) {
  ev.preventDefault();
  const username = $("#username").value, password = $("#password").value;
  $("#login-error").textContent = "";
  const r = await fetch("/v1/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    $("#login-error").textContent = (data && data.error && data.error.message) || `login failed (HTTP ${r.status})`;
    return;
  }
  S.token = data.token; S.user = username;
  sessionStorage.setItem(TOKEN_KEY, S.token); sessionStorage.setItem(USER_KEY, username);
  $("#password").value = "";
  start();
}

function logout(message) {
  const token = S.token;
  S.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (S.source) { S.source.close(); S.source = null; }
  S.timers.forEach(clearInterval); S.timers = [];
  if (token && !message) fetch("/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  $("#app").hidden = true; $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}

async function start() {
  $("#login").hidden = true; $("#app").hidden = false;
  $("#whoami").textContent = S.user;
  try {
    S.info = await api("GET", "/v1/info");
    $("#pop-title").textContent = `popvim · ${S.info.name}`;
    await Promise.all([loadContainers(), loadPops()]);
  } catch (e) { if (!S.token) return; flash(e.message, true); }
  connect();
  S.timers.push(setInterval(poll, 3000));
  route();
}

// --- data ------------------------------------------------------------------------
async function loadContainers() {
  const list = await api("GET", "/v1/containers");
  S.containers = new Map(list.map((c) => [c.id, c]));
}
async function loadPops() {
  S.pops = await api("GET", "/v1/pops");
  const local = S.pops.find((p) => p.local);
  S.localSite = local ? local.site : "";
  S.health = await fetch("/health").then((r) => r.json()).catch(() => null);
  const probes = await Promise.all(S.pops.map((p) =>
    api("GET", `/v1/pops/${encodeURIComponent(p.name)}/health`).catch(() => null)));
  S.popHealth = new Map(probes.filter((x) => x).map((x) => [x.name, x]));
}
function popHealthText(p) {
  const probe = S.popHealth && S.popHealth.get(p.name);
  const reach = probe ? (probe.reachable ? `answers (${probe.latency_ms} ms)` : `unreachable: ${probe.error}`) : "unknown";
  return p.local && S.health ? `${reach}; daemon ${S.health.status}, engine ${S.health.engine}` : reach;
}
async function loadServices() { S.services = await api("GET", "/nslcm/v1/ns_instances"); }
async function loadService(id) {
  const base = `/nslcm/v1/ns_instances/${encodeURIComponent(id)}`;
  [S.service, S.ops, S.lb, S.loadtests] = await Promise.all([
    api("GET", base),
    api("GET", `/nslcm/v1/ns_lcm_op_occs?nsInstanceId=${encodeURIComponent(id)}`),
    api("GET", `${base}/loadbalancer`).catch(() => null),
    api("GET", `${base}/loadtests`).catch(() => []),
  ]);
}
// A container event while a service is shown (a backend started, died, was scaled): re-read it
// soon, so its load balancer's backends follow without waiting for the next poll.
let serviceTimer = null;
function scheduleServiceRefresh() {
  const [view, id] = currentRoute();
  if (view !== "services" || !id || serviceTimer) return;
  serviceTimer = setTimeout(async () => {
    serviceTimer = null;
    try { await loadService(id); scheduleRender(); } catch (e) { /* the next poll will tell */ }
  }, 300);
}

// Services have no events of their own: while one of their views is shown, re-read them.
async function poll() {
  const [view, id] = currentRoute();
  try {
    if (view === "services" && id) { await loadService(id); render(); }
    else if (view === "services") { await loadServices(); render(); }
    else if (view === "containers" && S.selected) { await loadUsage(); renderChart(); }
  } catch (e) { if (S.token) flash(e.message, true); }
}

// --- live updates ------------------------------------------------------------------
async function connect() {
  if (!S.token) return;
  let t;
  try { t = await api("POST", "/v1/events/ticket"); } catch (e) { return retry(); }
  const source = new EventSource(t.url);
  S.source = source;
  source.onopen = () => { setLive(true); };
  source.onmessage = (m) => { try { onEvent(JSON.parse(m.data)); } catch (e) { /* not ours */ } };
  source.onerror = () => {
    // The ticket is spent: never let EventSource retry with it. Reconnect with a new
    // one and re-read everything, since events may have been missed meanwhile.
    source.close();
    if (S.source === source) { S.source = null; setLive(false); retry(); }
  };
}
function retry() {
  if (!S.token) return;
  setTimeout(async () => {
    if (!S.token) return;
    try { await loadContainers(); render(); } catch (e) { /* next time */ }
    connect();
  }, 2000);
}
function setLive(on) {
  const el = $("#live");
  el.textContent = on ? "live" : "offline";
  el.className = on ? "live on" : "live off";
}

function onEvent(ev) {
  if (ev.kind === "container.deleted") {
    S.containers.delete(ev.subject);
    if (S.selected === ev.subject) S.selected = null;
    scheduleRender();
    scheduleServiceRefresh();
  } else if (ev.kind && ev.kind.startsWith("container.")) {
    const c = S.containers.get(ev.subject);
    if (c && ev.kind === "container.state" && ev.state) { c.state = ev.state; scheduleRender(); }
    S.pending.add(ev.subject);
    scheduleRefresh();
    scheduleServiceRefresh();
  } else if (ev.kind && ev.kind.startsWith("network.")) {
    api("GET", "/v1/networks").then((n) => { S.networks = n; scheduleRender(); }).catch(() => {});
  }
}

let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    const ids = [...S.pending]; S.pending.clear();
    try {
      if (ids.length > 50) { await loadContainers(); }
      else {
        await Promise.all(ids.map(async (id) => {
          try { const c = await api("GET", `/v1/containers/${id}`); S.containers.set(c.id, c); }
          catch (e) { S.containers.delete(id); }
        }));
      }
    } catch (e) { /* the stream or the next event will tell */ }
    scheduleRender();
  }, 150);
}
let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

// --- routing -------------------------------------------------------------------
function currentRoute() {
  const parts = (location.hash || "#/containers").slice(2).split("/");
  return [parts[0] || "containers", parts[1] ? decodeURIComponent(parts[1]) : null];
}
async function route() {
  const [view, id] = currentRoute();
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
  try {
    if (view === "networks") S.networks = await api("GET", "/v1/networks");
    else if (view === "services" && id) { S.service = null; S.lb = null; S.loadtests = []; render(); await loadService(id); }
    else if (view === "services") await loadServices();
    else if (view === "pops") await loadPops();
  } catch (e) { if (S.token) flash(e.message, true); }
  render();
}

function render() {
  if (!S.token) return;
  const [view, id] = currentRoute();
  const main = $("#view");
  const focused = document.activeElement && document.activeElement.id;
  let content;
  if (view === "networks") content = networksView();
  else if (view === "services" && id) content = serviceView();
  else if (view === "services") content = servicesView();
  else if (view === "pops") content = popsView();
  else content = containersView();
  main.replaceChildren(content);
  if (focused === "filter") { const f = $("#filter"); f.focus(); f.setSelectionRange(f.value.length, f.value.length); }
  if (view === "containers") renderChart();
}

// --- containers ------------------------------------------------------------------
function addresses(c) {
  return Object.values(c.endpoints || {}).filter((e) => e.active).map((e) => `${e.network} ${e.address}`).join(", ");
}
function where() {
  if (!S.info) return "";
  const node = S.info.engine && S.info.engine.Name;
  return [S.info.name, node, S.localSite].filter(Boolean).join(" · ");
}
function containerActions(c) {
  const running = c.state === "RUNNING";
  const startable = ["CREATED", "EXITED", "FAILED"].includes(c.state);
  return h("td", { class: "actions" },
    h("button", { "data-action": "start", disabled: !startable,
      onclick: () => act(`start ${c.name}`, () => api("POST", `/v1/containers/${c.id}/start`)) }, "Start"),
    h("button", { "data-action": "stop", disabled: !running,
      onclick: () => act(`stop ${c.name}`, () => api("POST", `/v1/containers/${c.id}/stop`)) }, "Stop"),
    h("button", { "data-action": "delete", class: "danger", disabled: c.state === "STOPPING",
      onclick: () => { if (confirm(`Delete ${c.name}?`)) act(`delete ${c.name}`, () => api("DELETE", `/v1/containers/${c.id}`)); } },
      "Delete"));
}
function containersView() {
  const needle = S.filter.toLowerCase();
  const all = [...S.containers.values()]
    .filter((c) => !needle || [c.name, c.image, c.state, c.flavour, addresses(c)].some((v) => (v || "").toLowerCase().includes(needle)))
    .sort((a, b) => a.name.localeCompare(b.name));
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  S.page = Math.min(S.page, pages - 1);
  const shown = all.slice(S.page * PAGE_SIZE, (S.page + 1) * PAGE_SIZE);
  const place = where();
  return h("div", { id: "containers" },
    h("h2", {}, "Containers"),
    h("div", { class: "toolbar" },
      h("input", { id: "filter", placeholder: "filter by name, image, state, address", value: S.filter,
        oninput: (e) => { S.filter = e.target.value; S.page = 0; render(); } }),
      h("button", { id: "prev-page", disabled: S.page === 0, onclick: () => { S.page--; render(); } }, "‹ Prev"),
      h("span", { id: "page-info", class: "muted" }, `page ${S.page + 1} of ${pages} · ${all.length} containers`),
      h("button", { id: "next-page", disabled: S.page >= pages - 1, onclick: () => { S.page++; render(); } }, "Next ›")),
    h("table", { id: "containers-table" },
      h("thead", {}, h("tr", {}, ["Name", "State", "Addresses", "Flavour", "Image", "PoP · node · site", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, shown.map((c) => h("tr", { "data-id": c.id, "data-name": c.name, class: S.selected === c.id ? "selected" : null },
        h("td", {}, h("a", { class: "link", title: "CPU and memory", onclick: () => selectContainer(c.id) }, c.name)),
        stateCell(c.state),
        h("td", {}, addresses(c) || "—"),
        h("td", {}, c.flavour),
        h("td", {}, c.image),
        h("td", {}, place),
        containerActions(c))))),
    all.length === 0 ? h("p", { class: "muted" }, "No containers.") : null,
    h("div", { id: "chart-panel" }));
}
async function selectContainer(id) {
  S.selected = S.selected === id ? null : id;
  S.usage = null;
  render();
  if (S.selected) { await loadUsage().catch((e) => flash(e.message, true)); renderChart(); }
}
async function loadUsage() {
  if (S.selected) S.usage = await api("GET", `/v1/containers/${S.selected}/usage`);
}
function sparkline(points, value, max, cls, label, format) {
  const W = 320, H = 70;
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  if (points.length > 1) {
    const t0 = points[0].time, t1 = points[points.length - 1].time, span = Math.max(t1 - t0, 1);
    const top = Math.max(max, ...points.map(value), 1e-9);
    const line = document.createElementNS(svgNS, "polyline");
    line.setAttribute("class", `line ${cls}`);
    line.setAttribute("points", points.map((p) =>
      `${((p.time - t0) / span * (W - 4) + 2).toFixed(1)},${(H - 2 - value(p) / top * (H - 4)).toFixed(1)}`).join(" "));
    svg.append(line);
  }
  const last = points.length ? format(value(points[points.length - 1])) : "no samples yet";
  return h("div", { class: "chart" }, h("div", {}, `${label}: `, h("strong", {}, last)), svg);
}
function renderChart() {
  const panel = $("#chart-panel");
  if (!panel) return;
  const c = S.selected && S.containers.get(S.selected);
  if (!c) { panel.replaceChildren(); return; }
  const points = (S.usage && S.usage.points) || [];
  const limit = points.length ? points[points.length - 1].memory_limit_bytes : 0;
  const minutes = S.usage ? Math.round(S.usage.window_seconds / 60) : 10;
  panel.replaceChildren(h("div", { class: "panel", id: "usage" },
    h("h2", {}, `${c.name} · CPU and memory, up to the last ${minutes} minutes`),
    c.state !== "RUNNING" ? h("p", { class: "muted" }, "Not running: no samples.") : null,
    h("div", { class: "charts" },
      sparkline(points, (p) => p.cpu_percent, 100, "cpu", "CPU", (v) => `${v.toFixed(1)} %`),
      sparkline(points, (p) => p.memory_bytes, 0, "mem", "Memory", (v) => `${bytes(v)}${limit ? ` of ${bytes(limit)}` : ""}`)),
    h("p", { class: "muted" }, `sampled every ${S.usage ? S.usage.interval : "?"} s by popvimd`)));
}

// --- networks, PoPs ------------------------------------------------------------------
function networksView() {
  return h("div", { id: "networks" }, h("h2", {}, "Networks"),
    h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "Driver", "Subnet", "Gateway", "Addresses in use", "Internal", "Default"].map((t) => h("th", {}, t)))),
      h("tbody", {}, S.networks.map((n) => h("tr", { "data-id": n.id },
        h("td", {}, n.name), h("td", {}, n.driver), h("td", {}, n.subnet), h("td", {}, n.gateway),
        h("td", {}, n.addresses_in_use), h("td", {}, n.internal ? "yes" : "no"), h("td", {}, n.is_default ? "yes" : "no"))))));
}
function popsView() {
  return h("div", { id: "pops" }, h("h2", {}, "PoPs"),
    h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "Site", "Address", "TLS", "Health"].map((t) => h("th", {}, t)))),
      h("tbody", {}, S.pops.map((p) => h("tr", { "data-name": p.name },
        h("td", {}, p.name, p.local ? h("span", { class: "muted" }, " (this PoP)") : null),
        h("td", {}, p.site || "—"), h("td", {}, p.address), h("td", {}, p.tls ? "yes" : "no"),
        h("td", {}, popHealthText(p)))))),
    h("p", { class: "muted" }, "Health: whether the orchestrator reaches the PoP now (probed when this view opens)."));
}

// --- network services --------------------------------------------------------------
function servicesView() {
  return h("div", { id: "services" }, h("h2", {}, "Network services"),
    h("table", {},
      h("thead", {}, h("tr", {}, ["Name", "State", "VNFs", "VNFCs", "Created"].map((t) => h("th", {}, t)))),
      h("tbody", {}, S.services.map((s) => h("tr", { "data-id": s.id },
        h("td", {}, h("a", { class: "link", href: `#/services/${encodeURIComponent(s.id)}` }, s.nsInstanceName)),
        stateCell(s.nsState),
        h("td", {}, s.vnfInstances.map((v) => v.vnfName).join(", ") || "—"),
        h("td", {}, s.vnfInstances.reduce((n, v) => n + v.vnfcs.length, 0)),
        h("td", {}, new Date(s.createdAt).toLocaleString()))))),
    S.services.length === 0 ? h("p", { class: "muted" }, "No network services.") : null);
}
function serviceView() {
  const s = S.service;
  if (!s) return h("p", { class: "muted" }, "Loading…");
  const base = `/nslcm/v1/ns_instances/${encodeURIComponent(s.id)}`;
  const instantiated = s.nsState === "INSTANTIATED";
  return h("div", { id: "service", "data-id": s.id },
    h("p", {}, h("a", { class: "link", href: "#/services" }, "‹ all network services")),
    h("h2", { id: "service-name" }, s.nsInstanceName),
    h("div", { class: "panel" },
      h("dl", { class: "facts" },
        h("dt", {}, "State"), h("dd", { id: "service-state", class: `state state-${s.nsState}` }, s.nsState),
        h("dt", {}, "Instance"), h("dd", {}, s.id),
        h("dt", {}, "Descriptor"), h("dd", {}, s.nsdId),
        h("dt", {}, "Virtual links"), h("dd", {}, Object.entries(s.virtualLinks).map(([vl, pops]) =>
          `${vl}: ${Object.entries(pops).map(([p, n]) => `${p}/${n}`).join(", ")}`).join("; ") || "—")),
      h("div", { class: "toolbar" },
        h("button", { id: "heal", disabled: !instantiated, onclick: () => act("heal", () => api("POST", `${base}/heal`, {})) }, "Heal"),
        h("button", { id: "terminate", class: "danger", disabled: s.nsState === "NOT_INSTANTIATED",
          onclick: () => { if (confirm(`Terminate ${s.nsInstanceName}?`)) act("terminate", () => api("POST", `${base}/terminate`, {})); } },
          "Terminate"))),
    h("h2", {}, "VNFs"),
    h("table", { id: "vnfs" },
      h("thead", {}, h("tr", {}, ["VNF / VNFC", "PoP", "State", "Addresses", "Heals", ""].map((t) => h("th", {}, t)))),
      h("tbody", {}, s.vnfInstances.map((v) => [
        h("tr", { class: "vnf", "data-vnf": v.vnfName },
          h("td", {}, h("strong", {}, v.vnfName), h("span", { class: "muted" }, ` ${v.instances} of ${v.minInstances}–${v.maxInstances}`)),
          h("td", {}, v.popName), h("td", {}), h("td", {}), h("td", {}),
          h("td", { class: "actions" },
            h("button", { "data-action": "scale-out", disabled: !instantiated || v.instances >= v.maxInstances,
              onclick: () => act(`scale out ${v.vnfName}`, () => api("POST", `${base}/scale`, { vnfName: v.vnfName, direction: "out", steps: 1 })) }, "Scale out"),
            h("button", { "data-action": "scale-in", disabled: !instantiated || v.instances <= v.minInstances,
              onclick: () => act(`scale in ${v.vnfName}`, () => api("POST", `${base}/scale`, { vnfName: v.vnfName, direction: "in", steps: 1 })) }, "Scale in"))),
        v.vnfcs.map((c) => h("tr", { class: "vnfc", "data-id": c.id },
          h("td", {}, `  ${c.name}`), h("td", {}, c.popName), stateCell(c.state),
          h("td", {}, Object.entries(c.addresses).map(([vl, a]) => `${vl} ${a}`).join(", ") || "—"),
          h("td", {}, c.heals), h("td", {}))),
      ]))),
    loadBalancerView(),
    loadTestsView(),
    h("h2", {}, "Operations"),
    h("table", { id: "ops" },
      h("thead", {}, h("tr", {}, ["Operation", "State", "Started", "Error"].map((t) => h("th", {}, t)))),
      h("tbody", {}, S.ops.slice().sort((a, b) => b.startTime.localeCompare(a.startTime)).slice(0, 20).map((o) => h("tr", {},
        h("td", {}, o.lcmOperationType, o.isAutomaticInvocation ? " (automatic)" : ""), stateCell(o.operationState),
        h("td", {}, new Date(o.startTime).toLocaleString()), h("td", {}, o.error || ""))))));
}

function loadBalancerView() {
  const lbs = (S.lb && S.lb.loadBalancers) || [];
  if (!lbs.length) return null;
  return h("div", { id: "load-balancers" }, lbs.map((lb) => [
    h("h2", {}, `Load balancer ${lb.vnfcName}`,
      h("span", { class: "muted" }, ` on ${lb.popName} · :${lb.listen} · ${lb.algorithm} · ${lb.state}`)),
    lb.error ? h("p", { class: "muted" }, lb.error) : null,
    h("table", { class: "lb-backends", "data-lb": lb.vnfcName },
      h("thead", {}, h("tr", {}, ["Server", "VNFC / container", "PoP · site", "Address", "State", "Sessions", "Requests"].map((t) => h("th", {}, t)))),
      h("tbody", {}, lb.backends.map((b) => h("tr", { "data-server": b.name, "data-state": b.state },
        h("td", {}, b.name),
        h("td", {}, b.vnfcName || "—", h("span", { class: "muted" }, b.containerId ? ` ${b.containerId.slice(0, 12)}` : "")),
        h("td", {}, [b.popName, b.site].filter(Boolean).join(" · ") || "—"),
        h("td", {}, `${b.address}:${b.port}`),
        h("td", { class: `state lb-${b.state}`, title: b.status }, b.state),
        h("td", {}, `${b.sessions} now · ${b.sessionsTotal} total`),
        h("td", {}, b.requestsTotal))))),
    lb.backends.length ? null : h("p", { class: "muted" }, "No backends."),
  ]));
}
function loadTestsView() {
  if (!S.loadtests || !S.loadtests.length) return null;
  const ms = (v) => Number(v).toFixed(1);
  return h("div", { id: "loadtests" }, h("h2", {}, "Load tests"),
    S.loadtests.map((t) => {
      const r = t.report;
      return h("div", { class: "panel loadtest", "data-id": t.id },
        h("p", {}, h("strong", {}, `${t.target} at ${r.address}`),
          h("span", { class: "muted" }, ` · ${new Date(t.finishedAt).toLocaleString()} · ${r.workers} worker(s), ${r.duration} s at ${t.request.rate}/s`)),
        h("table", {},
          h("thead", {}, h("tr", {}, ["Backend", "Requests", "Errors", "Mean ms", "Share"].map((x) => h("th", {}, x)))),
          h("tbody", {},
            r.backends.map((b) => h("tr", { class: "backend", "data-backend": b.name },
              h("td", {}, b.name), h("td", {}, b.requests), h("td", {}, b.errors), h("td", {}, ms(b.mean_ms)),
              h("td", {}, `${Math.round(100 * b.requests / Math.max(r.requests, 1))}%`))),
            h("tr", { class: "total" },
              h("td", {}, h("strong", {}, "Total")), h("td", { class: "requests" }, r.requests), h("td", { class: "errors" }, r.errors),
              h("td", { class: "latency" }, `p50 ${ms(r.p50_ms)} · p90 ${ms(r.p90_ms)} · p99 ${ms(r.p99_ms)}`),
              h("td", { class: "rps" }, `${r.rps}/s`)))));
    }));
}

// --- start ---------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", () => logout());
  window.addEventListener("hashchange", route);
  if (S.token) start(); else { $("#login").hidden = false; }
});
