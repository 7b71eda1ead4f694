/*
 * The browser's own functions, as the browser made them, whatever the page did to its globals.
 *
 * Some pages patch the DOM for their own reasons (Salesforce Lightning's locker makes
 * childNodes, contains and getRootNode throw and replaces MutationObserver), or replace fetch,
 * WebSocket, JSON.stringify or add Array.prototype.toJSON (Prototype.js). rrweb's recorder takes
 * its DOM accessors from a fresh frame's prototypes for the same reason; the widget does the
 * same for what it calls itself:
 * - DOM accessors and methods, MutationObserver, JSON and Function.prototype.toString come from a
 *   fresh about:blank frame, removed at once (they work on this page's nodes and values);
 * - fetch and WebSocket are the page's own when they are the browser's, else those of a hidden
 *   frame kept in the widget's shadow root (a network call needs a live document);
 * - JSON.stringify runs with any toJSON the page put on built-in prototypes set aside.
 * A page that broke what neither rrweb nor the widget can do without (Array.prototype methods,
 * Object.keys) gets a plain "Co-browse is not available on this page" (see `usable`).
 */

// What the widget takes from a fresh frame, captured before the frame is removed (a removed
// frame's window no longer answers; the objects taken from it go on working).
var CAPTURED = ["Node", "Element", "ShadowRoot", "MutationObserver", "JSON", "Function"];
var clean = null;

function realm() {
  if (clean) return clean;
  clean = {};
  try {
    var frame = document.createElement("iframe");
    frame.setAttribute("aria-hidden", "true");
    frame.hidden = true;
    (document.body || document.documentElement).appendChild(frame);
    var win = frame.contentWindow;
    for (var i = 0; i < CAPTURED.length; i++) clean[CAPTURED[i]] = win[CAPTURED[i]];
    frame.remove();
  } catch {
    /* no frame: the page's own, as before */
  }
  for (var j = 0; j < CAPTURED.length; j++) {
    if (!clean[CAPTURED[j]]) clean[CAPTURED[j]] = window[CAPTURED[j]];
  }
  return clean;
}

function accessor(type, name) {
  var descriptor = Object.getOwnPropertyDescriptor(realm()[type].prototype, name);
  return descriptor && descriptor.get;
}

function method(type, name) {
  return realm()[type].prototype[name];
}

var cache = {};

function get(type, name, node) {
  var key = type + "." + name;
  var fn = cache[key] || (cache[key] = accessor(type, name));
  return fn ? fn.call(node) : node[name];
}

function call(type, name, node, args) {
  var key = type + "#" + name;
  var fn = cache[key] || (cache[key] = method(type, name));
  return fn.apply(node, args || []);
}

export function contains(node, other) {
  return !!node && !!other && call("Node", "contains", node, [other]);
}

export function rootOf(node) {
  return node ? call("Node", "getRootNode", node) : null;
}

export function hostOf(root) {
  return root && root.nodeType === 11 ? get("ShadowRoot", "host", root) : null;
}

export function shadowRootOf(element) {
  return element && element.nodeType === 1 ? get("Element", "shadowRoot", element) : null;
}

export function childrenOf(element) {
  return get("Element", "children", element);
}

export function parentElementOf(node) {
  return get("Node", "parentElement", node);
}

export function mutationObserver() {
  return realm().MutationObserver;
}

// Is fn the browser's own (judged by the fresh frame's Function.prototype.toString)?
export function isNative(fn) {
  try {
    return typeof fn === "function" &&
      /\{\s*\[native code\]\s*\}\s*$/.test(realm().Function.prototype.toString.call(fn));
  } catch {
    return false;
  }
}

var liveFrame = null; // a hidden frame kept in the widget's shadow root, for fetch and WebSocket

// Where the widget mounts its shadow root: a frame there gives live fetch and WebSocket (its
// window exists once the widget is in the document, so it is looked up at each use).
export function attach(shadowRoot) {
  if (liveFrame || (isNative(window.fetch) && isNative(window.WebSocket))) return;
  try {
    liveFrame = document.createElement("iframe");
    liveFrame.hidden = true;
    liveFrame.setAttribute("aria-hidden", "true");
    liveFrame.setAttribute("tabindex", "-1");
    shadowRoot.appendChild(liveFrame);
  } catch {
    liveFrame = null;
  }
}

function networkWindow(name) {
  if (isNative(window[name])) return window;
  var win = liveFrame && liveFrame.contentWindow;
  return win && isNative(win[name]) ? win : window;
}

export function fetchUrl(url, init) {
  var win = networkWindow("fetch");
  return win.fetch.call(win, url, init);
}

export function openSocket(url) {
  return new (networkWindow("WebSocket").WebSocket)(url);
}

var TO_JSON_HOLDERS = ["Array", "Object", "String", "Number", "Boolean", "Date"];

export function stringify(value) {
  var json = realm().JSON;
  var setAside = [];
  TO_JSON_HOLDERS.forEach(function (name) {
    var proto = window[name] && window[name].prototype;
    if (name === "Date" || !proto) return; // Date's toJSON is the browser's own and wanted
    var own = Object.getOwnPropertyDescriptor(proto, "toJSON");
    if (own && own.configurable) {
      setAside.push([proto, own]);
      delete proto.toJSON;
    }
  });
  try {
    return json.stringify(value);
  } finally {
    setAside.forEach(function (entry) {
      Object.defineProperty(entry[0], "toJSON", entry[1]);
    });
  }
}

export function parse(text) {
  return realm().JSON.parse(text);
}

// What the widget and rrweb cannot do without works: arrays and objects behave as built.
export function usable() {
  try {
    var list = [1, 2, 3];
    var seen = [];
    list.forEach(function (x) {
      seen.push(x);
    });
    return seen.length === 3 &&
      list.map(function (x) { return x * 2; })[2] === 6 &&
      list.filter(function (x) { return x > 1; }).length === 2 &&
      list.some(function (x) { return x === 3; }) &&
      list.every(function (x) { return x > 0; }) &&
      list.indexOf(2) === 1 && list.join(",") === "1,2,3" &&
      list.concat([4]).length === 4 && list.slice(1).length === 2 &&
      Array.from(new Set([1, 1, 2])).length === 2 && Array.isArray(list) &&
      Object.keys({ a: 1, b: 2 }).length === 2 &&
      parse(stringify({ a: [1, "x"] })).a[1] === "x";
  } catch {
    return false;
  }
}
