/* Canvas before / after of one step: a blink comparator (timer and keys) and a wipe slider,
 * both cut by the server to a window around where the tile landed, drawn in the frame of the
 * canvas after the step, with the tile's outline on top. canvas_before.png / canvas_after.png are
 * crops of the whole canvases (every row of the edge the step touched); each image's `box` says
 * where it sits on its whole canvas, so the window is clipped to the crops and translated into
 * each crop's own pixels (a session made before crops has whole canvases: the box is everything). */
(function (EV) {
  "use strict";
  const el = EV.el, svg = EV.svg;
  const BLINK_MS = 600;

  /** Where the canvas before the step sits in the canvas after it (growth left/up shifts it). */
  function beforeOffset(step) {
    const [wb, hb] = step.size_before, [wa, ha] = step.size_after;
    return { x: step.direction === "x_rtl" ? wa - wb : 0, y: step.direction === "y_btt" ? ha - hb : 0 };
  }

  /** The part of `box` inside `frame` (both {x, y, w, h} in one coordinate system), or null. */
  function intersect(box, frame) {
    const x0 = Math.max(frame.x, box.x), y0 = Math.max(frame.y, box.y);
    const x1 = Math.min(frame.x + frame.w, box.x + box.w), y1 = Math.min(frame.y + frame.h, box.y + box.h);
    return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
  }

  function clip(box, w, h) { return intersect(box, { x: 0, y: 0, w, h }); }

  /** Where a step image sits on its whole canvas (`size` when the server gave no box: whole). */
  function boxOf(info, size) {
    const b = info.box || [0, 0, size ? size[0] : info.width, size ? size[1] : info.height];
    return { x: b[0], y: b[1], w: b[2], h: b[3] };
  }

  const whole = (box, size) => box.x === 0 && box.y === 0 && box.w === size[0] && box.h === size[1];

  /** The window shown: the tile and as much canvas again on the side it grew from. */
  function windowFor(step, tile) {
    const [x, y, w, h] = step.tile_box, [wa, ha] = step.size_after;
    const grow = { x_ltr: [-tile, 0], x_rtl: [tile, 0], y_ttb: [0, -tile], y_btt: [0, tile] }[step.direction] || [0, 0];
    const x0 = Math.min(x, x + grow[0]), y0 = Math.min(y, y + grow[1]);
    const x1 = Math.max(x + w, x + w + grow[0]), y1 = Math.max(y + h, y + h + grow[1]);
    return clip({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, wa, ha);
  }

  /** The server's cut of `box` (whole-canvas pixels) out of the step image whose box is `origin`. */
  function cropUrl(ctx, step, name, box, origin) {
    const file = `steps/${EV.pad4(step.number)}/${name}.png`;
    const v = (step.images[name] || {}).url.split("?v=")[1] || "";
    return `crop/${encodeURIComponent(ctx.sessionId)}?file=${encodeURIComponent(file)}` +
      `&box=${box.x - origin.x},${box.y - origin.y},${box.w},${box.h}&v=${v}`;
  }

  /** A positioned layer: `box` (in window pixels) as percentages of the window. */
  function layer(cls, src, box, win, alt) {
    const style = `left:${(100 * box.x) / win.w}%;top:${(100 * box.y) / win.h}%;` +
      `width:${(100 * box.w) / win.w}%;height:${(100 * box.h) / win.h}%`;
    return el("img", { class: cls, src, alt, style, draggable: "false" });
  }

  class Compare {
    constructor() {
      this.mode = "blink";
      this.blinking = true;
      this.showing = "after";
      this.wipe = 50;
      this.timer = null;
      this.root = null;
    }

    /** Build the comparator for a committed (or undone) step; null when it cannot be drawn. */
    render(ctx, step) {
      this.stop();
      const imgs = step.images || {};
      if (!step.tile_box || !step.size_before || !step.size_after || !imgs.canvas_before || !imgs.canvas_after) {
        this.root = null;
        return null;
      }
      const tile = (ctx.contract && ctx.contract.tile) || step.tile_box[2];
      this.vertical = step.direction === "y_ttb" || step.direction === "y_btt"; // the wipe splits across growth
      const afterBox = boxOf(imgs.canvas_after, step.size_after), beforeBox = boxOf(imgs.canvas_before, step.size_before);
      const around = windowFor(step, tile), win = around && intersect(around, afterBox);
      if (!win) { this.root = null; return null; }
      const off = beforeOffset(step);
      // the canvas before the step, in its own pixels, where it lies in the window and its crop
      const beforeWin = intersect({ x: win.x - off.x, y: win.y - off.y, w: win.w, h: win.h }, beforeBox);
      const stage = el("div", { class: "compare-stage", "data-window": `${win.x},${win.y},${win.w},${win.h}`,
        style: `aspect-ratio:${win.w}/${win.h};width:min(100%, calc(70vh * ${(win.w / win.h).toFixed(4)}))` });
      stage.append(el("div", { class: "backdrop" }));
      if (beforeWin) {
        const at = { x: beforeWin.x + off.x - win.x, y: beforeWin.y + off.y - win.y, w: beforeWin.w, h: beforeWin.h };
        stage.append(layer("layer before", cropUrl(ctx, step, "canvas_before", beforeWin, beforeBox), at, win,
          "canvas before the step"));
      }
      stage.append(layer("layer after", cropUrl(ctx, step, "canvas_after", win, afterBox), { x: 0, y: 0, w: win.w, h: win.h },
        win, "canvas after the step"));
      const [tx, ty, tw, th] = step.tile_box;
      stage.append(svg("svg", { class: "outline", viewBox: `0 0 ${win.w} ${win.h}`, preserveAspectRatio: "none" },
        svg("rect", { x: tx - win.x, y: ty - win.y, width: tw, height: th, class: "tile-outline" }),
        svg("text", { x: tx - win.x + 8, y: ty - win.y + Math.round(win.h / 18), class: "tile-label",
          "font-size": Math.round(win.h / 20) }, "tile")));
      stage.append(el("div", { class: "wipe-line" }), el("div", { class: "which", text: "" }));
      this.root = el("div", { class: "compare", id: "compare", tabindex: 0 },
        this.controls(), stage,
        el("p", { class: "hint", text: `Showing canvas pixels ${win.x}–${win.x + win.w} × ${win.y}–${win.y + win.h} of ` +
          `${EV.size(step.size_after)}` + (whole(afterBox, step.size_after) ? "" : ", from the step's crops of the whole canvas " +
          "(canvas_before.png and canvas_after.png hold only the edge the step touched)") +
          ". Keys: B blink on/off · Space flip · W wipe · ←/→ steps. The outline is where the tile landed." }));
      this.apply();
      if (this.mode === "blink" && this.blinking) this.start();
      return this.root;
    }

    controls() {
      const modeButton = (mode, label) => el("button", {
        type: "button", class: `mode${this.mode === mode ? " active" : ""}`, "data-mode": mode,
        onclick: (e) => { e.currentTarget.blur(); this.setMode(mode); }, text: label });
      const slider = el("input", { type: "range", min: 0, max: 100, value: this.wipe, class: "wipe-slider",
        "aria-label": "wipe position", oninput: (e) => { this.wipe = Number(e.target.value); this.setMode("wipe"); } });
      return el("div", { class: "compare-controls" },
        modeButton("blink", "Blink"), modeButton("wipe", "Wipe"),
        el("button", { type: "button", class: "flip", onclick: (e) => { e.currentTarget.blur(); this.flip(); }, text: "Flip (Space)" }),
        slider);
    }

    setMode(mode) {
      this.mode = mode;
      if (mode === "blink" && this.blinking) this.start(); else this.stop();
      if (this.root) this.root.querySelectorAll("button.mode").forEach((b) => b.classList.toggle("active", b.dataset.mode === mode));
      this.apply();
    }

    flip() {
      if (this.mode !== "blink") this.setMode("blink");
      this.showing = this.showing === "after" ? "before" : "after";
      this.apply();
    }

    toggleBlink() {
      this.blinking = !this.blinking;
      this.setMode("blink");
    }

    start() {
      this.stop();
      this.timer = setInterval(() => { this.showing = this.showing === "after" ? "before" : "after"; this.apply(); }, BLINK_MS);
    }

    stop() {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    }

    /** Show what the state says: one canvas (blink) or both split at the wipe position. */
    apply() {
      if (!this.root) return;
      const after = this.root.querySelector(".layer.after");
      const before = this.root.querySelector(".layer.before");
      const which = this.root.querySelector(".which");
      this.root.dataset.mode = this.mode;
      if (this.mode === "wipe") {
        this.root.dataset.showing = "wipe";
        after.style.visibility = "visible";
        const line = this.root.querySelector(".wipe-line");
        after.style.clipPath = this.vertical ? `inset(${this.wipe}% 0 0 0)` : `inset(0 0 0 ${this.wipe}%)`;
        if (before) before.style.visibility = "visible";
        which.textContent = this.vertical ? `▲ before | after ▼  (${this.wipe}%)` : `◀ before | after ▶  (${this.wipe}%)`;
        line.classList.toggle("across", this.vertical);
        line.style.left = this.vertical ? "0" : `${this.wipe}%`;
        line.style.top = this.vertical ? `${this.wipe}%` : "0";
        return;
      }
      after.style.clipPath = "";
      after.style.visibility = this.showing === "after" ? "visible" : "hidden";
      if (before) before.style.visibility = this.showing === "before" ? "visible" : "hidden";
      this.root.dataset.showing = this.showing;
      which.textContent = (this.showing === "after" ? "AFTER" : "BEFORE") + (this.blinking ? " · blinking" : "");
    }

    /** Keys of the comparator; true when the key was used. */
    key(event) {
      if (!this.root) return false;
      if (event.key === "b" || event.key === "B") { this.toggleBlink(); return true; }
      if (event.key === " ") { this.flip(); return true; }
      if (event.key === "w" || event.key === "W") { this.setMode(this.mode === "wipe" ? "blink" : "wipe"); return true; }
      return false;
    }
  }

  EV.Compare = Compare;

  /** For a step that glued nothing: the canvas before it, cut to its growth frontier (in the
   * whole canvas's pixels, clipped to the crop canvas_before.png holds). */
  EV.frontierImage = function (ctx, step) {
    const info = (step.images || {}).canvas_before;
    if (!info) return null;
    const tile = (ctx.contract && ctx.contract.tile) || 1024;
    const size = info.box ? [step.size_before[0], step.size_before[1]] : [info.width, info.height];
    const [w, h] = size, span = 2 * tile, crop = boxOf(info, size);
    const box = {
      x_ltr: { x: w - span, y: 0, w: span, h }, x_rtl: { x: 0, y: 0, w: span, h },
      y_ttb: { x: 0, y: h - span, w, h: span }, y_btt: { x: 0, y: 0, w, h: span },
    }[step.direction] || { x: 0, y: 0, w, h };
    const win = intersect(box, crop);
    if (!win) return null;
    const what = whole(crop, size) ? "canvas_before.png" : `canvas_before.png (a ${info.width}×${info.height} crop of the whole canvas)`;
    return el("figure", { class: "artifact wide frontier" },
      el("img", { src: cropUrl(ctx, step, "canvas_before", win, crop), alt: "canvas before the step, at its frontier" }),
      el("figcaption", { text: `${what}, pixels ${win.x}–${win.x + win.w} × ${win.y}–${win.y + win.h} of ${w}×${h} (the growth frontier)` }));
  };
})(window.EV = window.EV || {});
