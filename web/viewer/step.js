/* The selected step: its facts, the rejection reason, before/after, reference and mask (with the
 * mask's polarity spelled out), the tile, and its seam report. */
(function (EV) {
  "use strict";
  const el = EV.el;
  const SEAM_LABELS = {
    seam_step: "seam step (ΔE): largest colour jump the glue made",
    seam_at_px: "seam at (px into the overlap)",
    drift: "drift (ΔE): colour cast left in the new region",
    drift_raw: "drift before colour matching (ΔE)",
    gradient_discontinuity: "gradient discontinuity (ΔE/px): edges the glue made",
  };

  function figure(info, caption, extraClass) {
    if (!info) return null;
    return el("figure", { class: `artifact ${extraClass || ""}` },
      el("img", { src: info.url, alt: caption, loading: "lazy", width: info.width, height: info.height }),
      el("figcaption", {}, caption, el("span", { class: "dims", text: ` ${info.width}×${info.height}` })));
  }

  function maskFigure(info) {
    if (!info) return null;
    return el("figure", { class: "artifact mask", id: "mask-figure" },
      el("img", { src: info.url, alt: "generation mask", loading: "lazy", width: info.width, height: info.height }),
      el("figcaption", {}, "mask.png",
        el("div", { class: "polarity" },
          el("span", { class: "swatch white" }), " white (255) = free: the generator paints it (new)",
          el("br"),
          el("span", { class: "swatch black" }), " black (0) = kept: the canvas as it was"),
        el("span", { class: "dims", text: `${info.width}×${info.height}` })));
  }

  function signed(v) { return `${v > 0 ? "+" : ""}${v}`; }

  function seamTable(seam) {
    if (!seam || typeof seam !== "object") return el("p", { class: "muted", text: "no seam report (only committed steps have one)" });
    const rows = Object.entries(seam).filter(([, v]) => typeof v === "number" || v === null);
    const table = el("table", { class: "seam" }, rows.map(([k, v]) => el("tr", {},
      el("th", { text: SEAM_LABELS[k] || k }),
      el("td", { class: k === "seam_at_px" ? "" : EV.severity(v), text: v === null ? "–" : k === "seam_at_px" ? String(v) : EV.num(v, 2) }))));
    const shift = Array.isArray(seam.shift_px) ? seam.shift_px : null;
    if (shift && (shift[0] || shift[1])) {  // registration moved the tile back onto its band
      table.appendChild(el("tr", { class: "shift" },
        el("th", { text: "tile off its band (px; moved back before the glue)" }),
        el("td", { text: `${signed(shift[1])} along the growth, ${signed(shift[0])} across` })));
    }
    return table;
  }

  function timingsLine(step) {
    const t = step.timings || {};
    const parts = Object.entries(t).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k.replace(/_s$/, "")} ${EV.seconds(v)}`);
    return parts.join(" · ");
  }

  function facts(step, fallbackDirection) {
    const rows = [
      ["status", EV.STATUS_TEXT[step.status] || step.status],
      ["direction", EV.direction(step.direction || fallbackDirection)],
      ["backend", step.backend], ["seed", step.seed], ["prompt", step.prompt ? `“${step.prompt}”` : "(none)"],
      ["size", `${EV.size(step.size_before)} → ${EV.size(step.size_after) || "unchanged"}`],
      ["duration", EV.seconds(step.duration_s)], ["timings", timingsLine(step)],
      ["blend", (step.settings || {}).blend], ["started", step.started], ["finished", step.finished],
    ];
    return el("dl", { class: "facts" }, rows.filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
  }

  function tilesOfFrontier(step) {
    if (!step.tiles || !step.tiles.length) return null;
    return el("section", { class: "frontier-tiles" }, el("h3", { text: `Tiles of this frontier (${step.tiles.length})` }),
      step.tiles.map((t) => el("div", { class: "artifact-row" },
        el("strong", { text: `tile ${t.index}` }),
        Object.entries(t.images || {}).map(([name, info]) => name === "mask" ? maskFigure(info) : figure(info, `${name}.png`)),
        Object.entries(t).filter(([k]) => !["index", "images"].includes(k))
          .map(([k, v]) => el("pre", { class: "json", text: `${k}: ${JSON.stringify(v)}` })))));
  }

  /** Render the step into `box`; the comparator is `compare` (kept across renders for its mode). */
  EV.renderStep = function (box, ctx, step, compare) {
    if (!step) {
      compare.render(ctx, {});
      box.replaceChildren(el("p", { class: "muted", text: "No step yet. Steps appear here as they are made." }));
      return;
    }
    const imgs = step.images || {};
    const title = el("h2", {}, `Step #${EV.pad4(step.number)} `, el("span", { class: `badge ${step.status}`, text: EV.STATUS_TEXT[step.status] || step.status }));
    const reason = step.status === "rejected"
      ? el("div", { class: "reason-box", role: "alert", id: "reason" },
        el("strong", { text: "Rejected — the canvas was not changed. Reason:" }), el("pre", { text: step.reason || "(none recorded)" }))
      : null;
    const comparer = compare.render(ctx, step);
    const beforeOnly = !comparer && imgs.canvas_before
      ? el("div", {}, el("p", { class: "muted", text: "Nothing was glued in this step; the canvas before it:" }),
        EV.frontierImage(ctx, step)) : null;
    const other = Object.keys(imgs).filter((k) => !["canvas_before", "canvas_after", "reference", "mask", "tile_full"].includes(k));
    box.replaceChildren(...[
      title, reason, facts(step, ctx.direction),
      el("section", {}, el("h3", { text: "Canvas before ⇄ after" }), comparer || beforeOnly ||
        el("p", { class: "muted", text: "The canvases of this step are not written yet." })),
      el("section", {}, el("h3", { text: "What the generator was given, and what it made" }),
        el("div", { class: "artifact-row" },
          figure(imgs.reference, "reference.png — the canvas band and the fill"), maskFigure(imgs.mask),
          figure(imgs.tile_full, "tile_full.png — the tile as generated"))),
      other.length ? el("section", {}, el("h3", { text: "Other artifacts" }),
        el("div", { class: "artifact-row" }, other.map((k) => figure(imgs[k], `${k}.png`)))) : null,
      tilesOfFrontier(step),
      el("section", {}, el("h3", { text: "Seam report" }), seamTable(step.seam)),
      step.extra && Object.keys(step.extra).length
        ? el("details", {}, el("summary", { text: "other recorded fields" }), el("pre", { class: "json", text: JSON.stringify(step.extra, null, 1) }))
        : null].filter(Boolean));
  };
})(window.EV = window.EV || {});
