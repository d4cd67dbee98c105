/* The viewer page: picks a session, polls for changes (live), renders every part. */
(function (EV) {
  "use strict";
  const el = EV.el;
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);

  const state = { sessions: [], id: null, session: null, selected: null, follow: true, stamp: null, ticks: 0, atStep: false };
  const compare = new EV.Compare();
  let canvasView = null;

  async function getJson(url) {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function params() {
    const q = new URLSearchParams(location.search);
    return { session: q.get("session"), step: q.get("step") ? Number(q.get("step")) : null };
  }

  function remember() {
    const q = new URLSearchParams();
    if (state.id) q.set("session", state.id);
    if (state.selected !== null && !state.follow) q.set("step", state.selected);
    history.replaceState(null, "", `${location.pathname}?${q}`);
  }

  async function loadList() {
    const data = await getJson("api/sessions");
    state.sessions = data.sessions;
    const picker = $("session-picker");
    const current = picker.value;
    picker.replaceChildren(...state.sessions.map((s) => el("option", { value: s.id, text:
      `${s.name}  (${s.committed} committed${s.rejected ? `, ${s.rejected} rejected` : ""})` })));
    if (state.id) picker.value = state.id; else if (current) picker.value = current;
    $("empty").hidden = state.sessions.length > 0;
    if (!state.sessions.length) {
      $("roots").textContent = data.roots.join(", ");
      $("banner").className = "banner none";
      $("banner").textContent = "No sessions yet: this page shows them as soon as they are created.";
    }
  }

  async function loadSession() {
    const data = await getJson(`api/sessions/${encodeURIComponent(state.id)}`);
    state.session = data;
    state.stamp = data.stamp;
    const numbers = data.steps.map((s) => s.number);
    if (state.follow || !numbers.includes(state.selected)) state.selected = numbers.length ? numbers[numbers.length - 1] : null;
    render();
  }

  function select(number) {
    const numbers = state.session.steps.map((s) => s.number);
    state.selected = number;
    state.follow = number === numbers[numbers.length - 1];
    remember();
    render();
  }

  function render() {
    const s = state.session;
    const step = s.steps.find((x) => x.number === state.selected) || null;
    $("session-title").textContent = `${s.name}: ${EV.size(s.size)} at step ${s.head}`;
    $("contract").textContent = s.contract && s.contract.tile
      ? `tile ${s.contract.tile} · band ${s.contract.band} · overlap ${s.contract.overlap} · advance ${s.contract.advance}` : "";
    EV.renderBanner($("banner"), s.steps);
    EV.renderTimeline($("timeline"), s.steps, state.selected, select);
    $("follow").checked = state.follow;
    EV.renderStep($("step"), { sessionId: state.id, contract: s.contract }, step, compare);
    EV.renderChart($("chart"), s.steps, state.selected, select);
    if (!canvasView) return;
    const at = state.atStep && step && step.canvas_query ? step : null; // else the current canvas
    $("canvas-note").textContent = state.atStep && !at ? "The selected step changed no canvas: showing the current one." : "";
    canvasView.show(state.id, s, state.selected, at).catch((e) => { $("canvas-note").textContent = String(e); });
  }

  async function poll() {
    state.ticks += 1;
    try {
      if (state.ticks % 3 === 0 || !state.id) await loadList();
      if (!state.id && state.sessions.length) { state.id = state.sessions[0].id; await loadSession(); }
      else if (state.id) {
        const { stamp } = await getJson(`api/sessions/${encodeURIComponent(state.id)}/stamp`);
        if (stamp !== state.stamp) await loadSession();
      }
      $("live").className = "live ok";
      $("live").textContent = `live · checked ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      $("live").className = "live lost";
      $("live").textContent = `not reachable (${error.message}); retrying`;
    }
    setTimeout(poll, POLL_MS);
  }

  function onKey(event) {
    if (!state.session || event.target.matches("input, select, textarea")) return;
    const numbers = state.session.steps.map((s) => s.number);
    const at = numbers.indexOf(state.selected);
    if ((event.key === "ArrowLeft" || event.key === "k") && at > 0) select(numbers[at - 1]);
    else if ((event.key === "ArrowRight" || event.key === "j") && at < numbers.length - 1) select(numbers[at + 1]);
    else if (!compare.key(event)) return;
    event.preventDefault();
  }

  async function main() {
    const wanted = params();
    await loadList();
    state.id = state.sessions.some((s) => s.id === wanted.session) ? wanted.session : (state.sessions[0] || {}).id || null;
    if (state.id) $("session-picker").value = state.id;
    if (wanted.step !== null) { state.selected = wanted.step; state.follow = false; }
    $("session-picker").addEventListener("change", async (e) => {
      state.id = e.target.value; state.follow = true; state.stamp = null; remember(); await loadSession();
    });
    $("follow").addEventListener("change", (e) => { state.follow = e.target.checked; if (state.follow) loadSession(); remember(); });
    $("canvas-at-step").addEventListener("change", (e) => { state.atStep = e.target.checked; if (state.session) render(); });
    document.addEventListener("keydown", onKey);
    if (typeof OpenSeadragon === "function") canvasView = EV.canvasView = new EV.CanvasView($("canvas"), select);
    else $("canvas-note").textContent = "The deep-zoom library did not load; the rest of the viewer works.";
    if (state.id) await loadSession();
    setTimeout(poll, POLL_MS);
  }

  main().catch((error) => {
    $("banner").className = "banner rejected";
    $("banner").textContent = `The viewer could not start: ${error.message}`;
  });
})(window.EV = window.EV || {});
