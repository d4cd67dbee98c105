/* The viewer as an MCP App (SEP-1865): talks JSON-RPC over postMessage with the host, and renders
 * the tool result it is given (extend_canvas, view_canvas, session_history): the timeline with
 * every rejection reason, the seam chart, and the preview image already in the result. It fetches
 * nothing: the host's default CSP allows no connections, and everything is in the result. */
(function (EV) {
  "use strict";
  const el = EV.el;
  const $ = (id) => document.getElementById(id);
  const pending = new Map();
  let nextId = 1;
  let current = null;

  function send(message) { window.parent.postMessage(message, "*"); }
  function notify(method, params) { send({ jsonrpc: "2.0", method, params }); }
  function request(method, params) {
    const id = nextId++;
    send({ jsonrpc: "2.0", id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  /** The structured result, or the JSON the text content carries after its summary line. */
  function structured(result) {
    if (result.structuredContent) return result.structuredContent;
    for (const block of result.content || []) {
      if (block.type !== "text") continue;
      const brace = block.text.indexOf("\n{");
      if (brace >= 0) { try { return JSON.parse(block.text.slice(brace + 1)); } catch (e) { /* plain text */ } }
    }
    return {};
  }

  function summaryText(result) {
    const text = (result.content || []).find((b) => b.type === "text");
    if (!text) return "";
    const brace = text.text.indexOf("\n{");
    return brace >= 0 ? text.text.slice(0, brace) : text.text;
  }

  function preview(result, data) {
    const image = (result.content || []).find((b) => b.type === "image" && typeof b.data === "string");
    if (!image) return null;
    const info = data.preview || {};
    const region = info.region ? ` · region x ${info.region.x}, y ${info.region.y}, ${info.region.width}×${info.region.height}` : "";
    return el("figure", { class: "artifact wide preview", id: "preview" },
      el("img", { src: `data:${image.mimeType || image.mime_type || "image/png"};base64,${image.data}`, alt: "preview of the canvas" }),
      el("figcaption", { text: info.width ? `preview ${info.width}×${info.height} ${info.format || ""}, scale ${info.scale}${region}` : "preview" }));
  }

  function detail(step) {
    const box = $("detail");
    if (!step) { box.replaceChildren(); return; }
    const seam = step.seam && typeof step.seam === "object"
      ? el("table", { class: "seam" }, Object.entries(step.seam).filter(([, v]) => typeof v === "number")
        .map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { class: k === "seam_at_px" ? "" : EV.severity(v), text: k === "seam_at_px" ? String(v) : EV.num(v, 2) }))))
      : null;
    box.replaceChildren(...[
      el("h3", { text: `Step #${EV.pad4(step.number)}: ${EV.STATUS_TEXT[step.status] || step.status}` }),
      step.status === "rejected" ? el("div", { class: "reason-box", role: "alert" }, el("strong", { text: "Reason:" }), el("pre", { text: step.reason || "(none recorded)" })) : null,
      seam].filter(Boolean));
  }

  function render(result) {
    const data = structured(result);
    const steps = Array.isArray(data.steps) ? data.steps : [];
    const fallback = { direction: data.direction, backend: data.backend };
    current = { data, steps };
    document.body.dataset.rendered = "yes";
    $("title").textContent = data.session_id
      ? `session ${data.session_id}: ${data.width}×${data.height}${data.head !== undefined ? ` at step ${data.head}` : ""}`
      : "exquisite";
    $("summary").textContent = summaryText(result).split("\n")[0];
    $("error").hidden = !result.isError;
    $("error").textContent = result.isError ? summaryText(result) || "the tool reported an error" : "";
    const banner = $("banner");
    if (steps.length) EV.renderBanner(banner, steps); else { banner.className = "banner none"; banner.textContent = ""; }
    const select = (number) => {
      EV.renderTimeline($("timeline"), steps, number, select, fallback);
      detail(steps.find((s) => s.number === number));
    };
    const last = steps.length ? steps[steps.length - 1].number : null;
    EV.renderTimeline($("timeline"), steps, last, select, fallback);
    $("steps-section").hidden = !steps.length;
    const seams = steps.some((s) => s.seam);
    $("chart-section").hidden = !seams;
    if (seams) EV.renderChart($("chart"), steps, last, select);
    detail(steps.find((s) => s.number === last && s.status === "rejected"));
    $("preview-box").replaceChildren(...[preview(result, data)].filter(Boolean));
  }

  function applyContext(context) {
    if (context && context.theme) document.documentElement.dataset.theme = context.theme;
  }

  function reportSize() {
    const root = document.documentElement;
    notify("ui/notifications/size-changed", { width: root.scrollWidth, height: root.scrollHeight });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.id !== undefined && !message.method) {
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error.message)); else waiting.resolve(message.result);
      return;
    }
    switch (message.method) {
      case "ui/notifications/tool-result": render(message.params || {}); break;
      case "ui/notifications/host-context-changed": applyContext(message.params); break;
      case "ui/notifications/tool-cancelled":
        $("error").hidden = false;
        $("error").textContent = `cancelled: ${(message.params || {}).reason || ""}`;
        break;
      default:
        if (message.id !== undefined) send({ jsonrpc: "2.0", id: message.id, result: {} }); // ping, ui/resource-teardown
    }
  });

  async function start() {
    const result = await request("ui/initialize", {
      appInfo: { name: "exquisite viewer", version: "0.1.0" },
      appCapabilities: { availableDisplayModes: ["inline"] },
      protocolVersion: "2026-01-26",
    });
    applyContext((result || {}).hostContext);
    notify("ui/notifications/initialized", {});
    if (typeof ResizeObserver === "function") new ResizeObserver(reportSize).observe(document.body);
  }

  EV.mcpRender = render; // for hosts that inline the app and call it directly
  start().catch((error) => { $("error").hidden = false; $("error").textContent = `could not start: ${error.message}`; });
})(window.EV = window.EV || {});
