/*
 * Where the customer's pointer came to rest is always sent.
 *
 * rrweb 2.1.6 samples mouse moves with a leading-edge throttle (`trailing: false`): a move that
 * comes less than the sampling interval after the previous one is dropped, and if it was the
 * last move, the agent sees the pointer where it was before. Chromium fires a move of its own
 * after every scroll (to update hover), so "scroll, then point" often loses the point.
 *
 * This module watches the same moves and, once the pointer has rested for REST_MS, hands the
 * widget one ordinary rrweb mouse-move event at the resting place (the widget's capture applies
 * the policy to it as to any other event). One small event per pause, none while moving.
 */

var EVENT_INCREMENTAL = 3;
var SOURCE_MOUSE_MOVE = 1;
var REST_MS = 120;

// options: getMirror() -> rrweb's record mirror, recording() -> bool, emit(event).
export function createPointerTrail(options) {
  var timer = null;
  var last = null;

  function moved(event) {
    if (!options.recording()) return;
    last = { x: event.clientX, y: event.clientY, target: event.target };
    clearTimeout(timer);
    timer = setTimeout(rest, REST_MS);
  }

  function rest() {
    timer = null;
    if (!last || !options.recording()) return;
    var id = options.getMirror().getId(last.target);
    options.emit({
      type: EVENT_INCREMENTAL,
      data: {
        source: SOURCE_MOUSE_MOVE,
        positions: [{ x: last.x, y: last.y, id: id, timeOffset: 0 }],
      },
      timestamp: Date.now(),
    });
    last = null;
  }

  window.addEventListener("mousemove", moved, { capture: true, passive: true });

  return {
    // Recording stopped (page change, pause, end): nothing pending belongs to the next page.
    reset: function () {
      clearTimeout(timer);
      timer = null;
      last = null;
    },
  };
}
