// The selected call's control panel. Each control (the flow run with its ringing targets; a
// keypad next) draws its part from the call's context and names the buttons it handles, so a
// new control is one registerCallControl() call in its own file.
"use strict";

const CALL_CONTROLS = [];

// control: { name, render(ctx) -> HTML or "" (nothing to show), actions: { act: (dataset, button, ctx) => … } }
function registerCallControl(control) { CALL_CONTROLS.push(control); }

// What a control may need of the selected call: the network's view, the app's calls on it and
// what rings in it (network callees: invitations and transfer targets, not the app's offers).
function callContext(snap, serverCallId) {
  return {
    serverCallId,
    networkCall: snap.network.calls.find((c) => c.serverCallId === serverCallId) || null,
    appCalls: snap.app.calls.filter((c) => serverCallIdOf(c, snap.network.calls) === serverCallId),
    legs: snap.network.legs.filter((l) => l.kind === "network" && l.serverCallId === serverCallId),
    snapshot: snap,
  };
}

function renderCallPanel() {
  const panel = $("call-panel");
  const snap = state.snapshot;
  const ctx = snap && state.selected ? callContext(snap, state.selected) : null;
  const parts = !ctx ? [] : CALL_CONTROLS
    .map((control) => ({ name: control.name, html: control.render(ctx) }))
    .filter((part) => part.html);
  panel.hidden = !parts.length;
  keepInputs(panel, () => {
    panel.innerHTML = parts.map((part) =>
      `<div class="control" data-control="${esc(part.name)}" data-testid="control-${esc(part.name)}">${part.html}</div>`).join("");
  });
}

// A click on a button inside the panel: the control that named its data-act handles it.
function runCallControl(button) {
  const act = button.dataset.act;
  const control = CALL_CONTROLS.find((c) => c.actions && c.actions[act]);
  if (!control) return false;
  const ctx = state.snapshot && state.selected ? callContext(state.snapshot, state.selected) : null;
  control.actions[act](button.dataset, button, ctx);
  return true;
}
