/*
 * The agent's drawings and spotlight on the customer's page.
 *
 * Strokes come in page coordinates (the agent's view may be scrolled differently), are drawn in a
 * fixed SVG layer of the widget's shadow root at their place on the page (moved with every
 * scroll), fade after FADE_MS and go; the customer can hide them. A spotlight outlines one
 * element (by rrweb's node id) for SPOT_MS and follows it; while it is out of the window an arrow
 * at the window's edge points to it. Nothing here acts on the page, and a masked element is never
 * outlined (the server refuses its id first; this is the second line).
 */

var SVG_NS = "http://www.w3.org/2000/svg";
var FADE_MS = 3500;
var GONE_MS = 4500;
var SPOT_MS = 6000;

// options: root (the shadow root), getNode(id) -> element, isMasked(element) -> bool
export function createAnnotations(options) {
  var ink = document.createElementNS(SVG_NS, "svg");
  ink.setAttribute("class", "ink");
  ink.setAttribute("data-testid", "cobrowse-drawings");
  ink.setAttribute("aria-hidden", "true");
  options.root.appendChild(ink);
  var spot = document.createElement("div");
  spot.className = "spot";
  spot.hidden = true;
  spot.setAttribute("data-testid", "cobrowse-spotlight");
  var arrow = document.createElement("div");
  arrow.className = "spot-arrow";
  arrow.hidden = true;
  arrow.setAttribute("data-testid", "cobrowse-spotlight-arrow");
  options.root.appendChild(spot);
  options.root.appendChild(arrow);

  var strokes = []; // { line, points }
  var hidden = false;
  var spotted = null; // { element, until }
  var frame = 0;

  function place(stroke) {
    var sx = window.scrollX;
    var sy = window.scrollY;
    stroke.line.setAttribute("points", stroke.points.map(function (p) {
      return p[0] - sx + "," + (p[1] - sy);
    }).join(" "));
  }

  function remove(stroke) {
    stroke.line.remove();
    strokes = strokes.filter(function (s) {
      return s !== stroke;
    });
  }

  function follow() {
    frame = 0;
    if (!spotted || Date.now() > spotted.until || !spotted.element.isConnected) {
      spotted = null;
      spot.hidden = true;
      arrow.hidden = true;
      return;
    }
    var box = spotted.element.getBoundingClientRect();
    var vw = document.documentElement.clientWidth || window.innerWidth;
    var vh = document.documentElement.clientHeight || window.innerHeight;
    var visible = box.bottom > 0 && box.right > 0 && box.top < vh && box.left < vw;
    spot.hidden = !visible;
    arrow.hidden = visible;
    if (visible) {
      spot.style.left = box.left - 4 + "px";
      spot.style.top = box.top - 4 + "px";
      spot.style.width = box.width + 8 + "px";
      spot.style.height = box.height + 8 + "px";
    } else {
      // At the edge of the window, on the line towards the element, pointing at it.
      var cx = Math.min(Math.max(box.left + box.width / 2, 24), vw - 24);
      var cy = Math.min(Math.max(box.top + box.height / 2, 24), vh - 24);
      var dir = box.bottom <= 0 ? "up" : box.top >= vh ? "down" : box.right <= 0 ? "left" : "right";
      arrow.setAttribute("data-dir", dir);
      arrow.textContent = { up: "↑", down: "↓", left: "←", right: "→" }[dir];
      arrow.style.left = cx - 16 + "px";
      arrow.style.top = cy - 16 + "px";
    }
    frame = requestAnimationFrame(follow);
  }

  window.addEventListener("scroll", function () {
    strokes.forEach(place);
  }, { capture: true, passive: true });

  return {
    stroke: function (points) {
      if (hidden || !Array.isArray(points) || points.length < 2) return;
      var line = document.createElementNS(SVG_NS, "polyline");
      var stroke = { line: line, points: points };
      place(stroke);
      ink.appendChild(line);
      strokes.push(stroke);
      setTimeout(function () {
        line.setAttribute("class", "fade");
      }, FADE_MS);
      setTimeout(function () {
        remove(stroke);
      }, GONE_MS);
    },
    clear: function () {
      strokes.slice().forEach(remove);
    },
    // Returns whether the element was outlined (an unknown or masked one is not).
    spotlight: function (id) {
      var element = options.getNode(id);
      if (!element || element.nodeType !== 1 || options.isMasked(element)) return false;
      spotted = { element: element, until: Date.now() + SPOT_MS };
      if (!frame) frame = requestAnimationFrame(follow);
      return true;
    },
    setHidden: function (value) {
      hidden = !!value;
      ink.style.display = hidden ? "none" : "";
      if (hidden) strokes.slice().forEach(remove);
    },
    isHidden: function () {
      return hidden;
    },
    reset: function () {
      strokes.slice().forEach(remove);
      spotted = null;
      spot.hidden = true;
      arrow.hidden = true;
    },
  };
}
