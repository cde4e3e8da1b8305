// The llmaas dashboard: reads the documented JSON routes with the viewer's key (kept in this tab's
// sessionStorage only, never in the address) and draws them. Read-only.
"use strict";

const REFRESH_MS = 10000;
const state = {key: sessionStorage.getItem("llmaas-key") || "", timer: null};
const $ = (id) => document.getElementById(id);

async function api(path) {
  const headers = state.key ? {Authorization: `Bearer ${state.key}`} : {};
  const response = await fetch(path, {headers});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error((body.error && body.error.message) || `${path}: HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function count(n) {
  if (n === null || n === undefined) return "–";
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(0)}M` : String(n);
}

async function loadModels() {
  const models = (await api("/v1/models")).data;
  fill("models", models.map((m) => [cell(m.id), cell(m.target ? `alias of ${m.target}` : m.kind),
    cell(m.engine === "transformers" ? "transformers (slow path)" : m.engine), cell(m.architecture),
    cell(count(m.parameters), "num"), cell(m.context_length, "num"), cell(m.loaded ? "yes" : "no")]));
}

async function loadRunning() {
  const running = (await api("/v1/ps")).data;
  fill("running", running.map((m) => [cell(m.id), cell(m.engine), cell(bytes(m.memory_bytes), "num"),
    cell(m.running, "num"), cell(m.waiting, "num"), cell((m.adapters || []).join(", ") || "–")]));
}

function bySeries(points, nameOf, valueOf) {
  const out = new Map();
  for (const p of points) {
    const name = nameOf(p);
    if (!out.has(name)) out.set(name, []);
    out.get(name).push([p.t, valueOf(p)]);
  }
  return [...out].map(([name, pts]) => ({name, points: pts}));
}

function summed(points, valueOf) {
  const totals = new Map();
  for (const p of points) totals.set(p.t, (totals.get(p.t) || 0) + valueOf(p));
  return [...totals];
}

// requests that name no model (files, batches, evals) are a series of their own, named so in the legend
const modelOf = (p) => p.model || "no model";

async function loadUsage() {
  const windowSeconds = Number($("window").value);
  const usage = await api(`/v1/usage/series?window=${windowSeconds}`);
  const points = usage.data, span = {start: usage.since, end: Date.now() / 1000};
  const {lineChart} = window.llmaasCharts;
  lineChart($("chart-tokens"), bySeries(points, modelOf, (p) => p.prompt_tokens + p.completion_tokens), span);
  lineChart($("chart-requests"), [{name: "requests", points: summed(points, (p) => p.requests)},
                                  {name: "errors", points: summed(points, (p) => p.errors)}], span);
  const latency = [];
  for (const p of points) {
    latency.push({t: p.t, model: `${modelOf(p)} p50`, v: p.latency_p50_ms}, {t: p.t, model: `${modelOf(p)} p95`, v: p.latency_p95_ms});
  }
  lineChart($("chart-latency"), bySeries(latency, (p) => p.model, (p) => p.v), span);
  lineChart($("chart-flags"), bySeries(usage.flags, (f) => f.source, (f) => f.count), span);
  let byKey = points;
  try {
    byKey = (await api(`/v1/usage/series?window=${windowSeconds}&by_key=true`)).data;
  } catch (err) { /* an ordinary key sees its own usage only */ }
  lineChart($("chart-keys"), bySeries(byKey, (p) => p.key_name || p.key_id || "this key",
                                      (p) => p.prompt_tokens + p.completion_tokens), span);
  const totals = new Map();
  for (const p of byKey) {
    const key = `${p.key_name || p.key_id || "this key"}\u0000${p.model}`;
    const t = totals.get(key) || {requests: 0, prompt: 0, completion: 0, errors: 0};
    t.requests += p.requests; t.prompt += p.prompt_tokens; t.completion += p.completion_tokens; t.errors += p.errors;
    totals.set(key, t);
  }
  fill("usage-keys", [...totals].map(([key, t]) => {
    const [who, model] = key.split("\u0000");
    return [cell(who), cell(model), cell(t.requests, "num"), cell(t.prompt, "num"), cell(t.completion, "num"),
            cell(t.errors, "num")];
  }));
}

async function lossCurve(job) {
  const points = [];
  let after = null;
  for (let page = 0; page < 20; page++) {
    const q = after ? `&after=${encodeURIComponent(after)}` : "";
    const events = await api(`/v1/fine_tuning/jobs/${encodeURIComponent(job.id)}/events?limit=100${q}`);
    for (const e of events.data) {
      if (e.type === "metrics" && e.data && e.data.train_loss !== undefined) points.push([e.data.step, e.data.train_loss]);
    }
    if (!events.has_more || events.data.length === 0) break;
    after = events.data[events.data.length - 1].id;
  }
  return points;
}

async function loadJobs() {
  const jobs = (await api("/v1/fine_tuning/jobs?limit=10")).data;
  const rows = [];
  for (const job of jobs) {
    const status = cell(job.status, `status-${job.status}`);
    const chart = document.createElement("td");
    chart.className = "chart";
    chart.style.width = "260px";
    const points = await lossCurve(job);
    if (points.length) {
      const steps = points.map((p) => p[0]);
      window.llmaasCharts.lineChart(chart, [{name: "train loss", points}],
        {start: Math.min(...steps), end: Math.max(...steps), xLabel: (s) => `step ${Math.round(s)}`});
    } else {
      chart.textContent = "–";
    }
    rows.push([cell(job.id), cell(job.model), status, cell(job.fine_tuned_model), cell(job.trained_tokens, "num"), chart]);
  }
  fill("jobs", rows);
}

async function loadBatches() {
  const batches = (await api("/v1/batches?limit=20")).data;
  fill("batches", batches.map((b) => {
    const counts = b.request_counts || {total: 0, completed: 0, failed: 0};
    const progress = document.createElement("td");
    const bar = document.createElement("progress");
    bar.max = Math.max(1, counts.total);
    bar.value = counts.completed + counts.failed;
    bar.title = `${counts.completed + counts.failed} of ${counts.total}`;
    progress.append(bar);
    return [cell(b.id), cell(b.endpoint), cell(b.model), cell(b.status, `status-${b.status}`), progress,
            cell(counts.completed, "num"), cell(counts.failed, "num"), cell(counts.total, "num"),
            cell(b.usage ? b.usage.output_tokens : null, "num")];
  }));
}

function rates(run) {
  return (run.per_testing_criteria_results || []).map((c) => c.pass_rate === null || c.pass_rate === undefined
    ? `${c.testing_criteria}: –`
    : `${c.testing_criteria}: ${c.pass_rate.toFixed(2)} [${c.interval[0].toFixed(2)}, ${c.interval[1].toFixed(2)}]`)
    .join("; ");
}

async function loadEvals() {
  const evals = (await api("/v1/evals?limit=10&order=desc")).data;
  const runs = [];
  for (const ev of evals) {
    for (const run of (await api(`/v1/evals/${ev.id}/runs?limit=20&order=desc`)).data) runs.push({ev, run});
  }
  fill("eval-runs", runs.map(({ev, run}) => {
    const c = run.result_counts;
    const progress = document.createElement("td");
    const bar = document.createElement("progress");
    bar.max = Math.max(1, c.total);
    bar.value = c.passed + c.failed + c.errored;
    bar.title = `${bar.value} of ${c.total}`;
    progress.append(bar);
    return [cell(ev.name), cell(run.name), cell(run.model), cell(run.status, `status-${run.status}`), progress,
            cell(c.passed, "num"), cell(c.failed, "num"), cell(c.errored, "num"), cell(rates(run), "text")];
  }));
  await offerComparison(runs);
}

async function offerComparison(runs) {
  const ended = runs.filter(({run}) => ["completed", "canceled", "failed"].includes(run.status));
  const key = ended.map(({run}) => run.id).join(",");
  if (key === state.offered) return;  // the same choices: keep what the viewer picked (and its table)
  state.offered = key;
  for (const id of ["compare-a", "compare-b"]) {
    const select = $(id);
    const was = select.value;
    select.replaceChildren(...ended.map(({ev, run}) => {
      const option = document.createElement("option");
      option.value = `${ev.id}/${run.id}`;
      option.textContent = `${ev.name}: ${run.model || run.name} (${run.id.slice(-6)})`;
      return option;
    }));
    if (was) select.value = was;
  }
  if (!state.picked) {  // at first, the two latest runs of the newest eval that has two
    const byEval = {};
    for (const {ev, run} of ended) (byEval[ev.id] = byEval[ev.id] || []).push(run);
    const pair = Object.entries(byEval).find(([, list]) => list.length >= 2);
    if (pair) {
      $("compare-a").value = `${pair[0]}/${pair[1][1].id}`;
      $("compare-b").value = `${pair[0]}/${pair[1][0].id}`;
    }
  }
  await compareRuns();
}

async function itemsOf(path) {
  const items = [];
  let after = null;
  for (let page = 0; page < 10; page++) {
    const body = await api(`/v1/evals/${path}/output_items?limit=100${after ? `&after=${after}` : ""}`);
    items.push(...body.data);
    if (!body.has_more || !body.data.length) break;
    after = body.data[body.data.length - 1].id;
  }
  return items;
}

function answerOf(item) {
  const output = item && item.sample && item.sample.output;
  return output && output.length ? output[0].content : null;
}

function inputOf(item) {
  const first = Object.values(item.datasource_item || {}).find((v) => typeof v === "string");
  return first === undefined ? JSON.stringify(item.datasource_item) : first;
}

async function compareRuns() {
  const a = $("compare-a").value, b = $("compare-b").value;
  if (!a || !b || a === b || a.split("/")[0] !== b.split("/")[0]) {
    $("compare-summary").textContent = a && b && a !== b ? "pick two runs of the same eval" : "";
    fill("compare", []);
    return;
  }
  const [base, other] = await Promise.all([itemsOf(a.replace("/", "/runs/")), itemsOf(b.replace("/", "/runs/"))]);
  const before = new Map(base.map((i) => [i.datasource_item_id, i]));
  let changed = 0;
  const rows = other.sort((x, y) => x.datasource_item_id - y.datasource_item_id).map((item) => {
    const old = before.get(item.datasource_item_id);
    const tr = [cell(item.datasource_item_id, "num"), cell(inputOf(item), "text"),
                cell(old ? old.status : null, old ? `status-${old.status}` : ""),
                cell(item.status, `status-${item.status}`), cell(old ? answerOf(old) : null, "text"),
                cell(answerOf(item), "text")];
    if (old && old.status !== item.status) { changed++; tr.changed = true; }
    return tr;
  });
  fill("compare", rows);
  $("compare").querySelectorAll("tbody tr").forEach((tr, i) => { if (rows[i].changed) tr.className = "changed"; });
  $("compare-summary").textContent = `${changed} of ${rows.length} items changed outcome`;
}

async function refresh() {
  try {
    await Promise.all([loadModels(), loadRunning(), loadUsage(), loadJobs(), loadBatches(), loadEvals()]);
    $("error").hidden = true;
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}${state.key ? "" : " (no key)"}`;
    document.body.dataset.loaded = "true";
  } catch (err) {
    if (err.status === 401) {
      $("key-form").hidden = false;
      $("status").textContent = "this server needs an API key";
    }
    $("error").textContent = err.message;
    $("error").hidden = false;
  }
}

function start() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("key").value.trim();
    sessionStorage.setItem("llmaas-key", state.key);
    $("key").value = "";
    $("key-form").hidden = true;
    $("forget-key").hidden = false;
    refresh();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem("llmaas-key");
    state.key = "";
    $("forget-key").hidden = true;
    $("key-form").hidden = false;
  });
  $("forget-key").hidden = !state.key;
  $("window").addEventListener("change", refresh);
  for (const id of ["compare-a", "compare-b"]) {
    $(id).addEventListener("change", () => { state.picked = true; compareRuns(); });
  }
  refresh();
  state.timer = setInterval(refresh, REFRESH_MS);
}

start();
