/*
 * Form state: what the customer sees chosen in a <select> and written in a <textarea> is what the
 * agent sees, at the first snapshot and after every change, whoever made it (the customer, or the
 * page's script, which fires no event).
 *
 * rrweb 2.1.6 falls short here:
 * - its snapshot drops every option's `selected` when selects are masked by type (the widget
 *   routes all values through maskInputFn, so they are), and the `value` it puts on a <select> is
 *   an attribute the replayer sets with setAttribute, which selects nothing;
 * - it hooks `option.selected = ...` but then returns early for an OPTION target (it checks the
 *   option's tag, not the select's), so that change is never recorded; its input events carry
 *   `select.value`, one value, which cannot say what a multi-select has chosen;
 * - a textarea emptied by script (`value = ""`) is serialized with its original text;
 * - form.reset() fires no input event at all.
 *
 * So, for the fields the policy does not mask: every serialized <option> carries `selected` as its
 * real selectedness (snapshots and added nodes), every <textarea> its value (also when empty),
 * and later changes cross as ordinary rrweb events: `selected` attribute changes on the options
 * that changed, an input event for a textarea. The mirror (frontend/mirror/formstate.js) turns
 * `selected` into selectedness. Changes are noticed through the value setters, reset events,
 * rrweb's own events and a slow poll (same-origin frames, setters captured before the hooks).
 *
 * A masked field is never looked at here: its value and chosen option are left to the policy
 * (stars), and the server's guard drops `selected` on masked options whatever arrives.
 */

var EVENT_FULL_SNAPSHOT = 2;
var EVENT_INCREMENTAL = 3;
var SOURCE_MUTATION = 0;
var SOURCE_INPUT = 5;
var POLL_MS = 500;

// options: getMirror() -> rrweb's record mirror, isMasked(element), recording() -> bool,
// emit(event): hands an rrweb event to the widget's capture (policy applied there as usual).
export function createFormState(options) {
  var tracked = new Set(); // live <select> and <textarea> elements the mirror has
  var sent = new WeakMap(); // option -> selected, textarea -> value, as the mirror has them
  var scheduled = false;
  var poll = null;
  var emitting = false;

  function mirror() {
    return options.getMirror();
  }

  function selectOf(option) {
    var parent = option.parentElement;
    if (parent && parent.localName === "optgroup") parent = parent.parentElement;
    return parent && parent.localName === "select" ? parent : null;
  }

  // A serialized (sub)tree about to be sent: carry the real state of unmasked fields.
  function patchTree(root) {
    var masked = new Map(); // select -> masked, asked once per select, not once per option
    var stack = [root];
    while (stack.length) {
      var node = stack.pop();
      if (!node) continue;
      if (node.type === 2) patchElement(node, masked);
      var children = node.childNodes;
      if (children) for (var i = 0; i < children.length; i++) stack.push(children[i]);
    }
  }

  function patchElement(node, masked) {
    var tag = node.tagName;
    if (tag !== "option" && tag !== "select" && tag !== "textarea") return;
    var live = mirror().getNode(node.id);
    if (!live || live.nodeType !== 1) return;
    var attrs = node.attributes || (node.attributes = {});
    if (tag === "option") {
      var select = selectOf(live);
      if (!select) return;
      if (!masked.has(select)) masked.set(select, options.isMasked(select));
      if (masked.get(select)) return;
      if (live.selected) attrs.selected = true;
      else delete attrs.selected;
      sent.set(live, live.selected);
      tracked.add(select);
    } else if (tag === "select") {
      tracked.add(live);
    } else if (!options.isMasked(live)) {
      // Even "": the replayer then shows the value, not the textarea's original text.
      attrs.value = live.value;
      sent.set(live, live.value);
      tracked.add(live);
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    Promise.resolve().then(check);
  }

  // Whatever differs from what the mirror was last told crosses now.
  function check() {
    scheduled = false;
    if (!options.recording()) return;
    var m = mirror();
    var changes = [];
    var inputs = [];
    tracked.forEach(function (el) {
      if (!el.isConnected || m.getId(el) < 0) {
        tracked.delete(el);
        return;
      }
      if (options.isMasked(el)) return;
      if (el.localName === "textarea") {
        if (sent.get(el) !== el.value) {
          sent.set(el, el.value);
          inputs.push({ source: SOURCE_INPUT, id: m.getId(el), text: el.value, isChecked: false });
        }
        return;
      }
      for (var i = 0; i < el.options.length; i++) {
        var option = el.options[i];
        var id = m.getId(option);
        if (id < 0) continue; // not serialized yet: it crosses with its state when added
        if (sent.get(option) !== option.selected) {
          sent.set(option, option.selected);
          changes.push({ id: id, attributes: { selected: option.selected ? "" : null } });
        }
      }
    });
    var now = Date.now();
    emitting = true;
    try {
      if (changes.length) {
        options.emit({
          type: EVENT_INCREMENTAL,
          data: { source: SOURCE_MUTATION, texts: [], attributes: changes, removes: [], adds: [] },
          timestamp: now,
        });
      }
      inputs.forEach(function (data) {
        options.emit({ type: EVENT_INCREMENTAL, data: data, timestamp: now });
      });
    } finally {
      emitting = false;
    }
  }

  // Every event on its way out (before the policy's own pass), in the widget's capture.
  function observe(event) {
    if (emitting || !event) return;
    if (event.type === EVENT_FULL_SNAPSHOT) {
      tracked = new Set();
      sent = new WeakMap();
      if (event.data) patchTree(event.data.node);
      if (!poll) poll = setInterval(tick, POLL_MS);
      return;
    }
    if (event.type !== EVENT_INCREMENTAL || !event.data) return;
    var data = event.data;
    if (data.source === SOURCE_MUTATION) {
      (data.adds || []).forEach(function (add) {
        patchTree(add.node);
      });
      (data.attributes || []).forEach(function (change) {
        var node = change.attributes && "selected" in change.attributes && mirror().getNode(change.id);
        // An option's `selected` attribute is its default, not its selectedness: the mirror is
        // told the selectedness (below) instead.
        if (node && node.localName === "option" && selectOf(node)) delete change.attributes.selected;
      });
      if (tracked.size) schedule(); // options added or removed, a default changed
      return;
    }
    if (data.source === SOURCE_INPUT) {
      var el = mirror().getNode(data.id);
      if (el && el.localName === "textarea" && sent.has(el) && !options.isMasked(el)) {
        sent.set(el, data.text); // rrweb told the mirror this value
      }
      if (tracked.size) schedule();
    }
  }

  function tick() {
    if (!options.recording()) {
      clearInterval(poll);
      poll = null;
      return;
    }
    check();
  }

  function changed() {
    if (tracked.size) schedule();
  }

  hookSetters(window, changed);
  // A reset runs after its event: look once it has.
  window.addEventListener("reset", function () {
    setTimeout(changed, 0);
  }, true);

  return { observe: observe };
}

// Script changes fire no event: the setters say when one happened. Installed once, before rrweb
// records (rrweb wraps them in turn, and restores them when it stops).
function hookSetters(win, changed) {
  [
    [win.HTMLSelectElement, "value"],
    [win.HTMLSelectElement, "selectedIndex"],
    [win.HTMLSelectElement, "length"],
    [win.HTMLOptionsCollection, "selectedIndex"],
    [win.HTMLOptionsCollection, "length"],
    [win.HTMLOptionElement, "selected"],
    [win.HTMLTextAreaElement, "value"],
  ].forEach(function (pair) {
    var proto = pair[0] && pair[0].prototype;
    var descriptor = proto && Object.getOwnPropertyDescriptor(proto, pair[1]);
    if (!descriptor || !descriptor.set || !descriptor.configurable) return;
    Object.defineProperty(proto, pair[1], {
      configurable: true,
      enumerable: descriptor.enumerable,
      get: descriptor.get,
      set: function (value) {
        descriptor.set.call(this, value);
        changed();
      },
    });
  });
}
