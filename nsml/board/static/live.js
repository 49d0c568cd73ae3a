// Live regions of the nsml board: <div data-live="STATE URL" data-fragment="HTML URL" data-version="V">.
// The state (JSON) is polled; when its version differs from the region's, the fragment is fetched and swapped in.
// Ticked checkboxes (sessions picked for comparing) stay ticked across a swap.
"use strict";
(function () {
  const ACTIVE_MS = 2000;
  const IDLE_MS = 10000;

  function swap(region, html) {
    const ticked = new Set(Array.from(region.querySelectorAll("input[type=checkbox]:checked"), (box) => box.value));
    region.innerHTML = html;
    region.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = ticked.has(box.value); });
  }

  async function poll(region) {
    let idle = false;
    try {
      const state = await (await fetch(region.dataset.live, { cache: "no-store" })).json();
      idle = state.active === false;
      if (state.version !== region.dataset.version) {
        const response = await fetch(region.dataset.fragment, { cache: "no-store" });
        if (response.ok) {
          swap(region, await response.text());
          region.dataset.version = response.headers.get("X-Board-Version") || state.version;
        }
      }
    } catch (error) {
      idle = true; // the board was stopped or restarted: try again later
    }
    setTimeout(() => poll(region), idle ? IDLE_MS : ACTIVE_MS);
  }

  document.querySelectorAll("[data-live]").forEach((region) => setTimeout(() => poll(region), ACTIVE_MS));
})();
