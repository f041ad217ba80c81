// Live refresh of the status counters and the opportunities list. Loaded as
// a static file (the Content-Security-Policy forbids inline script); writes
// only textContent, never HTML.
"use strict";

function text(el, value) {
  if (el && el.textContent !== String(value)) {
    el.textContent = String(value);
  }
}

async function fetchJson(path) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) {
    window.location.assign("/login");
    return null;
  }
  if (!response.ok) {
    return null;
  }
  return response.json();
}

async function refreshStatus() {
  const status = await fetchJson("/api/status");
  if (!status) {
    return;
  }
  for (const [name, value] of status.counters) {
    text(document.querySelector('[data-counter="' + name + '"]'), value);
  }
  text(document.querySelector('[data-field="mode"]'), status.mode);
  text(document.querySelector('[data-field="trading"]'), status.trading);
  text(document.querySelector('[data-field="ready"]'), status.ready ? "yes" : "no");
}

function cell(row, value) {
  const td = document.createElement("td");
  td.textContent = String(value);
  row.appendChild(td);
}

async function refreshOpportunities(body) {
  const list = await fetchJson(body.dataset.live);
  if (!list) {
    return;
  }
  const rows = [];
  for (const o of list) {
    const row = document.createElement("tr");
    cell(row, o.detected_at);
    cell(row, o.pair_id);
    cell(row, o.direction);
    cell(row, o.quantity);
    cell(row, "$" + o.total_cost);
    cell(row, "$" + o.net_profit);
    cell(row, o.acted ? "executed" : "detected");
    rows.push(row);
  }
  body.replaceChildren(...rows);
}

document.addEventListener("DOMContentLoaded", () => {
  if (document.getElementById("counters")) {
    setInterval(refreshStatus, 1000);
  }
  const live = document.getElementById("opportunities");
  if (live) {
    setInterval(() => refreshOpportunities(live), 2000);
  }
});
