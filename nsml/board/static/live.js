// Live regions of the nsml board: <div data-live="STATE URL" data-fragment="HTML URL" data-version="V">.
// The state (JSON) is polled; when its version differs from the region's, the fragment is fetched and swapped in.
// Ticked checkboxes (sessions picked for comparing) stay ticked across a swap; log panels keep following their tail.
"use strict";
(function () {
  const ACTIVE_MS = 2000;
  const IDLE_MS = 10000;

  // A log panel follows its tail (as `tail -f`) unless the reader scrolled up to read: then it stays put.
  function atTail(log) {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 8;
  }

  function toTail(log) {
    log.scrollTop = log.scrollHeight;
  }

  function swap(region, html) {
    const ticked = new Set(Array.from(region.querySelectorAll("input[type=checkbox]:checked"), (box) => box.value));
    const logs = Array.from(region.querySelectorAll("pre.log"), (log) => (atTail(log) ? null : log.scrollTop));
    region.innerHTML = html;
    region.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = ticked.has(box.value); });
    region.querySelectorAll("pre.log").forEach((log, index) => {
      const kept = logs[index];
      if (kept === undefined || kept === null) {
        toTail(log);
      } else {
        log.scrollTop = kept;
      }
    });
    region.dispatchEvent(new CustomEvent("board:swapped", { bubbles: true })); // sort.js sorts its tables again
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

  document.querySelectorAll("pre.log").forEach(toTail);
  document.querySelectorAll("[data-live]").forEach((region) => setTimeout(() => poll(region), ACTIVE_MS));
})();
