/* The whole canvas, zoomable and pannable (OpenSeadragon over server-made tiles), with every
 * step's tile outlined and numbered; clicking an outline selects the step. */
(function (EV) {
  "use strict";
  const el = EV.el;

  class CanvasView {
    constructor(box, onSelect) {
      this.box = box;
      this.onSelect = onSelect;
      this.viewer = null;
      this.key = null;
      this.steps = [];
      this.selected = null;
      this.status = el("p", { class: "muted canvas-status" });
      this.holder = el("div", { class: "osd", id: "osd" });
      box.replaceChildren(this.status, this.holder);
    }

    /** Show the session's current canvas, or the canvas after step `at` (with only its tile
     * outlined); reopen only when the canvas shown (its step or version) changed. */
    async show(sessionId, session, selected, at) {
      this.steps = at ? [{ ...at, head_box: at.tile_box }] : session.steps.filter((s) => s.head_box);
      this.selected = selected;
      const canvas = at
        ? { step: at.number, query: at.canvas_query, width: at.size_after[0], height: at.size_after[1], rendered: false, file: "" }
        : session.canvas;
      if (!canvas) {
        this.status.textContent = "The current canvas is not readable yet; it appears here in a moment.";
        return;
      }
      const query = canvas.query; // step=N&v=...: the server finds or renders that canvas
      const key = `${sessionId}|${query}`;
      if (key === this.key) { this.drawBoxes(); return; }
      this.key = key;
      this.status.textContent = `Building the zoom pyramid of ${EV.size([canvas.width, canvas.height])}` +
        (canvas.rendered ? " (no whole canvas is on disk yet: rendering it from the steps)…" : "…");
      const id = encodeURIComponent(sessionId);
      const response = await fetch(`api/sessions/${id}/canvas?${query}`);
      if (key !== this.key) return; // a newer canvas arrived meanwhile
      if (!response.ok) { this.status.textContent = "The canvas could not be read yet; retrying on the next change."; this.key = null; return; }
      const info = await response.json();
      this.status.textContent = (at ? `Canvas after step ${at.number}, ${EV.size([info.width, info.height])}`
        : `Current canvas ${EV.size([info.width, info.height])} at step ${session.head}`) +
        (canvas.file !== null ? "" : " (rendered from the steps)") + ": " +
        "scroll to zoom, drag to pan; numbered outlines are where each step's tile landed.";
      const source = {
        width: info.width, height: info.height, tileSize: info.tile_size, tileOverlap: 0,
        minLevel: 0, maxLevel: info.max_level,
        getTileUrl: (level, x, y) => `tiles/${id}/${level}/${x}_${y}.jpg?${query}`,
      };
      const keep = this.visibleRegion(); // a zoomed-in view survives a new canvas (a step landing)
      if (!this.viewer) {
        this.viewer = OpenSeadragon({
          element: this.holder, drawer: "canvas", showNavigationControl: false, visibilityRatio: 0.2,
          minZoomImageRatio: 0.5, maxZoomPixelRatio: 4, animationTime: 0.4, immediateRender: false,
          gestureSettingsMouse: { clickToZoom: false }, crossOriginPolicy: false,
        });
        this.viewer.addHandler("open", () => {
          if (this.keep) this.restore(this.keep);
          this.keep = null;
          this.drawBoxes();
        });
      }
      this.keep = keep;
      this.viewer.open(source);
    }

    /** The canvas pixels in view, or null at the home view (which a new canvas simply refits). */
    visibleRegion() {
      const viewer = this.viewer;
      if (!viewer || !viewer.world || viewer.world.getItemCount() === 0) return null;
      const home = viewer.viewport.getHomeZoom(), zoom = viewer.viewport.getZoom();
      if (Math.abs(zoom - home) / home < 0.01) return null;
      return viewer.world.getItemAt(0).viewportToImageRectangle(viewer.viewport.getBounds());
    }

    restore(region) {
      const item = this.viewer.world.getItemAt(0);
      this.viewer.viewport.fitBounds(item.imageToViewportRectangle(region), true);
    }

    drawBoxes() {
      const viewer = this.viewer;
      if (!viewer || !viewer.world || viewer.world.getItemCount() === 0) return;
      const item = viewer.world.getItemAt(0);
      viewer.clearOverlays();
      for (const step of this.steps) {
        const [x, y, w, h] = step.head_box;
        const box = el("div", { class: `step-box${step.number === this.selected ? " selected" : ""}`, "data-step": step.number,
          title: `step #${EV.pad4(step.number)}` }, el("span", { class: "step-label", text: String(step.number) }));
        // OpenSeadragon's own tracker takes the pointer over its canvas: the label gets a tracker too
        new OpenSeadragon.MouseTracker({ element: box.firstChild, clickHandler: () => this.onSelect(step.number) });
        viewer.addOverlay({ element: box, location: item.imageToViewportRectangle(x, y, w, h) });
      }
    }
  }

  EV.CanvasView = CanvasView;
})(window.EV = window.EV || {});
