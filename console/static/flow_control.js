// Flows: place a call into one of the active rule set's flows (through the rule that starts it:
// the app decides as for any call), and follow the run on the selected call: its step, the path
// so far and each ringing target with Answer / Decline / Busy (the emulator's control API).
"use strict";

const RING_REPLIES = [
  { act: "flow-answer", label: "Answer", css: "ok", testid: "flow-answer" },
  { act: "flow-decline", label: "Decline", css: "danger", reason: "declined", testid: "flow-decline" },
  { act: "flow-decline", label: "Busy", css: "danger", reason: "busy", testid: "flow-busy" },
];

// the "Call into a flow" form ----------------------------------------------------------------
const flowForm = { text: "" };

function flowEntries(flows) {
  const entries = [];
  (flows || []).forEach((flow) => flow.entries.forEach((entry) => entries.push({ flow, entry })));
  return entries;
}

function entryKey(item) { return `${item.flow.name}|${item.entry.ruleId ?? "(default)"}`; }

function renderFlowForm(flows, rulesError) {
  const text = JSON.stringify([flows, rulesError]);
  if (text === flowForm.text) return;
  flowForm.text = text;
  const form = $("flow-form");
  const select = form.elements.entry;
  const before = select.value;
  const entries = flowEntries(flows);
  select.innerHTML = entries.map((item) => {
    const by = item.entry.default ? "the default action" : `rule ${item.entry.ruleId}`;
    return `<option value="${esc(entryKey(item))}">${esc(item.flow.name)} · ${esc(by)}</option>`;
  }).join("") || `<option value="">${rulesError ? "the rules could not be read" : "no rule starts a flow"}</option>`;
  form.elements.dial.disabled = !entries.length;
  if (entries.some((item) => entryKey(item) === before)) select.value = before;
  else fillFlowEntry();
  describeFlowEntry(rulesError);
}

function chosenEntry() {
  const key = $("flow-form").elements.entry.value;
  return flowEntries(state.snapshot ? state.snapshot.app.flows : []).find((item) => entryKey(item) === key) || null;
}

function fillFlowEntry() {
  const item = chosenEntry();
  $("flow-form").elements.to.value = item && item.entry.dial.length ? item.entry.dial[0] : "";
}

function describeFlowEntry(rulesError) {
  const item = chosenEntry();
  const note = $("flow-note");
  if (!item) {
    note.textContent = rulesError || "Put a rule set with a flow and a rule (or the default action) starting it: PUT /api/rules.";
    return;
  }
  const { flow, entry } = item;
  const steps = flow.steps.map((s) => `${s.id} (${s.summary})`).join(" · ");
  const parts = [`starts at ${flow.start}: ${steps}`];
  if (entry.default) parts.push(`the default action: a call that no rule (${entry.earlierRules}) matches`);
  else {
    parts.push(entry.to.length ? `rule ${entry.ruleId} answers on ${entry.to.join(", ")}` : `rule ${entry.ruleId} takes any number`);
    if (!entry.dial.length && entry.to.length) parts.push("only patterns: type a number they match");
    if (entry.earlierRules) parts.push(`${entry.earlierRules} earlier rule(s) decide first if they match`);
  }
  if (entry.alsoRequires.length) parts.push(`the rule also requires: ${entry.alsoRequires.join(", ")}`);
  note.textContent = parts.join("; ");
}

$("flow-form").elements.entry.addEventListener("change", () => { fillFlowEntry(); describeFlowEntry(); });

$("flow-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = event.target.elements;
  const reply = await act("Dial into the flow", "POST", "/console/emulator/incoming-calls", {
    from: identifier(f.from.value), to: identifier(f.to.value), callerDisplayName: "Console caller",
  });
  if (reply.ok) select(reply.data.serverCallId, true);
});

// the run on the selected call -----------------------------------------------------------------
function stepDefinition(snap, run) {
  const flow = (snap.app.flows || []).find((f) => f.name === run.flow);
  return flow && run.currentStep ? flow.steps.find((s) => s.id === run.currentStep) || null : null;
}

function renderRingingTarget(leg, step) {
  const callee = rawId(leg.callee);
  const mine = step && step.targets.includes(callee) ? `<span class="muted">target of ${esc(step.id)}</span>` : "";
  // A clock time, not a countdown: the panel is redrawn only when something changes.
  const until = new Date(leg.ringsUntil * 1000).toLocaleTimeString();
  const buttons = leg.actions.includes("answer") ? RING_REPLIES.map((r) =>
    `<button class="${r.css}" data-act="${r.act}" data-leg="${esc(leg.legId)}"${r.reason ? ` data-reason="${r.reason}"` : ""} data-testid="${r.testid}">${r.label}</button>`).join("") : "";
  return `<li data-testid="flow-target" data-callee="${esc(callee)}"><span class="badge ringing">ringing</span>
    <span class="who">${esc(shortName(callee))} ${mine} <span class="muted">· rings out at ${esc(until)}</span></span>${buttons}</li>`;
}

function renderFlowRun(ctx) {
  const call = ctx.appCalls.find((c) => c.flow);
  if (!call) return "";
  const run = call.flow;
  const step = stepDefinition(ctx.snapshot, run);
  const path = run.path.map((p) =>
    `<span class="path-entry${p.outcome ? "" : " current"}" data-testid="flow-path-entry">${esc(p.step)}${p.attempt > 1 ? ` #${p.attempt}` : ""}${p.outcome ? ` · ${esc(p.outcome)}` : ""}</span>`).join('<span class="muted"> → </span>');
  const where = run.status === "finished"
    ? `<span class="badge ${run.outcome === "failed" ? "failed" : "connected"}" data-testid="flow-outcome">ended: ${esc(run.outcome)}</span>`
    : `<span class="badge pending" data-testid="flow-step">${esc(run.currentStep)}</span>
       <span class="muted">${esc(step ? step.summary : "")}${run.waiting && run.waiting !== "nothing" ? ` · waiting for ${esc(run.waiting)}` : ""}</span>`;
  const targets = ctx.legs.map((leg) => renderRingingTarget(leg, step)).join("");
  const rule = call.inbound ? ` <span class="muted">· rule ${esc(call.inbound.ruleId || "default")}</span>` : "";
  return `<div class="head"><b>Flow <span data-testid="flow-name">${esc(run.flow)}</span></b>${rule}
      <span class="muted">run ${esc(String(run.runId).slice(0, 8))} · rule set v${esc(run.ruleSetVersion)}</span> ${where}</div>
    <div class="path" data-testid="flow-path">${path || '<span class="muted">no step yet</span>'}</div>
    <ul class="parties" data-testid="flow-targets">${targets || (run.status === "finished" ? "" : '<li class="muted">nothing rings in this call</li>')}</ul>`;
}

registerCallControl({
  name: "flow",
  render: renderFlowRun,
  actions: {
    "flow-answer": (d) => act("Answer", "POST", `/console/emulator/legs/${d.leg}/answer`),
    "flow-decline": (d) => act(d.reason === "busy" ? "Busy" : "Decline", "POST",
      `/console/emulator/legs/${d.leg}/decline`, { reason: d.reason }),
  },
});
