// The call console: polls the console server (same origin) and draws both sides of every call.
"use strict";

const POLL_MS = 1000;
const HEADERS = { "X-Call-Console": "1" };
// `follow`: show the newest call until the user picks one.
const state = { snapshot: null, snapshotText: "", selected: null, follow: true, timelineText: "" };

// helpers ----------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function rawId(identifier) {
  if (!identifier) return "";
  return identifier.rawId || (identifier.phoneNumber ? "4:" + identifier.phoneNumber : identifier.communicationUserId || "");
}

function shortName(raw) {
  if (raw.startsWith("4:")) return raw.slice(2);
  if (raw.startsWith("8:acs:")) {
    const tail = raw.split("_").slice(1).join("_") || raw.slice(6);
    return tail.length > 8 ? "user …" + tail.slice(-6) : "user " + tail;
  }
  return raw;
}

function identifier(text) {
  const value = text.trim();
  return value.startsWith("+") ? { phoneNumber: value } : { rawId: value };
}

// An inbound-… record (a call rejected or redirected) is told apart by what follows its prefix.
function shortId(id) { return !id ? "—" : id.slice(0, id.startsWith("inbound-") ? 16 : 8) + "…"; }

// One id per call wherever a person reads: the app's callConnectionId (what the API, the logs
// and the terminal name it by), with ACS's correlationId beside it, secondary.
function appIdOfNetworkCall(call, appCalls) {
  if (call.connections.length) return call.connections[0].callConnectionId;
  const decided = (appCalls || []).find((c) => c.correlationId && c.correlationId === call.correlationId);
  return decided ? decided.callConnectionId : null;  // a rejected or redirected call: inbound-…
}

function callLabel(callConnectionId, correlationId) {
  const main = callConnectionId
    ? `<span class="id" title="callConnectionId ${esc(callConnectionId)}" data-testid="call-id">call ${esc(shortId(callConnectionId))}</span>`
    : '<span class="id muted" data-testid="call-id">call (no app leg)</span>';
  const corr = correlationId
    ? ` <span class="muted" title="correlationId ${esc(correlationId)}" data-testid="correlation-id">corr ${esc(correlationId.slice(0, 8))}</span>` : "";
  return main + corr;
}

async function api(method, path, body) {
  const init = { method, headers: { ...HEADERS } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { ok: response.ok, status: response.status, data };
}

function flash(message, isError) {
  const box = $("flash");
  box.hidden = false;
  box.className = "flash" + (isError ? " error" : "");
  box.textContent = message;
}

function problemText(reply) {
  const d = reply.data;
  if (d && typeof d === "object") {
    if (d.error) return `${d.error.code}: ${d.error.message}`;
    if (d.detail) return d.detail + (d.errors ? " — " + d.errors.map((e) => `${e.field}: ${e.reason}`).join("; ") : "");
  }
  return String(d ?? "");
}

async function act(label, method, path, body) {
  const reply = await api(method, path, body);
  if (reply.ok) flash(`${label}: HTTP ${reply.status}`, false);
  else flash(`${label} failed: HTTP ${reply.status} ${problemText(reply)}`, true);
  await refresh();
  return reply;
}

// polling ----------------------------------------------------------------------------------
async function refresh() {
  try {
    const reply = await api("GET", "/console/snapshot");
    if (!reply.ok) throw new Error(problemText(reply) || `HTTP ${reply.status}`);
    const text = JSON.stringify(reply.data);
    $("status").textContent = "live · " + new Date().toLocaleTimeString();
    $("status").className = "status";
    if (text !== state.snapshotText) {
      state.snapshotText = text;
      state.snapshot = reply.data;
      chooseSelection();
      render();
    }
    await refreshTimeline();
  } catch (error) {
    $("status").textContent = "offline: " + error.message;
    $("status").className = "status error";
  }
}

function chooseSelection() {
  const calls = state.snapshot.network.calls;
  if (!state.follow && calls.some((c) => c.serverCallId === state.selected)) return;
  const newest = calls[calls.length - 1];
  const chosen = newest ? newest.serverCallId : null;
  if (chosen !== state.selected) state.timelineText = "";
  state.selected = chosen;
}

function select(serverCallId, follow = false) {
  if (!serverCallId) return;
  state.follow = follow;
  state.selected = serverCallId;
  state.timelineText = "";
  render();
  refreshTimeline();
}

// rendering: keep what the user is typing across redraws --------------------------------------
function keepInputs(container, draw) {
  const kept = {};
  const valueOf = (el) => (el.type === "checkbox" ? el.checked : el.value);
  container.querySelectorAll("[data-keep]").forEach((el) => { kept[el.dataset.keep] = valueOf(el); });
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.keep : null;
  draw();
  container.querySelectorAll("[data-keep]").forEach((el) => {
    if (el.dataset.keep in kept) {
      if (el.type === "checkbox") el.checked = kept[el.dataset.keep];
      else el.value = kept[el.dataset.keep];
    }
    if (focused && el.dataset.keep === focused) el.focus();
  });
}

function render() {
  const snap = state.snapshot;
  if (!snap) return;
  $("unscripted").value = snap.network.unscriptedBehavior || "answer";
  keepInputs($("legs"), () => { $("legs").innerHTML = renderLegs(snap.network.legs); });
  keepInputs($("network-calls"), () => { $("network-calls").innerHTML = renderNetworkCalls(snap.network.calls, snap.app.calls); });
  keepInputs($("app-calls"), () => { $("app-calls").innerHTML = renderAppCalls(snap.app.calls, snap.network.calls); });
  renderFlowForm(snap.app.flows, snap.app.rulesError);  // flow_control.js
  renderCallPanel();  // call_panel.js: the selected call's controls
}

function renderLegs(legs) {
  if (!legs.length) return '<div class="empty">nothing is ringing</div>';
  const now = Date.now() / 1000;
  return legs.map((leg) => {
    const callee = rawId(leg.callee);
    const left = Math.max(0, Math.round(leg.ringsUntil - now));
    const who = leg.kind === "app"
      ? `<b>${esc(shortName(rawId(leg.caller)))}</b> → the app at <b>${esc(shortName(callee))}</b>`
      : `<b>${esc(shortName(callee))}</b> ← ${esc(shortName(rawId(leg.caller)) || "the app")}`;
    let buttons = "";
    if (leg.actions.includes("answer")) {
      buttons += `<button class="ok" data-act="answer" data-leg="${esc(leg.legId)}" data-testid="answer-leg">Answer</button>
        <select data-keep="reason-${esc(leg.legId)}" data-testid="decline-reason">
          <option value="declined">declined</option><option value="busy">busy</option>
          <option value="noAnswer">no answer</option><option value="unreachable">unreachable</option></select>
        <button class="danger" data-act="decline" data-leg="${esc(leg.legId)}" data-testid="decline-leg">Decline</button>`;
    } else if (leg.actions.includes("hangup")) {
      buttons += `<button class="danger" data-act="leg-hangup" data-leg="${esc(leg.legId)}" data-testid="hangup-leg">Caller hangs up</button>`;
    }
    if (!buttons) buttons = '<span class="muted">the app decides</span>';
    return `<div class="item leg" data-testid="leg" data-callee="${esc(callee)}">
      <span class="badge ringing">ringing</span><span class="who">${who}
      <span class="muted">· ${leg.kind === "app" ? "IncomingCall" : esc(leg.behavior)} · ${left}s left</span></span>${buttons}</div>`;
  }).join("");
}

function renderNetworkCalls(calls, appCalls) {
  if (!calls.length) return '<div class="empty">no calls yet</div>';
  return calls.slice().reverse().map((call) => {
    const selected = call.serverCallId === state.selected ? " selected" : "";
    const apps = new Set(call.connections.map((c) => rawId(c.appIdentity)));
    const parties = call.participants.map((p) => {
      const raw = rawId(p.identifier);
      if (apps.has(raw)) return appLeg(raw);
      const hangup = call.ended ? "" : `<button class="danger" data-act="party-hangup" data-call="${esc(call.serverCallId)}" data-raw="${esc(raw)}" data-testid="party-hangup">Hang up</button>`;
      return `<li><span class="who">${esc(shortName(raw))} <span class="muted">${esc(raw)}</span>${p.isMuted ? ' <span class="badge">muted</span>' : ""}</span>${hangup}</li>`;
    }).join("");
    const legs = call.connections.map((c) => `<span class="badge ${esc(c.state)}">${esc(c.direction)} leg ${esc(c.state)}</span>`).join(" ");
    return `<div class="item${selected}${call.ended ? " ended" : ""}" data-testid="network-call" data-server-call-id="${esc(call.serverCallId)}">
      <div class="head" data-select="${esc(call.serverCallId)}"><span class="badge ${call.ended ? "ended" : "live"}">${call.ended ? "ended" : "live"}</span>
      ${callLabel(appIdOfNetworkCall(call, appCalls), call.correlationId)} ${legs}</div>
      <ul class="parties">${parties || '<li class="muted">nobody is in the call</li>'}</ul></div>`;
  }).join("");
}

// ACS lists the app in its own calls under the identity it gives the app (8:acs:<resource>_…):
// muting it mutes the app and removing it is refused, so it gets a label and no buttons.
function appLeg(raw) {
  return `<li data-testid="app-leg"><span class="who"><span class="badge">the app</span> <span class="muted" title="${esc(raw)}">its own leg in the call · ${esc(shortName(raw))}</span></span></li>`;
}

function appIdentityOf(appCall, networkCalls) {
  for (const call of networkCalls) {
    const mine = call.connections.find((c) => c.callConnectionId === appCall.callConnectionId);
    if (mine) return rawId(mine.appIdentity);
  }
  return null;
}

function serverCallIdOf(appCall, networkCalls) {
  if (appCall.serverCallId) return appCall.serverCallId;
  const found = networkCalls.find((c) => c.connections.some((x) => x.callConnectionId === appCall.callConnectionId));
  return found ? found.serverCallId : null;
}

function renderAppCalls(calls, networkCalls) {
  if (!calls.length) return '<div class="empty">the app knows no calls yet</div>';
  return calls.slice().sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt))).map((call) => {
    const id = call.callConnectionId;
    const scid = serverCallIdOf(call, networkCalls);
    const selected = scid && scid === state.selected ? " selected" : "";
    const live = !["disconnected", "failed", "rejected"].includes(call.state);
    const own = appIdentityOf(call, networkCalls);
    const others = call.participants.map((p) => rawId(p.identifier)).filter((raw) => raw !== own);
    const parties = call.participants.map((p) => {
      const raw = rawId(p.identifier);
      if (raw === own) return appLeg(raw);
      const buttons = !live ? "" : `${raw.startsWith("8:acs:") && !p.isMuted ? `<button class="secondary" data-act="mute" data-id="${esc(id)}" data-raw="${esc(raw)}" data-testid="mute">Mute</button>` : ""}
        <button class="secondary" data-act="remove" data-id="${esc(id)}" data-raw="${esc(raw)}" data-testid="remove">Remove</button>`;
      return `<li data-testid="participant" data-raw="${esc(raw)}"><span class="who">${esc(shortName(raw))}${p.isMuted ? ' <span class="badge">muted</span>' : ""}</span>${buttons}</li>`;
    }).join("");
    const ops = call.operations.filter((o) => o.status === "pending").map((o) => {
      const cancel = live && o.kind === "addParticipant" && o.invitationId
        ? `<button class="secondary" data-act="cancel-add" data-id="${esc(id)}" data-invitation="${esc(o.invitationId)}" data-testid="cancel-add">Cancel</button>` : "";
      return `<li><span class="who"><span class="badge pending">${esc(o.kind)} pending</span> <span class="muted">${esc(o.target ? shortName(rawId(o.target)) : "")}</span></span>${cancel}</li>`;
    }).join("");
    const inbound = call.inbound ? `<span class="muted">rule ${esc(call.inbound.ruleId || "default")} → ${esc(call.inbound.outcome)}</span>` : "";
    const end = !call.endReason ? "" : call.endReason.code == null
      ? `<span class="muted" title="${esc(call.endReason.message)}">ended: ${esc(clip(call.endReason.message, 48))}</span>`
      : `<span class="muted">ended ${esc(call.endReason.code)}/${esc(call.endReason.subCode)}</span>`;
    const actions = !live ? "" : `<div class="actions">
        <input data-keep="target-${esc(id)}" placeholder="+1425… or 8:acs:…" data-testid="action-target">
        <select data-keep="transferee-${esc(id)}" data-testid="transferee" title="In a group call, the participant to transfer">
          <option value="">transfer the whole 1:1 call</option>
          ${others.map((raw) => `<option value="${esc(raw)}">transfer ${esc(shortName(raw))}</option>`).join("")}</select>
        <button data-act="transfer" data-id="${esc(id)}" data-testid="transfer">Transfer</button>
        <button class="secondary" data-act="add" data-id="${esc(id)}" data-testid="add">Add</button>
        <label class="muted"><input type="checkbox" data-keep="everyone-${esc(id)}"> for everyone</label>
        <button class="danger" data-act="app-hangup" data-id="${esc(id)}" data-testid="app-hangup">Hang up</button></div>`;
    return `<div class="item${selected}${live ? "" : " ended"}" data-testid="app-call" data-call-connection-id="${esc(id)}" data-state="${esc(call.state)}">
      <div class="head" data-select="${esc(scid || "")}"><span class="badge ${esc(call.state)}" data-testid="app-call-state">${esc(call.state)}</span>
      <span>${esc(call.direction)}</span>${callLabel(id, call.correlationId)}${inbound}${end}</div>
      <ul class="parties">${parties || '<li class="muted">no participants</li>'}${ops}</ul>${actions}</div>`;
  }).join("");
}

// the timeline as a sequence diagram -----------------------------------------------------------
const COLORS = { network: "#0f8a6c", eventgrid: "#c46a00", request: "#1f5fbf", callback: "#7a3fb8", decision: "#596273", flow: "#a1306f" };
const LANE_W = 240, LEFT = 70, TOP = 56, ROW_H = 44;

async function refreshTimeline() {
  const scid = state.selected;
  if (!scid) {
    $("timeline").innerHTML = '<div class="empty">no call selected</div>';
    $("timeline-title").textContent = "select a call";
    return;
  }
  const reply = await api("GET", "/console/timeline?serverCallId=" + encodeURIComponent(scid));
  if (!reply.ok || scid !== state.selected) return;
  const text = JSON.stringify(reply.data);
  if (text === state.timelineText) return;
  state.timelineText = text;
  const call = state.snapshot && state.snapshot.network.calls.find((c) => c.serverCallId === scid);
  const appId = call && appIdOfNetworkCall(call, state.snapshot.app.calls);
  $("timeline-title").textContent = !call ? scid
    : `call ${appId ? shortId(appId) : "(no app leg)"} · corr ${call.correlationId.slice(0, 8)} · ${reply.data.steps.length} steps`;
  $("timeline").innerHTML = drawTimeline(reply.data);
}

function drawTimeline(data) {
  const lanes = data.lanes, steps = data.steps;
  const x = {};
  lanes.forEach((lane, i) => { x[lane.id] = LEFT + LANE_W / 2 + i * LANE_W; });
  const width = LEFT + lanes.length * LANE_W + 20;
  const height = TOP + Math.max(1, steps.length) * ROW_H + 20;
  const t0 = steps.length ? steps[0].time : 0;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" data-testid="timeline-svg" role="img" aria-label="call timeline">`,
    `<defs>${Object.entries({ ...COLORS, failed: "#c62828" }).map(([k, c]) =>
      `<marker id="arrow-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`).join("")}</defs>`];
  lanes.forEach((lane) => {
    const cx = x[lane.id];
    const fill = lane.role === "acs" ? "#e8eef8" : lane.role === "app" ? "#efe7f8" : "#e5f4ee";
    parts.push(`<line x1="${cx}" y1="${TOP - 10}" x2="${cx}" y2="${height - 8}" stroke="#c3cbd6" stroke-dasharray="4 4"/>`);
    parts.push(`<rect x="${cx - LANE_W / 2 + 10}" y="8" width="${LANE_W - 20}" height="30" rx="6" fill="${fill}" stroke="#b7c2d0"/>`);
    parts.push(`<text class="lane-title" x="${cx}" y="28" text-anchor="middle" data-testid="lane">${esc(lane.title)}</text>`);
  });
  steps.forEach((step, i) => {
    const y = TOP + i * ROW_H + 22;
    const kind = step.failed ? "failed" : step.kind;
    const color = step.failed ? "#c62828" : COLORS[step.kind] || "#333";
    parts.push(`<text class="time" x="6" y="${y + 4}">+${(step.time - t0).toFixed(2)}s</text>`);
    const x1 = x[step.from], x2 = x[step.to];
    const label = `<tspan font-weight="600">${esc(step.label)}</tspan>`;
    if (step.kind === "flow") return parts.push(flowMark(step, x1, y, color));
    if (x1 === x2) {
      parts.push(`<path d="M${x1},${y - 8} h34 v16 h-32" fill="none" stroke="${color}" stroke-width="1.6" marker-end="url(#arrow-${kind})"/>`);
      parts.push(`<text x="${x1 + 40}" y="${y - 2}" fill="${color}" data-testid="step">${label}</text>`);
      if (step.detail) parts.push(`<text class="detail" x="${x1 + 40}" y="${y + 12}">${esc(clip(step.detail, 60))}</text>`);
      return;
    }
    const mid = (x1 + x2) / 2;
    parts.push(`<line x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -2 : 2)}" y2="${y}" stroke="${color}" stroke-width="1.8" marker-end="url(#arrow-${kind})"/>`);
    parts.push(`<text x="${mid}" y="${y - 6}" text-anchor="middle" fill="${color}" data-testid="step">${label}</text>`);
    if (step.detail) {
      const room = Math.max(24, Math.floor(Math.abs(x2 - x1) / 6.2));
      parts.push(`<text class="detail" x="${mid}" y="${y + 14}" text-anchor="middle">${esc(clip(step.detail, room))}<title>${esc(step.detail)}</title></text>`);
    }
  });
  if (!steps.length) parts.push(`<text x="${LEFT}" y="${TOP + 20}" class="detail">nothing recorded yet</text>`);
  parts.push("</svg>");
  return parts.join("");
}

// A flow step is a tag on the app's lane, not an arrow: a diamond and a filled label, so the
// run's steps read apart from the requests and callbacks around them.
function flowMark(step, x, y, color) {
  const width = Math.min(LANE_W * 1.6, 14 + step.label.length * 6.8);
  const detail = step.detail ? `<text class="detail" x="${x + 22 + width}" y="${y + 4}">${esc(clip(step.detail, 40))}</text>` : "";
  return `<g data-kind="flow"><path d="M${x},${y - 6} l6,6 l-6,6 l-6,-6 z" fill="${color}"/>
    <rect x="${x + 12}" y="${y - 10}" width="${width}" height="20" rx="10" fill="${step.failed ? "#fdecea" : "#f8e6f0"}" stroke="${color}"/>
    <text x="${x + 12 + width / 2}" y="${y + 4}" text-anchor="middle" fill="${color}" font-weight="600" data-testid="step" data-kind="flow">${esc(step.label)}</text>${detail}</g>`;
}

function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

// controls --------------------------------------------------------------------------------
function parseHeaders(text) {
  const headers = {};
  text.split("\n").map((l) => l.trim()).filter(Boolean).forEach((line) => {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return headers;
}

$("place-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const customContext = { sipHeaders: {}, voipHeaders: {} };
  customContext[f.headerKind.value] = parseHeaders(f.headers.value);
  const reply = await act("Dial", "POST", "/console/emulator/incoming-calls", {
    from: identifier(f.from.value), to: identifier(f.to.value),
    callerDisplayName: f.displayName.value, customContext,
  });
  if (reply.ok) select(reply.data.serverCallId, true);
});

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const body = { targets: f.targets.value.split(",").map((t) => t.trim()).filter(Boolean).map(identifier) };
  if (f.callerId.value.trim()) body.sourceCallerIdNumber = f.callerId.value.trim();
  state.follow = true;  // the new call shows once the network has it
  await act("Create call", "POST", "/console/app/calls", body);
});

$("unscripted").addEventListener("change", (event) =>
  act("Unscripted callees", "PATCH", "/console/emulator/settings", { unscriptedBehavior: event.target.value }));

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-act]");
  if (button && runCallControl(button)) return undefined;  // call_panel.js
  if (!button) {
    const head = event.target.closest("[data-select]");
    if (head && head.dataset.select) select(head.dataset.select);
    return;
  }
  const d = button.dataset;
  const item = button.closest(".item");
  const keep = (name) => item.querySelector(`[data-keep="${name}"]`);
  const encoded = d.raw ? encodeURIComponent(d.raw) : "";
  const base = d.id ? `/console/app/calls/${encodeURIComponent(d.id)}` : "";
  switch (d.act) {
    case "answer": return act("Answer", "POST", `/console/emulator/legs/${d.leg}/answer`);
    case "decline": return act("Decline", "POST", `/console/emulator/legs/${d.leg}/decline`, { reason: keep(`reason-${d.leg}`).value });
    case "leg-hangup": return act("Caller hangs up", "POST", `/console/emulator/legs/${d.leg}/hangup`);
    case "party-hangup": return act("Hang up", "POST", "/console/emulator/remote-hangups", { serverCallId: d.call, participant: { rawId: d.raw } });
    case "transfer": return targetAction("Transfer", `${base}/transfer`, "target", keep(`target-${d.id}`),
      keep(`transferee-${d.id}`).value);
    case "add": return targetAction("Add participant", `${base}/participants`, "participant", keep(`target-${d.id}`));
    case "remove": return act("Remove", "DELETE", `${base}/participants/${encoded}`);
    case "mute": return act("Mute", "POST", `${base}/participants/${encoded}/mute`);
    case "cancel-add": return act("Cancel add", "DELETE", `${base}/invitations/${encodeURIComponent(d.invitation)}`);
    case "app-hangup": return act("Hang up", "POST", `${base}/hangup`, { forEveryone: keep(`everyone-${d.id}`).checked });
  }
  return undefined;
});

function targetAction(label, path, field, input, transferee) {
  if (!input.value.trim()) { flash(`${label}: enter a target first`, true); input.focus(); return undefined; }
  const body = { [field]: identifier(input.value) };
  if (transferee) body.transferee = { rawId: transferee };
  // Calling a phone number needs a caller id, a transfer target as much as an added one.
  if (input.value.trim().startsWith("+")) body.sourceCallerIdNumber = $("create-form").elements.callerId.value.trim() || undefined;
  const name = input.dataset.keep;
  return act(label, "POST", path, body).then((reply) => {
    // The card was redrawn meanwhile: clear the input that shows now.
    const shown = document.querySelector(`[data-keep="${name}"]`);
    if (reply.ok && shown) shown.value = "";
  });
}

// After every script of the page has run (the call controls register themselves).
document.addEventListener("DOMContentLoaded", () => {
  refresh();
  setInterval(refresh, POLL_MS);
});
