// The keypad: on a connected call, press keys as one of its remote parties (the caller, or the
// party picked when the call has several). The press goes through the console's server, which
// calls the emulator's dtmf endpoint and remembers the keys for the timeline; the page shows
// what the press did: heard by the running recognize (the menu), or lost.
"use strict";

const KEYPAD_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
// The last press on each call, to say what it did: { serverCallId: { keys, verdict } }.
const keypadPresses = {};

// Who can press: the network call's parties other than the app's own legs.
function remoteParties(call) {
  const apps = new Set(call.connections.map((c) => rawId(c.appIdentity)));
  return call.participants.map((p) => rawId(p.identifier)).filter((raw) => raw && !apps.has(raw));
}

// What listens right now: a recognize collecting keys, or a prompt still playing.
function listening(call) {
  const ops = call.connections.flatMap((c) => c.media || []);
  const collecting = ops.find((op) => op.kind === "recognize" && op.phase === "collecting");
  if (collecting) return "a recognize is listening";
  const running = ops[0];
  if (running) return `${running.kind} ${running.phase}`;
  return "nothing is listening: keys pressed now are lost";
}

function renderKeypad(ctx) {
  const call = ctx.networkCall;
  if (!call || call.ended || !call.connections.some((c) => c.state === "connected")) return "";
  const parties = remoteParties(call);
  if (!parties.length) return "";
  const scid = ctx.serverCallId;
  const as = parties.length === 1
    ? `<span class="muted" data-testid="keypad-as">as ${esc(shortName(parties[0]))}</span>`
    : `<label class="muted">as <select data-keep="keypad-as-${esc(scid)}" data-testid="keypad-as">${parties.map((raw) =>
      `<option value="${esc(raw)}">${esc(shortName(raw))}</option>`).join("")}</select></label>`;
  const keys = KEYPAD_KEYS.map((key) =>
    `<button class="key" data-act="keypad-press" data-key="${esc(key)}" data-testid="keypad-key-${esc(key)}">${esc(key)}</button>`).join("");
  const last = keypadPresses[scid];
  const result = last
    ? `<span class="${last.heard ? "heard" : "lost"}" data-testid="keypad-result">${esc(last.keys)}: ${esc(last.verdict)}</span>`
    : '<span class="muted" data-testid="keypad-result">no key pressed yet</span>';
  return `<div class="head"><b>Keypad</b> ${as} <span class="muted" data-testid="keypad-listening">· ${esc(listening(call))}</span></div>
    <div class="keypad-body"><div class="keypad" data-testid="keypad">${keys}</div><div class="keypad-result">${result}</div></div>`;
}

async function pressKey(dataset, button, ctx) {
  if (!ctx || !ctx.networkCall) return;
  const parties = remoteParties(ctx.networkCall);
  const picker = document.querySelector(`[data-keep="keypad-as-${CSS.escape(ctx.serverCallId)}"]`);
  const participant = picker ? picker.value : parties[0];
  const scid = ctx.serverCallId;
  const reply = await act(`Press ${dataset.key}`, "POST", `/console/calls/${encodeURIComponent(scid)}/keypad`,
    { keys: dataset.key, participant });
  if (!reply.ok) return;
  keypadPresses[scid] = { keys: reply.data.keys, verdict: reply.data.verdict, heard: reply.data.heard.some(Boolean) };
  renderCallPanel();
}

registerCallControl({ name: "keypad", render: renderKeypad, actions: { "keypad-press": pressKey } });
