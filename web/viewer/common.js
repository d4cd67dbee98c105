/* Shared helpers of the viewer page and the MCP App (plain script: no build step, no modules). */
(function (EV) {
  "use strict";

  /** An element with attributes and children; strings become text nodes (never HTML). */
  EV.el = function (tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "style") node.setAttribute("style", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  EV.svg = function (tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  EV.pad4 = (n) => String(n).padStart(4, "0");
  EV.WORDS = { x_ltr: "right", x_rtl: "left", y_ttb: "down", y_btt: "up" };
  EV.ARROWS = { x_ltr: "→", x_rtl: "←", y_ttb: "↓", y_btt: "↑" };
  EV.direction = (d) => (d ? `${EV.ARROWS[d] || ""} ${EV.WORDS[d] || d}`.trim() : "");
  EV.seconds = (s) => (typeof s === "number" ? (s < 10 ? s.toFixed(2) : s.toFixed(1)) + " s" : "");
  EV.num = (v, digits = 1) => (typeof v === "number" ? v.toFixed(digits) : "–");
  EV.size = (wh) => (Array.isArray(wh) && wh.length === 2 ? `${wh[0]}×${wh[1]}` : "");

  /** How bad a seam number (ΔE) looks: about 2 is barely visible, 10 obvious. */
  EV.severity = (v) => (typeof v !== "number" ? "" : v >= 10 ? "bad" : v >= 3 ? "warn" : "good");

  EV.STATUS_TEXT = {
    committed: "committed", rejected: "REJECTED", undone: "undone", running: "running…",
  };
})(window.EV = window.EV || {});
