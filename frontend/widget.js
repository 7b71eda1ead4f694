/*
 * Co-browse widget: one script tag on the company's site.
 *
 *   <script src="https://COBROWSE_HOST/static/cobrowse/widget.js" data-site="SITE_KEY" async></script>
 *
 * Exposes one global, window.Cobrowse, and dispatches cobrowse:* events on document.
 * Nothing of the page leaves the browser until an agent has joined the session.
 * Bundled by esbuild (scripts/build-static.mjs) into one IIFE with @rrweb/record.
 */
import { record } from "@rrweb/record";
import { createPolicy, MASK_ATTR, RESTRICT_ATTR } from "./widget/policy.js";
import { createFormState } from "./widget/formstate.js";
import { createPointerTrail } from "./widget/pointer.js";
import { createAnnotations } from "./widget/annotations.js";
import { createTranslator, pickLanguage } from "./widget/i18n.js";
import {
  attach as attachNatives,
  childrenOf,
  contains,
  fetchUrl,
  hostOf,
  mutationObserver,
  openSocket,
  parse,
  rootOf,
  shadowRootOf,
  stringify,
  usable,
} from "./widget/natives.js";
import { canDeflate, COMPRESS_MIN, deflate } from "./deflate.js";

(function () {
  "use strict";

  if (window.Cobrowse) return; // embedded twice: the first one wins

  var script =
    document.currentScript ||
    document.querySelector('script[src*="/static/cobrowse/widget.js"][data-site]');

  // Config: every key documented once; overrides come from the script tag's data-* attributes.
  var config = {
    // The site key from the embed tag (data-site). Required.
    site: attr("site", ""),
    // Origin of the co-browse server: taken from the script's own URL.
    server: script ? new URL(script.src, location.href).origin : location.origin,
    // Events are batched for at most this many milliseconds (data-flush-interval).
    flushInterval: Number(attr("flushInterval", "40")),
    // Frames longer than this many characters are sent in chunks (data-chunk-size).
    chunkSize: Number(attr("chunkSize", "262144")),
    // Reconnect back-off cap in milliseconds (data-reconnect-max).
    reconnectMax: Number(attr("reconnectMax", "10000")),
    // Which corner the launcher sits in: "right" or "left" (data-position); on a right-to-left
    // page the default is the left, where such pages put what comes last.
    position: attr("position", pageDirection() === "rtl" ? "left" : "right"),
    // The page's CSP nonce (the embed tag's nonce attribute), used only by browsers without
    // constructed stylesheets, for the widget's <style>.
    nonce: (script && script.nonce) || attr("nonce", ""),
    // The customer's language (data-lang), else the page's <html lang>: en, de, fr or es, with
    // English for any other (frontend/widget/i18n.js).
    lang: pickLanguage(attr("lang", ""), document.documentElement.lang),
  };
  var t = createTranslator(config.lang).t;

  // The page broke what the widget (and rrweb) cannot do without: its arrays or objects do not
  // behave as built (frontend/widget/natives.js). Say so plainly, with one disabled launcher built
  // without them, and run nothing else: no session, no recording.
  if (!usable()) {
    window.Cobrowse = {
      version: "0.1.0",
      config: config,
      available: false,
      start: function () { return Promise.resolve({ status: "unavailable" }); },
      exit: function () {},
      state: function () { return { status: "unavailable" }; },
    };
    var showUnavailable = function () {
      var host = document.createElement("cobrowse-widget");
      host.setAttribute("dir", "ltr");
      var root = host.attachShadow({ mode: "open" });
      var note = document.createElement("button");
      note.type = "button";
      note.disabled = true;
      note.setAttribute("data-testid", "cobrowse-unavailable");
      note.textContent = t("unavailable");
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(
          ":host{all:initial;position:fixed;bottom:20px;" + (config.position === "left" ? "left" : "right") +
          ":20px;z-index:2147483647}button{font:600 14px system-ui,sans-serif;border:0;" +
          "border-radius:999px;padding:12px 18px;background:#4b5563;color:#fff}"
        );
        root.adoptedStyleSheets = [sheet];
      } catch {
        /* unstyled, still readable */
      }
      root.appendChild(note);
      document.body.appendChild(host);
    };
    if (document.body) showUnavailable();
    else document.addEventListener("DOMContentLoaded", showUnavailable);
    return;
  }

  var Cobrowse = {
    version: "0.1.0",
    config: config,
    start: start,
    exit: exit,
    state: function () {
      return { status: state.status, code: state.code, agent: state.agent, mode: state.mode };
    },
  };
  window.Cobrowse = Cobrowse;

  var STORAGE_KEY = "cobrowse:" + config.site;
  // WebSocket's OPEN readyState, as a number: a page may have replaced window.WebSocket.
  var SOCKET_OPEN = 1;
  var EVENT_FULL_SNAPSHOT = 2;
  var EVENT_INCREMENTAL = 3;
  var EVENT_META = 4;
  var SOURCE_MUTATION = 0;

  var state = {
    status: "idle", // idle | starting | waiting | active | ended
    mode: "pointer", // pointer | write (the agent may type and click)
    writeEnabled: false,
    code: null,
    codeDisplay: null,
    token: null,
    agent: null,
  };

  function pageDirection() {
    var root = document.documentElement;
    var dir = (root.getAttribute("dir") || (document.body && document.body.getAttribute("dir")) || "").toLowerCase();
    return dir === "rtl" ? "rtl" : "ltr";
  }

  function attr(name, fallback) {
    return (script && script.dataset && script.dataset[name]) || fallback;
  }

  function emit(name, detail, cancelable) {
    var event = new CustomEvent("cobrowse:" + name, {
      detail: detail || {},
      bubbles: true,
      cancelable: !!cancelable,
    });
    return document.dispatchEvent(event);
  }

  // ---------------------------------------------------------------------------
  // Session
  // ---------------------------------------------------------------------------

  function load() {
    try {
      return parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    } catch {
      return null;
    }
  }

  function save() {
    try {
      sessionStorage.setItem(
        STORAGE_KEY,
        stringify({ token: state.token, code: state.code, codeDisplay: state.codeDisplay })
      );
    } catch {
      /* storage disabled: the session simply does not survive navigation */
    }
  }

  function forget() {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      /* nothing to forget */
    }
  }

  function start() {
    if (state.status !== "idle" && state.status !== "ended") return Promise.resolve(Cobrowse.state());
    if (!emit("start", {}, true)) return Promise.resolve(Cobrowse.state());
    // Start Co-browse gives way to the session's panel: a keyboard user's focus goes with it.
    // (keyboard focus only: a click leaves the page's focus as it was).
    var hadFocus = !!ui.root && ui.root.activeElement === ui.launch && ui.launch.matches(":focus-visible");
    setStatus("starting");
    return fetchUrl(config.server + "/api/v1/sessions/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      // The page's path only: query strings and fragments can hold tokens.
      body: stringify({
        site: config.site,
        url: location.origin + location.pathname,
        chat: chat.token || "",
      }),
      credentials: "omit",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(serverText(body.message, "startFailed"));
          return body;
        });
      })
      .then(function (body) {
        state.token = body.token;
        state.code = body.code;
        state.codeDisplay = body.code_display;
        save();
        setStatus("waiting");
        if (hadFocus) ui.exit.focus();
        emit("started", { code: body.code });
        connect();
        return Cobrowse.state();
      })
      .catch(function (error) {
        setStatus("idle");
        notify(error instanceof TypeError ? t("startFailed") : error.message || t("startFailed"), "error");
        emit("error", { message: String(error.message || error) });
        return Cobrowse.state();
      });
  }

  function exit() {
    if (!state.token) return;
    transport.send({ type: "exit" });
    // The server confirms with an "ended" frame; if the socket is down, end locally anyway.
    if (!transport.isOpen()) finish(t("endedByCustomer"));
  }

  function finish(message) {
    stopRecording();
    transport.close();
    forget();
    state.token = null;
    state.agent = null;
    setStatus("ended");
    hidePointer();
    notify(message, "info");
    emit("ended", { message: message });
  }

  // ---------------------------------------------------------------------------
  // Transport: a WebSocket that queues while closed and reconnects on abnormal closes only
  // ---------------------------------------------------------------------------

  // One wrapper per socket (co-browse and chat): queues while closed, resets retries on open,
  // reconnects with capped, jittered back-off on abnormal closes only, never on 4xxx refusals.
  function createTransport(options) {
    var socket = null;
    var queue = [];
    var retries = 0;
    var timer = null;
    var stopped = false;

    function open() {
      stopped = false;
      clearTimeout(timer);
      socket = openSocket(config.server.replace(/^http/, "ws") + options.path());
      socket.onopen = function () {
        retries = 0;
        if (options.onOpen) options.onOpen();
        var pending = queue;
        queue = [];
        pending.forEach(function (text) {
          socket.send(text);
        });
      };
      socket.onmessage = function (message) {
        var data;
        try {
          data = parse(message.data);
        } catch {
          return;
        }
        options.onFrame(data);
      };
      socket.onclose = function (event) {
        socket = null;
        if (stopped) return;
        if (event.code >= 4000 && event.code < 5000) {
          options.onRefused(event.code, event.reason);
          return;
        }
        var delay = Math.min(config.reconnectMax, 500 * Math.pow(2, retries));
        delay = delay / 2 + Math.random() * (delay / 2);
        retries += 1;
        timer = setTimeout(open, delay);
      };
    }

    function deliver(payload) {
      if (socket && socket.readyState === SOCKET_OPEN) socket.send(payload);
      else queue.push(payload);
    }

    // Frames go in the order they were made: while a large one is being deflated, later ones
    // wait for it (frontend/deflate.js).
    var pending = null;

    function after(work) {
      // A frame that failed is dropped (its gap asks for a snapshot); the ones after it still go.
      var mine = (pending || Promise.resolve()).then(work).catch(function () {});
      pending = mine;
      mine.then(function () {
        if (pending === mine) pending = null;
      });
    }

    return {
      open: open,
      isOpen: function () {
        return !!socket && socket.readyState === SOCKET_OPEN;
      },
      send: function (data) {
        var text = typeof data === "string" ? data : stringify(data);
        if (!pending) deliver(text);
        else after(function () { deliver(text); });
      },
      // A large frame: deflated into one binary message when the browser can and it fits,
      // else `fallback()`'s text frames (chunks).
      sendLarge: function (text, fallback) {
        var made = deflate(text);
        after(function () {
          return made.then(function (bytes) {
            if (bytes && bytes.length <= MAX_FRAME_BYTES) deliver(bytes);
            else fallback().forEach(deliver);
          });
        });
      },
      close: function () {
        stopped = true;
        queue = [];
        clearTimeout(timer);
        if (socket) socket.close(1000);
        socket = null;
      },
    };
  }

  var transport = createTransport({
    path: function () {
      // `session` is for the load balancer only (both sockets of a session on one worker:
      // docs/operations.md); the server goes by the token.
      return (
        "/ws/customer/?token=" +
        encodeURIComponent(state.token) +
        "&session=" +
        encodeURIComponent(state.code || "")
      );
    },
    onOpen: function () {
      seq = 1;
    },
    onFrame: function (data) {
      onServerFrame(data);
    },
    onRefused: function (code) {
      onRefused(code);
    },
  });

  var lastError = null;

  function connect() {
    transport.open();
  }

  function onRefused(code) {
    if (code === 4001) {
      // Another tab or page of this customer took over the session.
      stopRecording();
      hidePointer();
      return;
    }
    finish(lastError || t("ended"));
  }

  function onServerFrame(data) {
    switch (data.type) {
      case "state":
        state.code = data.session.code;
        state.codeDisplay = data.session.code_display;
        state.agent = data.agent;
        state.mode = data.mode;
        state.writeEnabled = data.write_mode_enabled;
        setStatus(data.agent ? "active" : "waiting");
        prefetchPolicy(); // so that the agent's first view does not wait for it
        break;
      case "write.request":
        askForWriteMode(data.agent, data.timeout);
        break;
      case "write.lapsed":
        closeDialog();
        notify(t("writeLapsed"), "info");
        break;
      case "mode":
        state.mode = data.mode;
        closeDialog();
        render();
        focusSwitchOnceEnabled();
        notify(modeText(data.mode, data.by), "info");
        emit("mode", { mode: data.mode, by: data.by });
        break;
      case "agent.command":
        applyCommand(data.command || {});
        break;
      case "snapshot.request":
        snapshot();
        break;
      case "agent.joined":
        state.agent = data.agent;
        state.agentAway = false;
        setStatus("active");
        beat(); // the agent's readout gets this page's clock at once
        notify(t("agentJoined", { agent: data.agent || t("theAgent") }), "info");
        emit("agent-joined", { agent: data.agent });
        break;
      case "agent.disconnected":
        state.agentAway = true;
        render();
        var grace = data.grace || 120;
        var time = grace % 60 && grace < 90
          ? t("seconds", { count: Math.max(1, Math.round(grace)) })
          : t("minutes", { count: Math.round(grace / 60) });
        notify(t("agentDropped", { time: time }), "info");
        stopRecording();
        hidePointer();
        emit("agent-left", {});
        break;
      case "pong":
        clock.answer(data);
        break;
      case "agent.pointer":
        showPointer(data.x, data.y);
        break;
      case "agent.click":
        showPointer(data.x, data.y);
        clickCircle(data.x, data.y);
        break;
      case "agent.annotate":
        if (annotations) annotations.stroke(data.points);
        break;
      case "agent.annotate.clear":
        if (annotations) annotations.clear();
        break;
      case "agent.spotlight":
        if (annotations) annotations.spotlight(data.id);
        break;
      case "ended":
        lastError = endedText(data.reason, data.message);
        finish(lastError);
        break;
      case "error":
        lastError = errorText(data.code, data.message);
        if (data.code === "session_not_found" || data.code === "foreign_origin") {
          finish(lastError);
        }
        emit("error", { code: data.code, message: data.message });
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------------------
  // Capture: rrweb, batched, with the widget itself left out of the recording
  // ---------------------------------------------------------------------------

  var stopFn = null;
  var buffer = [];
  var seq = 1;
  var flushTimer = null;
  var lastFlush = 0;
  var hiddenIds = new Set();
  // Selects and textareas: the real choice and text of unmasked ones (frontend/widget/formstate.js).
  var formState = createFormState({
    getMirror: function () { return record.mirror; },
    isMasked: function (element) { return isMasked(element); },
    recording: function () { return !!stopFn; },
    emit: function (event) { capture(event); },
  });
  // The pointer's resting place, which rrweb's sampling can drop (frontend/widget/pointer.js).
  var pointerTrail = createPointerTrail({
    getMirror: function () { return record.mirror; },
    recording: function () { return !!stopFn; },
    emit: function (event) { capture(event); },
  });

  function snapshot() {
    if (stopFn) {
      record.takeFullSnapshot(true);
      return;
    }
    if (starting) return;
    starting = true;
    // Nothing is recorded without the site's policy: privacy first, even if that means no mirror.
    freshPolicy()
      .then(function (loaded) {
        starting = false;
        if (state.status !== "active" && state.status !== "waiting") return;
        policy = createPolicy(loaded.raw, wasPasswordField, loaded.pathname);
        if (location.pathname !== policy.pathname) {
          snapshot(); // the page moved on while the policy loaded: load the new page's
          return;
        }
        hiddenIds = new Set();
        stopFn = record({
          emit: capture,
          blockSelector: policy.block,
          maskTextSelector: policy.maskTextSelector,
          maskTextFn: function (text) {
            return policy.stars(text);
          },
          maskInputOptions: ALL_INPUTS,
          maskInputFn: function (text, element) {
            return isMasked(element) ? policy.stars(text) : text;
          },
          sampling: { mousemove: 50, scroll: 50, media: 800 },
          recordCanvas: false,
          collectFonts: false,
          inlineStylesheet: true,
          slimDOMOptions: { script: true, comment: true, headFavicon: true, headWhitespace: true },
        });
      })
      .catch(function () {
        starting = false;
        notify(t("policyFailed"), "error");
      });
  }

  // The page's path changed while recording (single-page navigation): send what belongs to the
  // old page, stop, and record again once this page's policy is loaded. Nothing of the new page
  // is sent under the old page's rules.
  function pageChanged() {
    if (!stopFn) return;
    flush();
    stopRecording();
    snapshot();
  }

  function watchNavigation() {
    ["pushState", "replaceState"].forEach(function (name) {
      var original = history[name];
      if (typeof original !== "function") return;
      history[name] = function () {
        var result = original.apply(this, arguments);
        if (policy && location.pathname !== policy.pathname) pageChanged();
        return result;
      };
    });
    // Capture listeners on the target run before the page's own (a router re-rendering).
    ["popstate", "hashchange"].forEach(function (name) {
      window.addEventListener(name, function () {
        if (policy && location.pathname !== policy.pathname) pageChanged();
      }, true);
    });
  }

  function stopRecording() {
    if (stopFn) stopFn();
    stopFn = null;
    if (annotations) annotations.reset();
    pointerTrail.reset();
    buffer = [];
    clearTimeout(flushTimer);
    flushTimer = null;
  }

  function capture(event) {
    // An event of a page whose path the policy was not loaded for is never sent: the page
    // changed under the recording (pushState, popstate, ...). Record it again with its policy.
    if (policy && location.pathname !== policy.pathname) {
      pageChanged();
      return;
    }
    formState.observe(event);
    if (!guard(event)) return;
    buffer.push(event);
    if (event.type === EVENT_FULL_SNAPSHOT) {
      flush();
      return;
    }
    if (flushTimer) return;
    var wait = Math.max(0, config.flushInterval - (Date.now() - lastFlush));
    flushTimer = setTimeout(flush, wait);
  }

  function flush() {
    clearTimeout(flushTimer);
    flushTimer = null;
    if (!buffer.length) return;
    lastFlush = Date.now();
    var text = stringify({ type: "events", seq: seq, events: buffer });
    var frameSeq = seq;
    seq += 1;
    buffer = [];
    if (text.length < COMPRESS_MIN || (!canDeflate() && text.length <= config.chunkSize)) {
      transport.send(text);
      return;
    }
    transport.sendLarge(text, function () {
      return text.length <= config.chunkSize ? [text] : chunks(text, frameSeq);
    });
  }

  // daphne refuses WebSocket messages over 1 MiB: send large frames in chunks, each checked in
  // bytes after JSON escaping, never splitting a surrogate pair.
  var MAX_FRAME_BYTES = 1000000;
  var encoder = new TextEncoder();

  function chunks(text, frameSeq) {
    var frames = [];
    var start = 0;
    var part = 0;
    while (start < text.length) {
      var size = config.chunkSize;
      var frame;
      for (;;) {
        var end = Math.min(text.length, start + size);
        var code = text.charCodeAt(end - 1);
        if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
        frame = stringify({
          type: "chunk",
          seq: frameSeq,
          part: part,
          last: end >= text.length,
          data: text.slice(start, end),
        });
        if (encoder.encode(frame).length <= MAX_FRAME_BYTES || size < 1024) break;
        size = Math.floor(size / 2);
      }
      frames.push(frame);
      start = end;
      part += 1;
    }
    return frames;
  }

  // Drop the widget's own element from snapshots and from everything that refers to it,
  // and apply the privacy policy to what rrweb lets through.
  function guard(event) {
    if (event.type === EVENT_META && event.data) {
      event.data.href = policy.cleanUrl(event.data.href); // path only, never the query
      return true;
    }
    if (event.type === EVENT_FULL_SNAPSHOT) {
      prune(event.data.node);
      protectTree(event.data.node);
      return true;
    }
    if (event.type !== EVENT_INCREMENTAL) return true;
    var data = event.data;
    if (data.source === SOURCE_INPUT) {
      var input = record.mirror.getNode(data.id);
      if (!input || isMasked(input)) {
        // Which radio or checkbox of a masked group changed would tell the agent the choice.
        if (!input || policy.isChoice(input)) return false;
        data.text = policy.stars(data.text || "");
        data.isChecked = false;
      }
    }
    if (data.source === SOURCE_MOUSE_INTERACTION) {
      // Clicks, focus and blur on a masked node identify it: never sent.
      var touched = record.mirror.getNode(data.id);
      if (!touched || isMasked(touched) || policy.labelsMasked(touched)) return false;
    }
    if (data.source === SOURCE_MUTATION) {
      data.adds = data.adds.filter(function (add) {
        if (hiddenIds.has(add.parentId)) return false;
        if (add.node && add.node.tagName === "cobrowse-widget") {
          hiddenIds.add(add.node.id);
          return false;
        }
        // A node added on its own inherits its parent's mask (across shadow roots and frames,
        // where rrweb's own check stops).
        protectTree(add.node, containerKind(record.mirror.getNode(add.parentId)));
        return true;
      });
      data.texts.forEach(function (t) {
        var node = record.mirror.getNode(t.id);
        var parent = node && node.parentElement;
        if (t.value && (!parent || isMasked(parent))) t.value = policy.stars(t.value);
      });
      data.attributes.forEach(function (a) {
        var node = record.mirror.getNode(a.id);
        var kind = node && node.nodeType === 1 ? policy.maskKind(node) : "input";
        if (kind) {
          policy.scrubAttributes(a.attributes, false, kind);
          // A class or style that changes with the value (a chosen radio card, a validation
          // state) tells the agent about it: changes on masked nodes are not sent.
          delete a.attributes["class"];
          delete a.attributes.style;
        }
        if (node && node.nodeType === 1) markAttributes(node, a.attributes, kind);
      });
      data.removes = data.removes.filter(function (r) {
        return !hiddenIds.has(r.id);
      });
      data.texts = data.texts.filter(function (t) {
        return !hiddenIds.has(t.id);
      });
      data.attributes = data.attributes.filter(function (a) {
        return !hiddenIds.has(a.id);
      });
      return data.adds.length + data.removes.length + data.texts.length + data.attributes.length > 0;
    }
    return !(data.id !== undefined && hiddenIds.has(data.id));
  }

  // ---------------------------------------------------------------------------
  // Policy: the site's rules plus secure defaults, applied before anything leaves the page
  // ---------------------------------------------------------------------------

  var SOURCE_INPUT = 5;
  var SOURCE_MOUSE_INTERACTION = 2;
  var ALL_INPUTS = {
    input: true, textarea: true, select: true, text: true, password: true, hidden: true,
    email: true, tel: true, url: true, search: true, number: true, range: true, color: true,
    date: true, "datetime-local": true, month: true, time: true, week: true, checkbox: true,
    radio: true,
  };

  var policy = null;
  var starting = false;
  // Fields that were a password at any moment this page was open, whether or not co-browse had
  // started: a "show password" switch never reveals them. Watched from the moment the widget loads.
  var wasPassword = new WeakSet();
  // ... and by name and id, for a page that replaces the field with a new one to "show" it.
  var passwordNames = new Set();
  var passwordIds = new Set();

  function wasPasswordField(element) {
    if (wasPassword.has(element)) return true;
    if (element.localName !== "input") return false;
    var name = element.getAttribute("name");
    var id = element.getAttribute("id");
    return (!!name && passwordNames.has(name)) || (!!id && passwordIds.has(id));
  }

  function rememberAsPassword(element) {
    wasPassword.add(element);
    var name = element.getAttribute && element.getAttribute("name");
    var id = element.getAttribute && element.getAttribute("id");
    if (name) passwordNames.add(name);
    if (id) passwordIds.add(id);
  }

  // The policy fetched when this page's socket opened, used if it is still fresh when the agent
  // asks for the page; an older one is fetched again (an administrator may have changed rules).
  var POLICY_MAX_AGE = 30000;
  var prefetched = null;

  function prefetchPolicy() {
    if (prefetched && Date.now() - prefetched.at < POLICY_MAX_AGE) return;
    prefetched = { at: Date.now(), promise: loadPolicy() };
    prefetched.promise.catch(function () {
      prefetched = null;
    });
  }

  function freshPolicy() {
    var entry = prefetched;
    prefetched = null;
    if (entry && Date.now() - entry.at < POLICY_MAX_AGE) return entry.promise;
    return loadPolicy(); // a policy for another path is caught when it arrives
  }

  // Resolves with the policy and the path it was fetched for.
  function loadPolicy() {
    var pathname = location.pathname;
    // The server needs the page's path to pick URL-scoped rules; never the query or fragment.
    var url =
      config.server + "/api/v1/sites/" + encodeURIComponent(config.site) +
      "/policy?url=" + encodeURIComponent(location.origin + pathname);
    return fetchUrl(url, { credentials: "omit" }).then(function (response) {
      if (!response.ok) throw new Error("policy " + response.status);
      return response.json().then(function (raw) {
        return { raw: raw, pathname: pathname };
      });
    });
  }

  function isMasked(element) {
    if (!policy) return !!element;
    return policy.isMasked(element);
  }

  function rememberPassword(element) {
    if (element && element.nodeType === 1 && element.localName === "input") {
      if ((element.getAttribute("type") || "").toLowerCase() === "password") rememberAsPassword(element);
    }
  }

  function watchPasswords(doc) {
    doc = doc || document;
    if (doc.__cobrowsePasswords) return;
    doc.__cobrowsePasswords = true;
    doc.querySelectorAll("input[type=password i]").forEach(rememberAsPassword);
    // Every switch of a type attribute in the document, with the value it had before.
    new (mutationObserver())(function (records) {
      records.forEach(function (r) {
        if (r.oldValue && r.oldValue.toLowerCase() === "password") rememberAsPassword(r.target);
        rememberPassword(r.target);
      });
    }).observe(doc, {
      subtree: true,
      attributes: true,
      attributeFilter: ["type"],
      attributeOldValue: true,
    });
    // Fields in shadow roots the observer cannot see: whatever the customer focuses or types
    // into while it is a password.
    ["focusin", "input", "keydown"].forEach(function (name) {
      doc.addEventListener(name, function (event) {
        rememberPassword(event.composedPath ? event.composedPath()[0] : event.target);
      }, true);
    });
    // Same-origin frames are part of the page: watch them too, now and whenever one loads.
    doc.querySelectorAll("iframe").forEach(watchFrame);
    doc.addEventListener("load", function (event) {
      if (event.target && event.target.localName === "iframe") watchFrame(event.target);
    }, true);
  }

  // Every navigation of this window (or a same-origin frame) that no person started, shortly after
  // an agent's command: a form submission (any route, any timing: requestSubmit() after an await,
  // form.submit() through a saved reference) or a page leaving the site is cancelled.
  function guardNavigations(win) {
    var nav = win.navigation;
    if (!nav || nav.__cobrowseGuard) return;
    nav.__cobrowseGuard = true;
    nav.addEventListener("navigate", function (event) {
      if (!policy || !event.cancelable || !agentsDoing()) return;
      var submits = !!event.formData && policy.submitRestricted;
      var leaves = !policy.sameSite(event.destination.url);
      if (!submits && !leaves) return;
      event.preventDefault();
      refuse(submits ? "Only the customer can submit this form." : "That would take the page off the site.");
    });
  }

  function watchFrame(frame) {
    try {
      if (frame.contentWindow) {
        guardNavigations(frame.contentWindow);
        guardSubmissions(frame.contentWindow);
      }
      if (frame.contentDocument) watchPasswords(frame.contentDocument);
    } catch {
      /* a cross-origin frame is not ours to read, nor recorded */
    }
  }

  // The mask covering what is added into this node: an element's own, a shadow root's host's, a
  // frame document's <iframe>'s; a parent rrweb no longer knows is masked.
  function containerKind(node) {
    if (!node) return "input";
    if (node.nodeType === 1) return policy.maskKind(node);
    if (node.nodeType === 11) return hostOf(node) ? policy.maskKind(hostOf(node)) : null;
    if (node.nodeType === 9) {
      try {
        var frame = node.defaultView && node.defaultView.frameElement;
        return frame ? policy.maskKind(frame) : null;
      } catch {
        return "input";
      }
    }
    return null;
  }

  // `kind`: the mask already worked out for the element (its own or an ancestor's).
  function markAttributes(element, attrs, kind) {
    if (kind) attrs[MASK_ATTR] = kind;
    var restrict = policy.ownRestrictKind(element);
    if (restrict) attrs[RESTRICT_ATTR] = restrict;
  }

  // Mark masked and restricted nodes for the agent's boxes; scrub what rrweb serialized as-is.
  // The walk carries the mask down (`insideMasked`), so each node checks only its own rules: one
  // pass over the tree, not one walk up the ancestors per node.
  function protectTree(node, insideMasked) {
    if (!node || !policy) return;
    if (node.type === 2) {
      var element = record.mirror.getNode(node.id);
      var attrs = node.attributes || (node.attributes = {});
      var kind = (element ? policy.ownMaskKind(element) : "input") || insideMasked;
      if (element) markAttributes(element, attrs, kind);
      if (kind) policy.scrubAttributes(attrs, true, kind);
      (node.childNodes || []).forEach(function (child) {
        protectTree(child, kind);
      });
      return;
    }
    if (node.type === 3 && insideMasked && node.textContent) {
      node.textContent = policy.stars(node.textContent);
    }
    (node.childNodes || []).forEach(function (child) {
      protectTree(child, insideMasked);
    });
  }

  function prune(node) {
    if (!node || !node.childNodes) return;
    node.childNodes = node.childNodes.filter(function (child) {
      if (child.tagName === "cobrowse-widget") {
        hiddenIds.add(child.id);
        return false;
      }
      return true;
    });
    node.childNodes.forEach(prune);
  }

  // ---------------------------------------------------------------------------
  // Chat: "Chat with us", a transcript that survives navigation, nothing typed is lost
  // ---------------------------------------------------------------------------

  var CHAT_KEY = "cobrowse-chat:" + config.site;
  var chat = { token: null, id: null, agent: null, messages: [], pending: [], open: false };

  var chatSocket = createTransport({
    path: function () {
      return "/ws/chat/?token=" + encodeURIComponent(chat.token);
    },
    onFrame: onChatFrame,
    onRefused: function () {
      endChat(chat.lastMessage || t("chatEnded"));
    },
  });

  function saveChat() {
    try {
      sessionStorage.setItem(
        CHAT_KEY,
        stringify({ token: chat.token, id: chat.id, pending: chat.pending, open: chat.open })
      );
    } catch {
      /* storage disabled: the chat lasts as long as this page */
    }
  }

  function loadChat() {
    try {
      return parse(sessionStorage.getItem(CHAT_KEY) || "null");
    } catch {
      return null;
    }
  }

  function newClientId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  function sendChat() {
    var text = ui.chatInput.value.trim();
    if (!text) return;
    ui.chatInput.value = "";
    var message = { client_id: newClientId(), text: text };
    chat.pending.push(message);
    saveChat();
    renderChat();
    if (chat.token) {
      chatSocket.send({ type: "message", text: text, client_id: message.client_id });
      return;
    }
    ui.chatSend.disabled = true;
    fetchUrl(config.server + "/api/v1/chats/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: stringify({ site: config.site, name: ui.chatName.value.trim() }),
      credentials: "omit",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(serverText(body.message, "chatUnavailable"));
          return body;
        });
      })
      .then(function (body) {
        chat.token = body.token;
        chat.id = body.id;
        saveChat();
        chatSocket.open(); // pending messages are sent once the transcript has arrived
      })
      .catch(function (error) {
        notify(error instanceof TypeError ? t("chatUnavailable") : error.message, "error");
      })
      .then(function () {
        ui.chatSend.disabled = false;
        renderChat();
      });
  }

  function onChatFrame(data) {
    if (data.type === "state") {
      chat.messages = data.messages || [];
      chat.agent = data.agent;
      // Anything typed that the server has not stored yet is sent again (stored once).
      var stored = {};
      chat.messages.forEach(function (m) {
        stored[m.client_id] = true;
      });
      chat.pending = chat.pending.filter(function (p) {
        return !stored[p.client_id];
      });
      chat.pending.forEach(function (p) {
        chatSocket.send({ type: "message", text: p.text, client_id: p.client_id });
      });
      saveChat();
      renderChat();
    } else if (data.type === "message") {
      var m = data.message;
      if (!chat.messages.some(function (x) { return x.id === m.id; })) chat.messages.push(m);
      chat.pending = chat.pending.filter(function (p) {
        return p.client_id !== m.client_id;
      });
      if (m.sender === "system" && /^accepted-/.test(m.client_id || "")) chat.agent = agentOf(m);
      saveChat();
      renderChat();
      if (m.sender === "agent" && !chat.open) notify(t("chatNewMessage"), "info");
    } else if (data.type === "ended") {
      chat.lastMessage = chatEndedText(data.by, data.message);
      endChat(chat.lastMessage);
    } else if (data.type === "error") {
      notify(serverText(data.message, "chatUnavailable"), "error");
    }
  }

  function endChat(message) {
    chatSocket.close();
    chat.token = null;
    chat.id = null;
    chat.pending = [];
    try {
      sessionStorage.removeItem(CHAT_KEY);
    } catch {
      /* nothing stored */
    }
    chat.messages.push({ id: -Date.now(), sender: "system", text: message });
    chat.ended = true;
    renderChat();
    notify(message, "info");
  }

  function toggleChat(open) {
    chat.open = open;
    if (open && chat.ended) {
      chat.ended = false;
      chat.messages = [];
    }
    saveChat();
    renderChat();
    if (open) ui.chatInput.focus();
  }

  function renderChat() {
    if (!ui.chatPanel) return;
    ui.chatPanel.hidden = !chat.open;
    ui.chatOpen.hidden = chat.open;
    ui.chatName.hidden = !!chat.token || chat.messages.length > 0;
    ui.chatEnd.hidden = !chat.token;
    ui.chatStatus.textContent = !chat.token
      ? t("chatIntro")
      : chat.agent
        ? t("chatWith", { agent: chat.agent })
        : t("chatWaiting");
    while (ui.chatLog.firstChild) ui.chatLog.removeChild(ui.chatLog.firstChild);
    chat.messages.concat(chat.pending.map(function (p) {
      return { sender: "customer", text: p.text, pending: true };
    })).forEach(function (m) {
      var who = m.sender === "customer" ? t("chatYou") : m.sender === "agent" ? chat.agent || t("agentLabel") : "";
      var line = el("div", { class: "msg " + m.sender + (m.pending ? " pending" : "") });
      if (who) line.appendChild(el("b", { text: who + ": " }));
      line.appendChild(document.createTextNode(m.sender === "system" ? systemText(m) : m.text));
      ui.chatLog.appendChild(line);
    });
    ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  }

  // ---------------------------------------------------------------------------
  // Remote control: the agent's commands, applied the way the customer's own input would be
  // ---------------------------------------------------------------------------

  function refuse(message) {
    transport.send({ type: "refused", message: message });
  }

  // True while an agent's command runs: whatever the page does in response (a submit handler,
  // form.submit(), requestSubmit()) is the agent's doing and is held to the same rules.
  var applyingCommand = false;
  // What the page does a little later (after an await, a timer) still counts as the agent's: for
  // this long after a command, navigations no person started are held to the same rules.
  var AGENT_AFTERMATH = 1500;
  var agentActedAt = -Infinity;

  function applyCommand(command) {
    if (state.mode !== "write") return refuse("The page is not in write mode.");
    if (!policy) return refuse("The page is still loading.");
    if (command.type === "navigate") return navigate(command);
    var target = record.mirror.getNode(command.id);
    if (command.type === "scroll") return scrollTo(target, command);
    // Setting a checked state clicks the element: it is held to the rules of a click.
    var acts = command.type === "input" && typeof command.checked === "boolean" ? "click" : command.type;
    var why = policy.refusal(target, acts);
    if (why) return refuse(why);
    applyingCommand = true;
    agentActedAt = Date.now();
    var restore = holdSubmissions();
    try {
      runCommand(target, command);
    } finally {
      restore();
      applyingCommand = false;
    }
  }

  // The agent's scroll, in write mode: the page or a scrolled box of it. Scrolling acts on no
  // control, so it does not count as the agent's doing (agentsDoing); masked or restricted boxes
  // keep the customer's own scroll.
  function scrollTo(target, command) {
    var x = Number(command.x) || 0;
    var y = Number(command.y) || 0;
    if (target && target.nodeType === 9 && target.defaultView) {
      target.defaultView.scrollTo(x, y);
      return;
    }
    if (!target || target.nodeType !== 1) return refuse("That part of the page is no longer there.");
    if (policy.isMasked(target) || policy.restrictKind(target)) {
      return refuse("That box is restricted: only the customer can scroll it.");
    }
    target.scrollTo(x, y);
  }

  function runCommand(target, command) {
    if (command.type === "click") {
      if (command.x !== undefined) {
        showPointer(command.x, command.y);
        clickCircle(command.x, command.y);
      }
      if (target.matches('input[type="file" i]')) {
        return refuse("File pickers open only for the customer's own click: ask them to choose the file.");
      }
      if (typeof target.click === "function") target.click();
      else target.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true })); // SVG
      return;
    }
    if (command.type === "focus") {
      target.focus();
      return;
    }
    if (command.type === "input") setValue(target, command);
  }

  // form.submit() fires no submit event: while a command runs, both routes are refused.
  function holdSubmissions() {
    var restores = [window];
    document.querySelectorAll("iframe").forEach(function (frame) {
      try {
        if (frame.contentWindow && frame.contentWindow.HTMLFormElement) restores.push(frame.contentWindow);
      } catch {
        /* cross-origin: not ours */
      }
    });
    restores = restores.map(function (win) {
      var proto = win.HTMLFormElement.prototype;
      var saved = { submit: proto.submit, requestSubmit: proto.requestSubmit, reset: proto.reset };
      ["submit", "requestSubmit", "reset"].forEach(function (name) {
        proto[name] = function () {
          refuse("Only the customer can " + (name === "reset" ? "reset" : "submit") + " this form.");
        };
      });
      return function () {
        proto.submit = saved.submit;
        proto.requestSubmit = saved.requestSubmit;
        proto.reset = saved.reset;
      };
    });
    return function () {
      restores.forEach(function (restore) {
        restore();
      });
    };
  }

  // The customer's own hand: a real key or pointer press since the agent's last command makes
  // what follows the customer's doing again.
  var customerActedAt = -Infinity;

  // Is what the page is doing now the agent's doing? While a command runs, and for a moment
  // after it (a script's await or timer), unless the customer has acted since.
  function agentsDoing() {
    if (applyingCommand) return true;
    return Date.now() - agentActedAt < AGENT_AFTERMATH && customerActedAt < agentActedAt;
  }

  // Any submission or reset that starts as the agent's doing (Enter, a script reacting to the
  // agent's input, requestSubmit() after an await) is cancelled before the page's own handlers
  // (window capture runs first) or the form's server see it.
  function guardSubmissions(win) {
    if (win.__cobrowseSubmitGuard) return;
    win.__cobrowseSubmitGuard = true;
    ["submit", "reset"].forEach(function (name) {
      win.addEventListener(name, function (event) {
        if (!policy || !policy.submitRestricted || !agentsDoing()) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        refuse("Only the customer can " + name + " this form.");
      }, true);
    });
    ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
      win.addEventListener(name, function (event) {
        if (event.isTrusted) customerActedAt = Date.now();
      }, true);
    });
  }

  // Native setters plus input/change events, so that framework-driven pages react.
  function setValue(target, command) {
    var tag = target.tagName;
    if (typeof command.checked === "boolean") {
      if (target.checked !== command.checked) target.click();
      return;
    }
    var value = String(command.value);
    if (target.isContentEditable) {
      target.textContent = value;
      target.dispatchEvent(new InputEvent("input", { bubbles: true }));
      return;
    }
    var proto =
      tag === "SELECT" ? HTMLSelectElement.prototype :
      tag === "TEXTAREA" ? HTMLTextAreaElement.prototype :
      tag === "INPUT" ? HTMLInputElement.prototype : null;
    if (!proto) return refuse("That element does not take typing.");
    if (tag === "INPUT" && target.type === "file") return refuse("Only the customer can choose files.");
    Object.getOwnPropertyDescriptor(proto, "value").set.call(target, value);
    target.dispatchEvent(new Event("input", { bubbles: true }));
    target.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Back and forward stay on the site: the Navigation API lists only this origin's entries, so
  // an entry before (or after) the current one is a page of the site.
  function historyStep(step) {
    var nav = window.navigation;
    if (!nav || !nav.currentEntry) return refuse("This browser cannot tell where that leads.");
    var index = nav.currentEntry.index + step;
    if (index < 0 || index >= nav.entries().length) {
      return refuse(step < 0 ? "Going back would leave the site." : "Going forward would leave the site.");
    }
    history.go(step);
  }

  function navigate(command) {
    if (command.action === "back") historyStep(-1);
    else if (command.action === "forward") historyStep(1);
    else if (command.action === "refresh") location.reload();
    else if (command.action === "url") {
      if (!policy.sameSite(command.url)) return refuse("That address is outside the site.");
      location.assign(command.url);
    }
  }

  // Consent is a deliberate act: the dialog never takes focus from what the customer is doing,
  // and a click that lands in the first moment after it appears (aimed at what was there) or
  // that no person made (a script's synthetic click) does not count.
  var CONSENT_ARM_DELAY = 700;

  function askForWriteMode(agent, timeout) {
    ui.dialogText.textContent = t("writeRequest", { agent: agent || t("theAgent") });
    ui.dialog.hidden = false;
    ui.dialogShownAt = Date.now();
    // Announced without taking focus from what the customer is doing, with the way to answer.
    announce(t("writeRequest", { agent: agent || t("theAgent") }) + " " + t("answerShortcut"));
    // Allow is disabled for a moment, so that a click aimed at what was there before, or a key
    // already on its way, cannot give consent.
    ui.approve.disabled = true;
    clearTimeout(ui.armTimer);
    ui.armTimer = setTimeout(function () {
      ui.approve.disabled = false;
    }, CONSENT_ARM_DELAY);
    clearTimeout(ui.dialogTimer);
    ui.dialogTimer = setTimeout(closeDialog, (timeout || 30) * 1000);
  }

  function deliberate(event) {
    return event.isTrusted && Date.now() - (ui.dialogShownAt || 0) >= CONSENT_ARM_DELAY;
  }

  function deny() {
    closeDialog();
    transport.send({ type: "write.deny" });
  }

  function closeDialog() {
    if (!ui.dialog) return;
    // A keyboard user who answered is not left on nothing: focus goes to the mode switch (or the
    // exit button). Focus elsewhere on the page is never moved.
    var hadFocus = contains(ui.dialog, ui.root.activeElement);
    ui.dialog.hidden = true;
    clearTimeout(ui.dialogTimer);
    if (!hadFocus) return;
    // The switch is enabled once write mode is on: focus waits on the exit button until then.
    ui.exit.focus();
    ui.focusSwitch = true;
  }

  function focusSwitchOnceEnabled() {
    if (!ui.focusSwitch) return;
    ui.focusSwitch = false;
    if (ui.root.activeElement === ui.exit && !ui.toggle.disabled && !ui.toggle.hidden) ui.toggle.focus();
  }

  // Alt+Shift+C (Option+Shift+C) takes the keyboard to the widget: to the write mode request when
  // one is open, else the open chat, the session's controls or Start Co-browse. Escape in the
  // request denies it. The widget never takes focus by itself.
  document.addEventListener("keydown", function (event) {
    if (!ui.root) return;
    if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && event.code === "KeyC") {
      event.preventDefault();
      var target = !ui.dialog.hidden ? ui.deny
        : !ui.chatPanel.hidden ? ui.chatInput
          : !ui.panel.hidden ? (ui.toggle.hidden || ui.toggle.disabled ? ui.exit : ui.toggle)
            : ui.launch;
      target.focus();
    }
  }, true);

  function spokenCode(display) {
    return display.split(" ").map(function (group) {
      return group.split("").join(" ");
    }).join(", ");
  }

  // A hidden page (another tab, minimised) does not keep write mode. A page being left also turns
  // hidden for a moment: that is navigation, which keeps write mode, so wait before deciding.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "hidden" || state.mode !== "write") return;
    setTimeout(function () {
      if (document.visibilityState === "hidden" && state.mode === "write" && transport.isOpen()) {
        transport.send({ type: "mode.pointer", reason: "hidden" });
      }
    }, 1000);
  });

  // ---------------------------------------------------------------------------
  // UI: one <cobrowse-widget> element with an open shadow root
  // ---------------------------------------------------------------------------

  var ui = {};
  var annotations = null;

  var STYLE = [
    ":host{all:initial;position:fixed;top:0;left:0;width:0;height:0;z-index:2147483647}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".dock{position:fixed;bottom:20px;display:flex;flex-direction:column;gap:8px;align-items:flex-end}",
    ".dock.left{align-items:flex-start}",
    "button{cursor:pointer;border:0;border-radius:999px;font-size:14px;font-weight:600}",
    ".launch{background:#1f4fd1;color:#fff;padding:12px 18px;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".launch:hover,.launch:focus-visible{background:#173da6}.launch:active{background:#12318a}",
    ".launch[disabled]{opacity:.6;cursor:progress}",
    "button:focus-visible{outline:3px solid #111827;outline-offset:2px}",
    ".panel{background:#fff;color:#111;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);",
    "padding:14px 16px;min-width:260px;max-width:320px}",
    ".label{font-size:12px;color:#555;text-transform:uppercase;letter-spacing:.06em}",
    ".code{font-size:30px;font-weight:700;letter-spacing:.08em;margin:4px 0 6px;color:#111;",
    "font-variant-numeric:tabular-nums}",
    ".hint{font-size:13px;color:#444;margin:0}",
    ".bar{display:flex;align-items:center;gap:10px;margin-top:10px}",
    ".status{flex:1;font-size:13px;color:#1b5e20;font-weight:600}",
    ".status.waiting{color:#8a5a00}",
    ".globe{width:40px;height:40px;background:#c62828;color:#fff;display:flex;align-items:center;",
    "justify-content:center;padding:0}.globe:hover{background:#a31f1f}",
    ".globe svg{width:22px;height:22px}",
    ".toasts{display:flex;flex-direction:column;gap:6px;align-items:inherit}",
    ".toast{display:flex;align-items:flex-start;gap:8px;background:#222;color:#fff;padding:8px 8px 8px 12px;",
    "border-radius:8px;font-size:13px;line-height:1.35;box-shadow:0 4px 14px rgba(0,0,0,.3);max-width:300px}",
    ".toast.error{background:#b71c1c}",
    ".toast .dismiss{background:none;color:#fff;font-size:16px;line-height:1;padding:0 4px;border-radius:4px}",
    ".toast .dismiss:hover{background:rgba(255,255,255,.18)}.toast .dismiss:focus-visible{outline-color:#fff;outline-offset:0}",
    ".pointer{position:fixed;pointer-events:none;transition:transform 60ms linear;display:none}",
    ".pointer svg{width:22px;height:22px;filter:drop-shadow(0 1px 2px rgba(0,0,0,.5))}",
    ".pointer span{background:#1f4fd1;color:#fff;font-size:11px;padding:1px 6px;border-radius:8px;",
    "margin-left:14px;white-space:nowrap}",
    ".click{position:fixed;width:34px;height:34px;margin:-17px 0 0 -17px;border:4px solid #e53935;",
    "border-radius:50%;pointer-events:none;animation:ring 1s ease-out forwards}",
    "@keyframes ring{from{transform:scale(.4);opacity:1}to{transform:scale(1.4);opacity:0}}",
    ".notice{position:fixed;background:#4c1d95;color:#fff;font-size:12px;font-weight:600;line-height:16px;",
    "padding:3px 8px;border-radius:6px;pointer-events:none;box-shadow:0 2px 8px rgba(0,0,0,.25);white-space:nowrap}",
    ".notice svg{width:12px;height:12px;margin:0 5px -1px 0}",
    ".toggle{background:#eef2f6;color:#1d2433;padding:8px 12px;font-size:12px}",
    ".toggle[aria-checked=true]{background:#7c3aed;color:#fff}",
    ".toggle[disabled]{cursor:default;opacity:.8}",
    ".secondary{background:#eef2f6;color:#1d2433;padding:12px 18px}",
    ".consent{border:2px solid #7c3aed}",
    ".consent .bar{justify-content:flex-end}",
    ".secondary-launch{background:#fff;color:#1f4fd1;border:2px solid #1f4fd1}",
    ".secondary-launch:hover,.secondary-launch:focus-visible{background:#e8eefc;color:#173da6;border-color:#173da6}",
    ".secondary-launch:active{background:#d3defa;color:#12318a;border-color:#12318a}",
    ".chat{width:320px}.chat .head{margin-top:0;justify-content:space-between}",
    ".close{background:none;color:#555;font-size:20px;padding:0 4px}",
    ".close.end{font-size:12px;color:#b42318;margin-left:auto}",
    ".log{height:220px;overflow-y:auto;border:1px solid #e4e7ec;border-radius:8px;padding:8px;",
    "margin:8px 0;font-size:14px;display:flex;flex-direction:column;gap:6px;background:#f9fafb}",
    ".msg{line-height:1.35}.msg.system{color:#555;font-style:italic;font-size:13px}",
    ".msg.pending{color:#555;font-style:italic}",
    ".field{flex:1;border:1px solid #c5cbd6;border-radius:8px;padding:9px 10px;font-size:14px;width:100%}",
    ".chat .launch{padding:9px 14px}",
    "[hidden]{display:none!important}",
    ".ink{position:fixed;left:0;top:0;width:100vw;height:100vh;pointer-events:none;overflow:visible}",
    ".ink polyline{fill:none;stroke:#e53935;stroke-width:4;stroke-linecap:round;stroke-linejoin:round;",
    "opacity:.9;transition:opacity 1s}.ink polyline.fade{opacity:0}",
    ".spot{position:fixed;border:3px solid #f59e0b;border-radius:8px;pointer-events:none;",
    "box-shadow:0 0 0 3px rgba(245,158,11,.35)}",
    ".spot-arrow{position:fixed;width:32px;height:32px;border-radius:50%;background:#b45309;color:#fff;",
    "font:700 20px/32px system-ui,sans-serif;text-align:center;pointer-events:none}",
    ".ink-bar{margin-top:6px}.ink-toggle{padding:4px 10px}",
    "@media (max-width:480px){.dock{bottom:12px}.panel,.chat{max-width:calc(100vw - 24px)}",
    ".log{height:140px}.code{font-size:26px}}",
    ".sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
  ].join("");

  // Icons as data, built with createElementNS: no markup parsing, so no innerHTML (a Trusted
  // Types sink on pages that require them). Each entry: [tag, attributes, children].
  var GLOBE = ["svg", { viewBox: "0 0 24 24", fill: "none", stroke: "currentColor",
    "stroke-width": "2", "aria-hidden": "true" }, [
    ["circle", { cx: "12", cy: "12", r: "9" }],
    ["path", { d: "M3 12h18M12 3c2.5 2.6 3.8 5.6 3.8 9s-1.3 6.4-3.8 9" +
      "M12 3C9.5 5.6 8.2 8.6 8.2 12s1.3 6.4 3.8 9" }],
  ]];
  var LOCK = ["svg", { viewBox: "0 0 16 16", "aria-hidden": "true" }, [
    ["rect", { x: "3", y: "7", width: "10", height: "7", rx: "1.5", fill: "currentColor" }],
    ["path", { d: "M5.5 7V5a2.5 2.5 0 0 1 5 0v2", fill: "none", stroke: "currentColor",
      "stroke-width": "1.6" }],
  ]];
  var ARROW = ["svg", { viewBox: "0 0 24 24", "aria-hidden": "true" }, [
    ["path", { d: "M3 2l7 19 2.6-7.4L20 11z", fill: "#1f4fd1", stroke: "#fff",
      "stroke-width": "1.5" }],
  ]];
  var SVG_NS = "http://www.w3.org/2000/svg";

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key];
      else if (key === "class") node.className = props[key];
      else node.setAttribute(key, props[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  function icon(spec) {
    var node = document.createElementNS(SVG_NS, spec[0]);
    Object.keys(spec[1]).forEach(function (key) {
      node.setAttribute(key, spec[1][key]);
    });
    (spec[2] || []).forEach(function (child) {
      node.appendChild(icon(child));
    });
    return node;
  }

  // The widget's styles: a constructed stylesheet adopted by the shadow root, which a strict
  // style-src ('self', no 'unsafe-inline') allows; a <style> element (with the embed's nonce,
  // if the page gave one) only where constructed sheets are missing.
  function adoptStyles(root) {
    if (root.adoptedStyleSheets && typeof CSSStyleSheet === "function") {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        root.adoptedStyleSheets = [sheet];
        return;
      } catch {
        /* constructed sheets unsupported: fall back */
      }
    }
    var style = el("style", { text: STYLE });
    if (config.nonce) style.setAttribute("nonce", config.nonce);
    root.appendChild(style);
  }

  function mount() {
    var host = document.createElement("cobrowse-widget");
    host.setAttribute("dir", "ltr"); // the widget's languages are all left-to-right, whatever the page's
    host.setAttribute("lang", config.lang);
    var root = host.attachShadow({ mode: "open" });
    attachNatives(root); // live fetch and WebSocket if the page replaced its own
    adoptStyles(root);

    ui.launch = el("button", {
      class: "launch",
      type: "button",
      "data-testid": "cobrowse-start",
      text: t("start"),
    });
    ui.launch.addEventListener("click", start);

    // Shown as "411 410 254"; read out digit by digit, group by group ("4 1 1, 4 1 0, 2 5 4").
    ui.code = el("div", { class: "code", "data-testid": "cobrowse-session-id", "aria-hidden": "true" });
    ui.codeSpoken = el("span", { class: "sr" });
    ui.hint = el("p", { class: "hint" });
    ui.status = el("div", { class: "status", role: "status" });
    ui.exit = el("button", {
      class: "globe",
      type: "button",
      "data-testid": "cobrowse-exit",
      title: t("exit"),
      "aria-label": t("exit"),
    });
    ui.exit.appendChild(icon(GLOBE));
    ui.exit.addEventListener("click", exit);

    ui.toggle = el("button", {
      class: "toggle",
      type: "button",
      role: "switch",
      "aria-checked": "false",
      "data-testid": "cobrowse-write-toggle",
      title: t("toggleTitle"),
    });
    ui.toggle.addEventListener("click", function () {
      if (state.mode === "write") transport.send({ type: "mode.pointer" });
    });

    // The agent's drawings (frontend/widget/annotations.js): the customer can hide them.
    ui.hideInk = el("button", {
      class: "toggle ink-toggle",
      type: "button",
      "aria-pressed": "false",
      "data-testid": "cobrowse-hide-drawings",
      text: t("hideDrawings"),
    });
    ui.hideInk.addEventListener("click", function () {
      annotations.setHidden(!annotations.isHidden());
      ui.hideInk.setAttribute("aria-pressed", String(annotations.isHidden()));
      ui.hideInk.textContent = annotations.isHidden() ? t("showDrawings") : t("hideDrawings");
    });

    ui.panel = el("div", { class: "panel", role: "dialog", "aria-label": t("panel") }, [
      el("div", { class: "label", text: t("sessionIdLabel") }),
      ui.code,
      ui.codeSpoken,
      ui.hint,
      el("div", { class: "bar" }, [ui.status, ui.toggle, ui.exit]),
      el("div", { class: "bar ink-bar" }, [ui.hideInk]),
    ]);

    ui.dialogText = el("p", { class: "hint" });
    ui.approve = el("button", {
      class: "launch",
      type: "button",
      "data-testid": "cobrowse-approve-write",
      text: t("allow"),
    });
    ui.deny = el("button", {
      class: "secondary",
      type: "button",
      "data-testid": "cobrowse-deny-write",
      text: t("deny"),
    });
    ui.approve.addEventListener("click", function (event) {
      if (!deliberate(event)) return;
      closeDialog();
      transport.send({ type: "write.approve" });
    });
    ui.deny.addEventListener("click", deny);
    ui.announcer = el("div", { class: "sr", "aria-live": "assertive" });
    ui.dialog = el("div", { class: "panel consent", role: "alertdialog", "aria-label": t("writeMode") }, [
      el("div", { class: "label", text: t("writeRequestLabel") }),
      ui.dialogText,
      el("div", { class: "bar" }, [ui.deny, ui.approve]),
    ]);
    ui.dialog.hidden = true;

    ui.chatOpen = el("button", {
      class: "launch secondary-launch",
      type: "button",
      "data-testid": "chat-open",
      text: t("chatOpen"),
    });
    ui.chatOpen.addEventListener("click", function () {
      toggleChat(true);
    });
    ui.chatEnd = el("button", {
      class: "close end",
      type: "button",
      "data-testid": "chat-end",
      text: t("chatEnd"),
    });
    ui.chatEnd.addEventListener("click", function () {
      if (chat.token) chatSocket.send({ type: "end" });
    });
    ui.chatClose = el("button", { class: "close", type: "button", "aria-label": t("chatClose"), text: "×" });
    ui.chatClose.addEventListener("click", function () {
      toggleChat(false);
    });
    ui.chatStatus = el("div", { class: "hint" });
    ui.chatLog = el("div", { class: "log", role: "log", "aria-live": "polite", "data-testid": "chat-log" });
    ui.chatName = el("input", { class: "field", placeholder: t("chatNameOptional"), "aria-label": t("chatName") });
    ui.chatInput = el("input", {
      class: "field",
      placeholder: t("chatPlaceholder"),
      "aria-label": t("chatMessage"),
      "data-testid": "chat-input",
      maxlength: "2000",
    });
    ui.chatSend = el("button", { class: "launch", type: "submit", "data-testid": "chat-send", text: t("chatSend") });
    ui.chatForm = el("form", { class: "bar" }, [ui.chatInput, ui.chatSend]);
    ui.chatForm.addEventListener("submit", function (event) {
      event.preventDefault();
      sendChat();
    });
    ui.chatPanel = el("div", { class: "panel chat", role: "dialog", "aria-label": t("chat") }, [
      el("div", { class: "bar head" }, [
        el("div", { class: "label", text: t("chatOpen") }),
        ui.chatEnd,
        ui.chatClose,
      ]),
      ui.chatStatus,
      ui.chatLog,
      ui.chatName,
      ui.chatForm,
    ]);
    ui.chatPanel.hidden = true;

    // Notices sit in the dock, just above the widget: never over the page's top navigation.
    ui.toasts = el("div", { class: "toasts", "aria-live": "polite", "data-testid": "cobrowse-notices" });
    ui.dock = el("div", { class: "dock " + (config.position === "left" ? "left" : "") }, [
      ui.toasts,
      ui.dialog,
      ui.chatPanel,
      ui.panel,
      ui.chatOpen,
      ui.launch,
    ]);
    ui.dock.style[config.position === "left" ? "left" : "right"] = window.innerWidth <= 480 ? "12px" : "20px";
    ui.pointer = el("div", { class: "pointer", "data-testid": "cobrowse-agent-pointer" });
    ui.pointer.appendChild(icon(ARROW));
    ui.pointer.appendChild(el("span", { text: t("agentLabel") }));

    ui.dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape") deny();
    });
    root.appendChild(ui.dock);
    root.appendChild(ui.announcer);
    annotations = createAnnotations({
      root: root,
      getNode: function (id) { return stopFn ? record.mirror.getNode(id) : null; },
      isMasked: function (element) { return !policy || isMasked(element); },
    });
    root.appendChild(ui.pointer);
    ui.notice = el("div", {
      class: "notice",
      role: "status",
      "data-testid": "cobrowse-private-notice",
    });
    ui.notice.appendChild(icon(LOCK)); // a drawn lock: not every system has an emoji font
    ui.notice.appendChild(document.createTextNode(t("privateNotice")));
    ui.notice.hidden = true;
    root.appendChild(ui.notice);
    ui.root = root;
    document.body.appendChild(host);
    render();
  }

  function announce(text) {
    ui.announcer.textContent = "";
    // A fresh text node in a live region is what screen readers announce, also a repeat.
    setTimeout(function () {
      ui.announcer.textContent = text;
    }, 50);
  }

  function setStatus(status) {
    state.status = status;
    render();
  }

  function render() {
    if (!ui.root) return;
    var inSession = state.status === "waiting" || state.status === "active";
    ui.launch.hidden = inSession;
    ui.launch.disabled = state.status === "starting";
    ui.launch.textContent = state.status === "starting" ? t("starting") : t("start");
    ui.panel.hidden = !inSession;
    ui.code.textContent = state.codeDisplay || "";
    ui.codeSpoken.textContent = spokenCode(state.codeDisplay || "");
    var writing = state.status === "active" && state.mode === "write";
    ui.toggle.hidden = !(state.status === "active" && state.writeEnabled);
    ui.hideInk.parentNode.hidden = state.status !== "active";
    ui.toggle.disabled = !writing;
    ui.toggle.setAttribute("aria-checked", String(writing));
    ui.toggle.textContent = writing ? t("toggleOn") : t("toggleOff");
    if (state.status === "active") {
      ui.status.className = "status";
      var agent = state.agent || t("anAgent");
      ui.status.textContent = state.agentAway
        ? t("statusReconnecting", { agent: state.agent || t("theAgent") })
        : t(writing ? "statusWriting" : "statusWith", { agent: agent });
      ui.hint.textContent = t("hintActive");
    } else {
      ui.status.className = "status waiting";
      ui.status.textContent = t("statusWaiting");
      ui.hint.textContent = t("hintWaiting");
    }
  }

  // A short notice above the widget, announced politely: long enough to read (4 to 7 s by its
  // length, errors 3 s more), held while the pointer or focus is on it, and dismissable.
  var MAX_TOASTS = 3;

  function notify(message, kind) {
    if (!ui.toasts || !message) return;
    var toast = el("div", { class: "toast " + (kind || ""), role: "status" }, [
      el("span", { text: message }),
    ]);
    var dismiss = el("button", { class: "dismiss", type: "button", "aria-label": t("dismiss"), text: "×" });
    toast.appendChild(dismiss);
    var ms = Math.min(7000, Math.max(4000, 2000 + 55 * message.length)) + (kind === "error" ? 3000 : 0);
    var timer = null;
    function remove() {
      clearTimeout(timer);
      toast.remove();
    }
    function arm() {
      clearTimeout(timer);
      timer = setTimeout(remove, ms);
    }
    dismiss.addEventListener("click", remove);
    ["mouseenter", "focusin"].forEach(function (name) {
      toast.addEventListener(name, function () {
        clearTimeout(timer);
      });
    });
    ["mouseleave", "focusout"].forEach(function (name) {
      toast.addEventListener(name, arm);
    });
    ui.toasts.appendChild(toast);
    while (childrenOf(ui.toasts).length > MAX_TOASTS) ui.toasts.firstChild.remove();
    arm();
  }

  // What the server sends is turned into the customer's words from its codes (who changed the
  // mode, why the session ended, which error); the server's own English message, which speaks
  // of "the customer", is used only on an English page and only for a code not listed here.
  var MODE_TEXTS = {
    "write:customer": "modeWriteByCustomer",
    "pointer:customer": "modePointerByCustomer",
    "pointer:agent": "modePointerByAgent",
    "pointer:agent_disconnected": "modePointerAgentDisconnected",
    "pointer:customer_left": "modePointerCustomerLeft",
    "pointer:customer_hidden": "modePointerCustomerHidden",
  };
  var ENDED_TEXTS = {
    customer_exit: "endedByCustomer",
    agent_exit: "endedByAgent",
    expired: "endedExpired",
    pause_timeout: "endedPauseTimeout",
    ended_by_staff: "endedByStaff",
    interaction_ended: "endedInteraction",
    agent_lost: "endedAgentLost",
  };
  var ERROR_TEXTS = { session_not_found: "sessionNotFound", foreign_origin: "foreignOrigin" };
  var CHAT_ENDED_TEXTS = {
    customer: "chatEndedByCustomer",
    agent: "chatEndedByAgent",
    integration: "chatEndedCall",
    staff: "chatEndedByStaff",
  };

  function serverText(message, fallbackKey) {
    var english = config.lang === "en" && message && !/\bthe customer\b/i.test(message);
    return english ? message : t(fallbackKey);
  }

  function modeText(mode, by) {
    var key = MODE_TEXTS[mode + ":" + by];
    return key ? t(key) : t(mode === "write" ? "modeWrite" : "modePointer");
  }

  function endedText(reason, message) {
    return ENDED_TEXTS[reason] ? t(ENDED_TEXTS[reason]) : serverText(message, "ended");
  }

  function errorText(code, message) {
    if (ERROR_TEXTS[code]) return t(ERROR_TEXTS[code]);
    return config.lang === "en" && message ? message : t("ended");
  }

  function chatEndedText(by, message) {
    return CHAT_ENDED_TEXTS[by] ? t(CHAT_ENDED_TEXTS[by]) : serverText(message, "chatEnded");
  }

  // The chat's system messages are stored in English; the widget knows them by their client id.
  function agentOf(message) {
    return String(message.text || "").replace(/ joined the chat\.$/, "");
  }

  function systemText(message) {
    var id = message.client_id || "";
    var code = message.cobrowse_code
      ? message.cobrowse_code.replace(/(\d{3})(\d{3})(\d{3})/, "$1 $2 $3")
      : (String(message.text || "").match(/\d{3} \d{3} \d{3}/) || [""])[0];
    if (/^accepted-/.test(id)) return t("chatJoined", { agent: agentOf(message) });
    if (/^cobrowse-end-/.test(id) && code) return t("chatCobrowseEnded", { code: code });
    if (/^cobrowse-/.test(id) && code) return t("chatCobrowseStarted", { code: code });
    return message.text;
  }

  // The agent's pointer and clicks come in page coordinates (the agent may have scrolled their
  // own view): drawn where that point of the page is in this window, and moved with the page.
  var agentPointer = null;

  function showPointer(x, y) {
    agentPointer = { x: x, y: y };
    placePointer();
  }

  function placePointer() {
    if (!agentPointer || !ui.pointer) return;
    ui.pointer.style.display = "block";
    ui.pointer.style.transform =
      "translate(" + (agentPointer.x - window.scrollX) + "px," + (agentPointer.y - window.scrollY) + "px)";
  }

  function hidePointer() {
    agentPointer = null;
    if (ui.pointer) ui.pointer.style.display = "none";
  }

  window.addEventListener("scroll", placePointer, { passive: true });

  // "Not visible to the agent" next to a masked field the customer focuses while co-browsing.
  // It follows the field (page scroll, scrolled containers, resizes, layout changes: checked each
  // frame while shown), sits where it covers no other control or text (above the field's right
  // end, else beside or below it), and goes with the focus, the field, recording or the page.
  var note = { target: null, page: "", key: "", side: "", frame: 0, w: 0, h: 0 };
  var NOTE_GAP = 6;
  var NOTE_SIDES = ["above", "right", "below", "left"];
  var NOTE_OBSTACLE =
    "input,select,textarea,button,a[href],summary,img,svg,video,canvas,iframe,[contenteditable]," +
    "[role=button],[role=link],[role=checkbox],[role=radio],[role=switch],[role=tab]," +
    "[role=combobox],[role=textbox],[role=slider],[tabindex]:not([tabindex='-1'])";

  function notePage() {
    return location.pathname + location.search;
  }

  function showNote(target) {
    note.target = target;
    note.page = notePage();
    note.key = "";
    placeNote();
    if (!note.frame) note.frame = requestAnimationFrame(followNote);
  }

  // The widget's own controls (the chat's fields, in its shadow root) are not the page's fields.
  function inWidget(node) {
    if (!ui.root || !node) return false;
    var root = rootOf(node);
    return root === ui.root || node.localName === "cobrowse-widget";
  }

  function hideNote() {
    note.target = null;
    cancelAnimationFrame(note.frame);
    note.frame = 0;
    if (ui.notice) ui.notice.hidden = true;
  }

  function followNote() {
    note.frame = 0;
    placeNote();
    if (note.target) note.frame = requestAnimationFrame(followNote);
  }

  function deepActiveElement() {
    var active = document.activeElement;
    while (active && shadowRootOf(active) && shadowRootOf(active).activeElement) {
      active = shadowRootOf(active).activeElement;
    }
    return active;
  }

  // The field, with the text of the label around it for a checkbox or radio button.
  function noteAnchor(target) {
    var r = target.getBoundingClientRect();
    var box = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    var label = /^(checkbox|radio)$/i.test(target.type || "") && target.closest("label");
    if (label) {
      var range = document.createRange();
      range.selectNodeContents(label);
      var l = range.getBoundingClientRect();
      if (l.width || l.height) {
        box = {
          left: Math.min(box.left, l.left),
          top: Math.min(box.top, l.top),
          right: Math.max(box.right, l.right),
          bottom: Math.max(box.bottom, l.bottom),
        };
      }
    }
    return box;
  }

  function deepElementFromPoint(root, x, y) {
    var hit = root.elementFromPoint(x, y);
    while (hit && shadowRootOf(hit) && hit.localName !== "cobrowse-widget") {
      var inner = shadowRootOf(hit).elementFromPoint(x, y);
      if (!inner || inner === hit) break;
      hit = inner;
    }
    return hit;
  }

  // Is the field on the screen: in the viewport, and not clipped by a scrolled container or
  // covered by something else (a sticky header) at the middle of its visible part?
  function noteFieldShown(target, a, vw, vh) {
    if (!target.isConnected) return false;
    if (a.right <= a.left && a.bottom <= a.top) return false;
    if (target.checkVisibility && !target.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) {
      return false;
    }
    var r = target.getBoundingClientRect();
    var left = Math.max(0, r.left), right = Math.min(vw, r.right);
    var top = Math.max(0, r.top), bottom = Math.min(vh, r.bottom);
    if (right <= left || bottom <= top) return false;
    var x = (left + right) / 2, y = (top + bottom) / 2;
    var hit = deepElementFromPoint(document, x, y);
    if (!hit || hit.localName === "cobrowse-widget") return true;
    if (hit === target || contains(target, hit)) return true;
    if (target.labels && [].some.call(target.labels, function (label) {
      return contains(label, hit);
    })) return true;
    if (!contains(hit, target)) return false; // covered by something else
    // An ancestor answers (the field lets the pointer through): is the field clipped there?
    for (var node = target.parentElement; node && node !== hit; node = node.parentElement) {
      var c = node.getBoundingClientRect();
      if (getComputedStyle(node).overflow !== "visible" && (x < c.left || x > c.right || y < c.top || y > c.bottom)) {
        return false;
      }
    }
    return true;
  }

  function noteBox(side, a) {
    var w = note.w, h = note.h;
    var alignedLeft = Math.max(a.left, a.right - w); // right-aligned when the field is wide enough
    var middle = a.top + (a.bottom - a.top - h) / 2;
    if (side === "above") return { left: alignedLeft, top: a.top - h - NOTE_GAP };
    if (side === "below") return { left: alignedLeft, top: a.bottom + NOTE_GAP };
    if (side === "right") return { left: a.right + NOTE_GAP, top: middle };
    return { left: a.left - w - NOTE_GAP, top: middle };
  }

  function noteInViewport(box, vw, vh) {
    return box.left >= 2 && box.top >= 2 && box.left + note.w <= vw - 2 && box.top + note.h <= vh - 2;
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  // Would the notice there cover a control, an image, any text of the page, the widget's own UI,
  // or something pinned to the screen (a sticky header)? Sampled on a grid of points.
  function noteBlocked(box, target) {
    var rect = { left: box.left, top: box.top, right: box.left + note.w, bottom: box.top + note.h };
    var seen = new Set();
    var cols = Math.max(2, Math.ceil(note.w / 20) + 1);
    for (var row = 0; row < 3; row++) {
      for (var col = 0; col < cols; col++) {
        var x = rect.left + 1 + ((note.w - 2) * col) / (cols - 1);
        var y = rect.top + 1 + ((note.h - 2) * row) / 2;
        var hit = deepElementFromPoint(document, x, y);
        if (!hit || seen.has(hit)) continue;
        seen.add(hit);
        if (hit.localName === "cobrowse-widget") return true;
        if (hit === target || contains(target, hit)) return true; // over the field itself
        var ancestor = contains(hit, target);
        var control = hit.closest(NOTE_OBSTACLE);
        if (control && control !== target && !contains(control, target)) return true;
        if (!ancestor && notePinned(hit, target)) return true;
        for (var child = hit.firstChild; child; child = child.nextSibling) {
          if (child.nodeType !== 3 || !child.data.trim()) continue;
          var range = document.createRange();
          range.selectNodeContents(child);
          var rects = range.getClientRects();
          for (var i = 0; i < rects.length; i++) if (overlaps(rect, rects[i])) return true;
        }
      }
    }
    return false;
  }

  function notePinned(element, target) {
    for (var node = element; node && node.nodeType === 1; node = node.parentElement) {
      if (contains(node, target)) return false;
      var position = getComputedStyle(node).position;
      if (position === "fixed" || position === "sticky") return true;
    }
    return false;
  }

  function placeNote() {
    var target = note.target;
    if (!target || !ui.notice) return;
    if (!stopFn || notePage() !== note.page || deepActiveElement() !== target) return hideNote();
    var vw = document.documentElement.clientWidth || window.innerWidth;
    var vh = document.documentElement.clientHeight || window.innerHeight;
    var a = noteAnchor(target);
    if (!target.isConnected || !noteFieldShown(target, a, vw, vh)) {
      if (!target.isConnected) return hideNote();
      ui.notice.hidden = true;
      note.key = "";
      return;
    }
    var key = [a.left, a.top, a.right, a.bottom, vw, vh].join(",");
    if (key === note.key && !ui.notice.hidden) return;
    note.key = key;
    if (!note.w) {
      ui.notice.style.visibility = "hidden";
      ui.notice.hidden = false;
      note.w = ui.notice.offsetWidth;
      note.h = ui.notice.offsetHeight;
      ui.notice.style.visibility = "";
    }
    // Keep the side it is on while that stays free; else the first free side; else the first
    // side on the screen.
    var sides = [note.side].concat(NOTE_SIDES.filter(function (s) {
      return s !== note.side;
    })).filter(Boolean);
    var fits = sides.filter(function (side) {
      return noteInViewport(noteBox(side, a), vw, vh);
    });
    var side = fits.filter(function (s) {
      return !noteBlocked(noteBox(s, a), target);
    })[0];
    if (!side) side = fits.indexOf("above") >= 0 ? "above" : fits[0] || "above";
    note.side = side;
    var box = noteBox(side, a);
    ui.notice.style.left = Math.round(Math.min(Math.max(2, box.left), vw - note.w - 2)) + "px";
    ui.notice.style.top = Math.round(Math.min(Math.max(2, box.top), vh - note.h - 2)) + "px";
    ui.notice.setAttribute("data-side", side);
    ui.notice.hidden = false;
  }

  document.addEventListener(
    "focusin",
    function (event) {
      var target = event.composedPath ? event.composedPath()[0] : event.target;
      if (!stopFn || !ui.notice || !target || target.nodeType !== 1) return;
      if (inWidget(target) || !isMasked(target)) return hideNote();
      note.side = "";
      showNote(target);
    },
    true
  );
  document.addEventListener(
    "focusout",
    function (event) {
      // Focus moving inside a shadow root, or the window losing focus, is checked on the next
      // frame; a blur to nothing or to another element hides the notice now.
      if (!note.target) return;
      var to = event.relatedTarget;
      if (!to || !contains(note.target, to)) hideNote();
    },
    true
  );
  // Typing or clicking in a masked field that has no notice (the page changed under it, or
  // recording started after it got focus) brings the notice back.
  ["keydown", "pointerdown"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (note.target || !stopFn || !ui.notice || !event.isTrusted) return;
      var target = event.composedPath ? event.composedPath()[0] : event.target;
      var active = deepActiveElement();
      if (name === "pointerdown" && active !== target) return; // focus moves: focusin decides
      if (active && active.nodeType === 1 && !inWidget(active) && isMasked(active)) {
        note.side = "";
        showNote(active);
      }
    }, true);
  });
  ["scroll", "resize"].forEach(function (name) {
    // Capture: scrolls of any container, not only the page's.
    window.addEventListener(name, function () {
      if (note.target) placeNote();
    }, { capture: true, passive: true });
  });
  window.addEventListener("pagehide", hideNote);

  function clickCircle(x, y) {
    var ring = el("div", { class: "click", "data-testid": "cobrowse-agent-click" });
    ring.style.left = x - window.scrollX + "px";
    ring.style.top = y - window.scrollY + "px";
    ui.root.appendChild(ring);
    setTimeout(function () {
      ring.remove();
    }, 1500);
  }

  // ---------------------------------------------------------------------------
  // Heartbeat: while an agent watches, a ping a second tells the agent this page is alive (or
  // hidden), and measures how far this browser's clock is from the server's (the agent's
  // latency readout turns the events' timestamps into lag with it).
  // ---------------------------------------------------------------------------

  var BEAT_MS = 1000;
  var clock = {
    offset: null, // server time minus this browser's, in ms (best of the recent samples)
    rtt: null,
    samples: [],
    answer: function (pong) {
      var now = Date.now();
      if (typeof pong.t !== "number" || typeof pong.server !== "number") return;
      var rtt = now - pong.t;
      if (rtt < 0 || rtt > 60000) return;
      clock.samples.push({ rtt: rtt, offset: pong.server - (pong.t + now) / 2 });
      if (clock.samples.length > 10) clock.samples.shift();
      // The sample with the shortest round trip is the least skewed by queueing.
      var best = clock.samples.reduce(function (a, b) {
        return b.rtt < a.rtt ? b : a;
      });
      clock.offset = Math.round(best.offset);
      clock.rtt = rtt;
    },
  };

  setInterval(beat, BEAT_MS);

  function beat() {
    if (state.status !== "active" || !transport.isOpen()) return;
    transport.send({
      type: "ping",
      t: Date.now(),
      offset: clock.offset,
      rtt: clock.rtt,
      hidden: document.visibilityState === "hidden",
    });
  }

  // ---------------------------------------------------------------------------
  // Boot: mount the UI and resume a session this tab already has
  // ---------------------------------------------------------------------------

  function boot() {
    if (!config.site) {
      console.error("[cobrowse] The embed tag has no data-site key; the widget is off.");
      return;
    }
    watchPasswords();
    watchNavigation();
    guardNavigations(window);
    guardSubmissions(window);
    mount();
    var savedChat = loadChat();
    if (savedChat) {
      chat.token = savedChat.token;
      chat.id = savedChat.id;
      chat.pending = savedChat.pending || [];
      chat.open = !!savedChat.open;
      renderChat();
      if (chat.token) chatSocket.open();
    }
    var saved = load();
    if (saved && saved.token) {
      state.token = saved.token;
      state.code = saved.code;
      state.codeDisplay = saved.codeDisplay;
      setStatus("waiting");
      connect();
    }
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
