/* The timeline of steps: one card per step, the rejection reason in full on rejected ones. */
(function (EV) {
  "use strict";
  const el = EV.el;

  /** The step's wall time: the viewer's duration_s, or the MCP results' seconds. */
  function duration(step) {
    if (typeof step.duration_s === "number") return step.duration_s;
    if (typeof step.seconds === "number") return step.seconds;
    return null;
  }

  function card(step, selected, onSelect, fallback) {
    const status = step.status || "running";
    const direction = step.direction || fallback.direction;
    const backend = step.backend || fallback.backend;
    const facts = [
      EV.direction(direction), backend, EV.seconds(duration(step)),
      step.seed !== undefined && step.seed !== null ? `seed ${step.seed}` : "",
      EV.size(step.size_after || (step.width ? [step.width, step.height] : null)),
    ].filter(Boolean);
    const node = el("li", {
      class: `step ${status}${step.number === selected ? " selected" : ""}`,
      "data-step": step.number, "data-status": status, tabindex: 0,
      onclick: () => onSelect && onSelect(step.number),
      onkeydown: (e) => { if (e.key === "Enter" && onSelect) onSelect(step.number); },
    },
      el("div", { class: "step-head" },
        el("span", { class: "step-number", text: `#${EV.pad4(step.number)}` }),
        el("span", { class: `badge ${status}`, text: EV.STATUS_TEXT[status] || status })),
      el("div", { class: "step-facts", text: facts.join(" · ") }),
      step.prompt ? el("div", { class: "step-prompt", title: step.prompt, text: `“${step.prompt}”` }) : null,
      status === "rejected" && step.reason
        ? el("div", { class: "step-reason", role: "alert", text: step.reason }) : null);
    return node;
  }

  /** Fill `list` (an <ol>) with the steps, newest last; `fallback` gives direction/backend for
   *  results that state them once for all steps (the MCP extend_canvas result). */
  EV.renderTimeline = function (list, steps, selected, onSelect, fallback) {
    list.replaceChildren(...steps.map((s) => card(s, selected, onSelect, fallback || {})));
    const chosen = list.querySelector(".step.selected");
    if (chosen && chosen.scrollIntoView) chosen.scrollIntoView({ block: "nearest" });
  };

  function rejectedCount(steps, last) {
    const earlier = steps.filter((s) => s.status === "rejected" && s !== last).length;
    return earlier ? EV.el("span", { class: "banner-count", text: `  (${earlier} earlier step${earlier > 1 ? "s" : ""} rejected: see the red cards)` }) : null;
  }

  /** The banner over everything: the last step's outcome, impossible to miss. */
  EV.renderBanner = function (banner, steps) {
    const last = steps[steps.length - 1];
    if (!last) {
      banner.className = "banner none";
      banner.replaceChildren(el("span", { text: "no steps yet: the canvas is the source image" }));
      return;
    }
    const status = last.status || "running";
    banner.className = `banner ${status}`;
    banner.setAttribute("data-status", status);
    banner.replaceChildren(...[
      el("strong", { text: `Last step #${EV.pad4(last.number)}: ${EV.STATUS_TEXT[status] || status}` }),
      status === "rejected" ? el("span", { class: "banner-reason", text: ` — ${last.reason || "no reason recorded"}` })
        : status === "running" ? el("span", { text: " — the generator is working (or the process stopped)" })
          : el("span", { text: (last.size_after || last.width) ? ` — canvas ${EV.size(last.size_after || [last.width, last.height])}` : "" }),
      rejectedCount(steps, last)].filter(Boolean));
  };
})(window.EV = window.EV || {});
