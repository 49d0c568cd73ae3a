// Chart controls of the nsml board. The controls are a plain GET form (form.chart-options) that the server answers
// with redrawn charts; this script only submits it sooner: when the smoothing slider is let go or the x axis is
// changed (which also forgets the zoom, whose numbers belong to the old axis), when a range is dragged across a
// chart (zoom in) and when a chart is double-clicked (whole range). Charts swapped in by live.js work the same.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const MIN_DRAG_PX = 6;

  function form() {
    return document.querySelector("form.chart-options");
  }

  function submit(from, to) {
    const controls = form();
    if (!controls) return;
    controls.elements.from.value = from;
    controls.elements.to.value = to;
    controls.requestSubmit();
  }

  // The data x of a client x, from the plot area's data range that the server wrote on the <svg>.
  function dataX(svg, clientX) {
    const box = svg.getBoundingClientRect();
    const view = svg.viewBox.baseVal;
    const x = ((clientX - box.left) / box.width) * view.width;
    const { xLow, xHigh, left, right } = svg.dataset;
    const share = (x - Number(left)) / (Number(right) - Number(left));
    return Number(xLow) + Math.min(Math.max(share, 0), 1) * (Number(xHigh) - Number(xLow));
  }

  function viewX(svg, clientX) {
    const box = svg.getBoundingClientRect();
    return ((clientX - box.left) / box.width) * svg.viewBox.baseVal.width;
  }

  let drag = null; // {svg, startX (client), rect}

  document.addEventListener("mousedown", (event) => {
    const svg = event.target.closest && event.target.closest("figure.chart > svg[data-x-low]");
    if (!svg || event.button !== 0 || !form()) return;
    event.preventDefault();
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", "zoom");
    const frame = svg.querySelector("rect.frame");
    rect.setAttribute("y", frame.getAttribute("y"));
    rect.setAttribute("height", frame.getAttribute("height"));
    rect.setAttribute("x", viewX(svg, event.clientX));
    rect.setAttribute("width", 0);
    svg.appendChild(rect);
    drag = { svg, startX: event.clientX, rect };
  });

  document.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const a = viewX(drag.svg, drag.startX);
    const b = viewX(drag.svg, event.clientX);
    drag.rect.setAttribute("x", Math.min(a, b));
    drag.rect.setAttribute("width", Math.abs(b - a));
  });

  document.addEventListener("mouseup", (event) => {
    if (!drag) return;
    const { svg, startX, rect } = drag;
    drag = null;
    rect.remove();
    if (Math.abs(event.clientX - startX) < MIN_DRAG_PX) return;
    const a = dataX(svg, startX);
    const b = dataX(svg, event.clientX);
    submit(String(Math.min(a, b)), String(Math.max(a, b)));
  });

  document.addEventListener("dblclick", (event) => {
    const svg = event.target.closest && event.target.closest("figure.chart > svg[data-x-low]");
    if (svg) submit("", "");
  });

  const controls = form();
  if (controls) {
    const slider = controls.elements.smooth;
    const shown = controls.querySelector(".smoothing output");
    slider.addEventListener("input", () => { shown.textContent = Number(slider.value).toFixed(2); });
    slider.addEventListener("change", () => controls.requestSubmit());
    controls.elements.x.addEventListener("change", () => submit("", ""));
  }
})();
