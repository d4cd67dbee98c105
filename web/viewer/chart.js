/* A small chart of seam step and drift (ΔE) over the steps: inline SVG, no library. */
(function (EV) {
  "use strict";
  const svg = EV.svg;
  const SERIES = [
    { key: "seam_step", label: "seam step", cls: "series-seam" },
    { key: "drift", label: "drift", cls: "series-drift" },
  ];

  EV.renderChart = function (box, steps, selected, onSelect) {
    const W = 600, H = 150, L = 34, R = 10, T = 22, B = 22;
    const numbers = steps.map((s) => s.number);
    const values = steps.flatMap((s) => SERIES.map((d) => (s.seam || {})[d.key]))
      .filter((v) => typeof v === "number");
    const top = Math.max(5, ...values) * 1.1;
    const n = Math.max(1, numbers.length - 1);
    const x = (i) => L + (numbers.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / n);
    const y = (v) => T + (H - T - B) * (1 - v / top);
    const parts = [
      svg("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), class: "axis" }),
      svg("line", { x1: L, y1: T, x2: L, y2: y(0), class: "axis" }),
      svg("text", { x: L - 4, y: T + 4, class: "tick", "text-anchor": "end" }, top.toFixed(0)),
      svg("text", { x: L - 4, y: y(0), class: "tick", "text-anchor": "end" }, "0"),
      svg("text", { x: 4, y: 12, class: "tick" }, "ΔE"),
    ];
    if (y(2) > T) parts.push(svg("line", { x1: L, y1: y(2), x2: W - R, y2: y(2), class: "threshold" }),
      svg("text", { x: W - R, y: y(2) - 3, class: "tick", "text-anchor": "end" }, "2 ≈ barely visible"));
    const selIndex = numbers.indexOf(selected);
    if (selIndex >= 0) parts.push(svg("line", { x1: x(selIndex), y1: T, x2: x(selIndex), y2: y(0), class: "cursor" }));
    SERIES.forEach((d, k) => {
      const pts = [];
      steps.forEach((s, i) => {
        const v = (s.seam || {})[d.key];
        if (typeof v === "number") pts.push([x(i), y(v), s.number, v]);
      });
      if (pts.length > 1) parts.push(svg("polyline", { points: pts.map((p) => `${p[0]},${p[1]}`).join(" "), class: d.cls }));
      pts.forEach((p) => parts.push(svg("circle", { cx: p[0], cy: p[1], r: 3, class: d.cls },
        svg("title", {}, `#${EV.pad4(p[2])} ${d.label} ${p[3].toFixed(2)} ΔE`))));
      parts.push(svg("text", { x: L + 8 + k * 90, y: 12, class: `legend ${d.cls}` }, `● ${d.label}`));
    });
    steps.forEach((s, i) => {
      if (s.status === "rejected") parts.push(svg("text", { x: x(i), y: y(0) + 4, class: "rejected-mark", "text-anchor": "middle" }, "✕",
        svg("title", {}, `#${EV.pad4(s.number)} rejected`)));
      if (numbers.length <= 40 || i % Math.ceil(numbers.length / 20) === 0)
        parts.push(svg("text", { x: x(i), y: H - 6, class: "tick", "text-anchor": "middle" }, String(s.number)));
    });
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
      "aria-label": "seam step and drift per step" }, parts);
    chart.addEventListener("click", (event) => {
      if (!onSelect || !numbers.length) return;
      const rect = chart.getBoundingClientRect();
      const px = ((event.clientX - rect.left) / rect.width) * W;
      let best = 0;
      numbers.forEach((_, i) => { if (Math.abs(x(i) - px) < Math.abs(x(best) - px)) best = i; });
      onSelect(numbers[best]);
    });
    box.replaceChildren(chart);
  };
})(window.EV = window.EV || {});
