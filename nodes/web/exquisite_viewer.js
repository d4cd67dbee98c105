// exquisite: the session viewer as a ComfyUI sidebar tab. ComfyUI serves this folder (the pack's
// WEB_DIRECTORY) at /extensions/<pack>/ and loads every .js file in it as an extension; the viewer
// itself is served by the pack's routes under /exquisite/viewer/ and shown here in an iframe.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const TAB_ID = "exquisite-viewer";

function viewerUrl() {
  return `${(api && api.api_base) || ""}/exquisite/viewer/`;
}

function render(container) {
  const url = viewerUrl();
  const bar = document.createElement("div");
  bar.style.cssText = "display:flex;justify-content:space-between;align-items:center;padding:4px 8px;font-size:12px";
  const title = document.createElement("span");
  title.textContent = "exquisite sessions (output/exquisite-sessions)";
  const open = document.createElement("a");
  open.href = url;
  open.target = "_blank";
  open.rel = "noopener";
  open.textContent = "open in a tab ↗";
  bar.append(title, open);
  const frame = document.createElement("iframe");
  frame.src = url;
  frame.title = "exquisite session viewer";
  frame.style.cssText = "flex:1 1 auto;width:100%;border:0;min-height:60vh";
  container.style.display = "flex";
  container.style.flexDirection = "column";
  if (!container.style.height) container.style.height = "100%";
  container.replaceChildren(bar, frame);
}

app.registerExtension({
  name: "exquisite.SessionViewer",
  async setup() {
    const manager = app.extensionManager;
    if (!manager || typeof manager.registerSidebarTab !== "function") {
      console.warn("exquisite: this ComfyUI frontend has no sidebar tabs; open the viewer at", viewerUrl());
      return;
    }
    manager.registerSidebarTab({
      id: TAB_ID,
      icon: "pi pi-images",
      title: "exquisite",
      tooltip: "exquisite sessions: every step, committed or rejected, and why",
      type: "custom",
      render,
    });
  },
});
