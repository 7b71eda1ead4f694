/*
 * Agent Workspace: the Co-browse tab. Joins a session by its ID and mirrors the customer's page
 * with rrweb's Replayer in live mode, inside a sandboxed iframe (no scripts run in it).
 * Server data arrives through json_script; nothing from the network is written with innerHTML.
 */
import { Replayer } from "@rrweb/replay";
import { inflate } from "./deflate.js";
import { watchFormState } from "./mirror/formstate.js";
import { t } from "./workspace/i18n.js";
import { createFreshness, SILENT_MS } from "./workspace/freshness.js";

(function () {
  "use strict";

  var EVENT_FULL_SNAPSHOT = 2;
  var EVENT_INCREMENTAL = 3;
  var EVENT_META = 4;
  // rrweb's incremental sources the workspace reads before the replayer applies them.
  var SOURCE_MOUSE_MOVE = 1;
  var SOURCE_MOUSE_INTERACTION = 2;
  var SOURCE_SCROLL = 3;
  var SOURCE_INPUT = 5;
  var SOURCE_TOUCH_MOVE = 6;
  // Third line of defence, drawn inside the mirror: green boxes on restricted controls, purple on
  // restricted and masked fields, grey areas with a purple box for masked images and media.
  var MARK_STYLES = [
    '[data-cobrowse-restrict="control"]{outline:3px solid #16a34a!important;outline-offset:1px!important}',
    '[data-cobrowse-restrict="field"],[data-cobrowse-mask="input"],[data-cobrowse-mask="text"]' +
      "{outline:3px solid #7c3aed!important;outline-offset:1px!important}",
    '[data-cobrowse-mask="block"],.rr-block{background:#d0d5dd!important;' +
      "outline:3px solid #7c3aed!important;outline-offset:-3px!important}",
  ];
  var MARKED = "[data-cobrowse-mask],[data-cobrowse-restrict]";
  var POINTER_INTERVAL = 50; // ms between pointer frames sent to the customer
  var INPUT_INTERVAL = 40; // ms between input frames for one field (each carries the whole value)
  var SCROLL_INTERVAL = 50; // ms between scroll frames sent to the customer (write mode)
  // While the agent types in a field or scrolls, the customer's page reports back what it applied
  // a moment later: that echo is older than what the mirror shows, so it waits until the agent
  // has been still this long, and is applied then only if the page changed it (a formatter).
  var ECHO_QUIET = 700;
  var GESTURE_SCROLL = 800; // a scroll this soon after the agent's wheel, key or press is theirs
  var PAUSE_BANNER_DELAY = 1500; // a page change within the site reconnects faster than this

  function $(testid) {
    return document.querySelector('[data-testid="' + testid + '"]');
  }

  var ui = {
    form: document.getElementById("join-form"),
    input: $("session-id-input"),
    join: $("join-cobrowse"),
    error: document.getElementById("join-error"),
    session: document.getElementById("session"),
    code: document.getElementById("session-code"),
    status: document.getElementById("session-status"),
    banner: document.getElementById("session-banner"),
    url: $("url-bar"),
    size: document.getElementById("viewport-size"),
    fit: $("zoom-fit"),
    one: $("zoom-1to1"),
    exit: $("exit-session"),
    view: $("cobrowse-view"),
    sizer: document.getElementById("mirror-sizer"),
    stage: document.getElementById("mirror-stage"),
    overlay: document.getElementById("mirror-overlay"),
    placeholder: document.getElementById("mirror-placeholder"),
    writeToggle: $("write-mode-toggle"),
    nav: document.getElementById("nav-controls"),
    back: $("nav-back"),
    forward: $("nav-forward"),
    refresh: $("nav-refresh"),
    urlForm: document.getElementById("url-form"),
    alert: document.getElementById("mirror-alert"),
    alertText: document.getElementById("mirror-alert-text"),
    customerPointer: $("customer-pointer"),
    readout: $("latency-readout"),
    annotate: $("annotate-toggle"),
    annotateClear: $("annotate-clear"),
    spotlight: $("spotlight-toggle"),
  };

  var current = null; // { code, socket, replayer, width, height, zoom, ended }
  var zoomMode = "fit";

  // ---------------------------------------------------------------------------
  // Joining
  // ---------------------------------------------------------------------------

  ui.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = ui.input.value.replace(/\D/g, "");
    if (code.length !== 9) {
      showError(t("join.bad_code"));
      return;
    }
    join(code);
  });
  // The button is disabled in the HTML until this script is ready, so that an early click cannot
  // submit the form natively (a page reload that loses the typed ID).
  ui.join.disabled = false;

  function join(code) {
    if (current && !current.ended) {
      // The server refuses this too (one live session per agent); say so without a round trip.
      showError(t("join.busy", { code: display(current.code) }));
      return;
    }
    showError("");
    ui.join.disabled = true;
    current = { code: code, retries: 0, ended: false, joined: false, freshness: createFreshness() };
    openSocket();
  }

  function openSocket() {
    var session = current;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/agent/" + session.code + "/");
    session.socket = socket;
    // Large page frames arrive deflated, as binary messages (frontend/deflate.js); frames are
    // handled in the order they came, so a text frame waits for an earlier binary one.
    socket.binaryType = "arraybuffer";
    var inOrder = Promise.resolve();
    socket.onmessage = function (message) {
      if (session !== current) return;
      var binary = typeof message.data !== "string";
      session.freshness.received(binary ? message.data.byteLength : message.data.length || 0);
      var text = binary ? null : message.data;
      inOrder = inOrder
        .then(function () {
          return binary ? inflate(message.data) : text;
        })
        .then(function (whole) {
          if (session !== current) return;
          var data;
          try {
            data = JSON.parse(whole);
          } catch {
            return;
          }
          onFrame(data);
        })
        .catch(function () {
          // A frame that does not inflate: the page is asked for again.
          if (session === current) send({ type: "snapshot.request" });
        });
    };
    socket.onopen = function () {
      session.retries = 0;
    };
    socket.onclose = function (event) {
      if (session !== current || session.ended) return;
      if (event.code >= 4000 && event.code < 5000) {
        // A refusal: the error frame said why. Nothing to retry.
        if (!session.joined) resetJoin();
        else endView(session.lastError || t("banner.ended"));
        return;
      }
      if (!session.joined) {
        resetJoin();
        showError(t("join.unreachable"));
        return;
      }
      // Our network dropped: rejoin the same session with capped back-off.
      setStatus(t("status.reconnecting"), "paused");
      session.retries += 1;
      var delay = backoff(session.retries);
      setTimeout(function () {
        if (session === current && !session.ended) openSocket();
      }, delay);
    };
  }

  // Capped, jittered back-off (0.25-0.5 s, then doubling up to 5-10 s): after a server restart
  // the agents' workspaces do not all reconnect in the same instant.
  function backoff(attempt) {
    var delay = Math.min(10000, 500 * Math.pow(2, attempt - 1));
    return delay / 2 + Math.random() * (delay / 2);
  }

  function resetJoin() {
    ui.join.disabled = false;
    if (current && !current.joined) current = null;
  }

  function send(data) {
    // Typing waits a few milliseconds to be sent whole: anything else the agent does goes after it.
    if (data.type !== "input" && data.type !== "pointer") flushInputs();
    if (current && current.socket && current.socket.readyState === WebSocket.OPEN) {
      var text = JSON.stringify(data);
      current.socket.send(text);
      if (data.type !== "ping") current.freshness.sent(text.length);
    }
  }

  // ---------------------------------------------------------------------------
  // Frames from the server
  // ---------------------------------------------------------------------------

  function onFrame(data) {
    switch (data.type) {
      case "state":
        current.joined = true;
        send({ type: "ping", t: Date.now() }); // the clock's offset at once, not in 2 s
        current.writeEnabled = !!data.write_mode_enabled;
        current.origins = data.site_origins || [];
        ui.join.disabled = false;
        showSession(data.session);
        setMode(data.session.mode);
        break;
      case "mode":
        setMode(data.mode);
        setBanner(data.by === "agent" ? "" : data.message);
        break;
      case "write.denied":
      case "write.lapsed":
        setMode("pointer");
        setBanner(data.message);
        break;
      case "events":
        if (Array.isArray(data.events)) current.freshness.events(data.events);
        onEvents(data.events);
        break;
      case "pong":
        current.freshness.pong(data);
        break;
      case "customer.beat":
        current.freshness.beat(data);
        break;
      case "chunk":
        // A page larger than one WebSocket message, in order: reassemble, then apply.
        if (data.part === 0) current.chunks = [];
        if (!current.chunks || data.part !== current.chunks.length) {
          current.chunks = null;
          send({ type: "snapshot.request" });
          break;
        }
        current.chunks.push(data.data);
        if (data.last) {
          var whole = current.chunks.join("");
          current.chunks = null;
          onFrame(JSON.parse(whole));
        }
        break;
      case "customer.connected":
        // Live only once the page itself arrives (onEvents): never while nothing flows.
        clearTimeout(current.pauseTimer);
        setBanner("");
        setStatus(t("status.loading"), "waiting");
        break;
      case "customer.left":
        setStatus(t("status.changing_page"), "paused");
        clearTimeout(current.pauseTimer);
        current.pauseTimer = setTimeout(function () {
          setStatus(t("status.paused"), "paused");
          setBanner(data.message || t("banner.paused"));
        }, PAUSE_BANNER_DELAY);
        break;
      case "ended":
        current.lastError = data.message;
        endView(data.message);
        break;
      case "error":
        if (["restricted", "refused_by_page", "foreign_url", "wrong_mode", "not_ready",
             "write_mode_disabled", "already_write", "write_cooldown",
             "customer_away"].indexOf(data.code) >= 0) {
          if (data.code === "write_mode_disabled") setMode("pointer");
          setBanner(data.message);
          break;
        }
        current.lastError = data.message;
        if (!current.joined) showError(data.message);
        else setBanner(data.message);
        break;
      default:
        break;
    }
  }

  function onEvents(events) {
    if (!Array.isArray(events)) return;
    var start = -1;
    for (var i = 0; i < events.length; i++) {
      var type = events[i].type;
      if (type === EVENT_META) {
        var meta = events[i].data || {};
        if (meta.href) {
          ui.url.defaultValue = meta.href;
          if (document.activeElement !== ui.url) ui.url.value = meta.href;
        }
        resize(meta.width, meta.height);
      }
      if (type === EVENT_FULL_SNAPSHOT || type === EVENT_META) start = start < 0 ? i : start;
    }
    if (start >= 0) {
      // A new page: a fresh replayer keeps memory bounded to one page's events.
      newReplayer();
      setStatus(t("status.live"), "live");
      setBanner("");
      ui.placeholder.hidden = true;
    }
    if (!current.replayer) return; // changes to a page we have not seen yet
    var pointerMoved = false;
    for (var j = Math.max(start, 0); j < events.length; j++) {
      var event = events[j];
      pointerMoved = watchCustomer(event) || pointerMoved;
      if (isEcho(event)) continue;
      current.replayer.addEvent(event);
    }
    if (pointerMoved) drawCustomerPointer();
    if (start >= 0 && current.firstMirrorAt === undefined) {
      current.firstMirrorAt = performance.now();
    }
  }

  // What the workspace keeps of the customer's side: where their viewport is scrolled (the
  // mirror's may differ in pointer mode) and where their pointer is, in their viewport.
  function watchCustomer(event) {
    var data = event.data || {};
    if (event.type === EVENT_FULL_SNAPSHOT) {
      current.documentId = data.node && data.node.id;
      var offset = data.initialOffset || {};
      current.customerScroll = { x: offset.left || 0, y: offset.top || 0 };
      return true;
    }
    if (event.type !== EVENT_INCREMENTAL) return false;
    if (data.source === SOURCE_SCROLL && data.id === current.documentId) {
      current.customerScroll = { x: data.x || 0, y: data.y || 0 };
      return true;
    }
    if ((data.source === SOURCE_MOUSE_MOVE || data.source === SOURCE_TOUCH_MOVE) &&
        Array.isArray(data.positions) && data.positions.length) {
      var last = data.positions[data.positions.length - 1];
      current.customerPointer = { x: last.x, y: last.y };
      return true;
    }
    if (data.source === SOURCE_MOUSE_INTERACTION && typeof data.x === "number") {
      current.customerPointer = { x: data.x, y: data.y };
      return true;
    }
    return false;
  }

  function newReplayer() {
    if (current.replayer) {
      try {
        current.replayer.destroy();
      } catch {
        /* already gone */
      }
    }
    while (ui.stage.firstChild !== ui.overlay && ui.stage.firstChild) {
      ui.stage.removeChild(ui.stage.firstChild);
    }
    var replayer = new Replayer([], {
      root: ui.stage,
      liveMode: true,
      mouseTail: false,
      showWarning: false,
      triggerFocus: false,
      UNSAFE_replayCanvas: false,
      // Live events are applied one by one as they arrive, straight to the iframe's DOM.
      useVirtualDom: false,
      insertStyleRules: MARK_STYLES,
    });
    // Every event is applied as it arrives: the socket already delivers them in order.
    replayer.startLive(Date.now() + 1e12);
    // The mirror's frame is named for screen readers (the URL bar's own label, translated).
    if (replayer.iframe) replayer.iframe.setAttribute("title", ui.url.getAttribute("aria-label") || "");
    replayer.on("resize", function (size) {
      resize(size.width, size.height);
    });
    // rrweb rebuilds the page with document.open(), which drops listeners: attach after it.
    replayer.on("fullsnapshot-rebuilded", watchMirror);
    watchFormState(replayer); // selects show the customer's choice (frontend/mirror/formstate.js)
    ui.stage.appendChild(ui.overlay); // keep the pointer layer above the mirror
    ui.overlay.appendChild(ui.alert);
    current.replayer = replayer;
    // Node ids belong to one page: what was pending for the last one is void.
    [edits, scrolls].forEach(function (pending) {
      Object.keys(pending).forEach(function (id) {
        clearTimeout(pending[id].timer);
        clearTimeout(pending[id].settle);
        delete pending[id];
      });
    });
    current.customerPointer = null;
    drawCustomerPointer();
    strokes.slice().forEach(removeStroke); // drawings belong to the page they were made on
  }

  // ---------------------------------------------------------------------------
  // The virtual browser: customer's size, zoom to fit or 1:1, scroll bars when larger
  // ---------------------------------------------------------------------------

  function resize(width, height) {
    if (!current || !width || !height) return;
    current.width = width;
    current.height = height;
    ui.size.textContent = width + " × " + height;
    applyZoom();
  }

  function applyZoom() {
    if (!current || !current.width) return;
    var scale = 1;
    if (zoomMode === "fit") {
      var availableW = ui.view.clientWidth - 2;
      var availableH = ui.view.clientHeight - 2;
      scale = Math.min(1, availableW / current.width, availableH / current.height);
    }
    current.scale = scale;
    ui.stage.style.width = current.width + "px";
    ui.stage.style.height = current.height + "px";
    ui.stage.style.transform = "scale(" + scale + ")";
    ui.sizer.style.width = Math.round(current.width * scale) + "px";
    ui.sizer.style.height = Math.round(current.height * scale) + "px";
    ui.fit.setAttribute("aria-pressed", String(zoomMode === "fit"));
    ui.one.setAttribute("aria-pressed", String(zoomMode === "1to1"));
    ui.view.dataset.zoom = zoomMode;
    ui.view.dataset.scale = scale.toFixed(3);
    drawCustomerPointer();
  }

  ui.fit.addEventListener("click", function () {
    zoomMode = "fit";
    applyZoom();
  });
  ui.one.addEventListener("click", function () {
    zoomMode = "1to1";
    applyZoom();
  });
  window.addEventListener("resize", applyZoom);
  // The panel changes size without the window too: a banner shown or hidden, the tabs.
  if (window.ResizeObserver) new ResizeObserver(applyZoom).observe(ui.view);

  // ---------------------------------------------------------------------------
  // Pointer mode: the agent points and clicks; nothing reaches the customer's page but that
  // ---------------------------------------------------------------------------

  var lastPointer = 0;
  var pointerTimer = null;
  var pendingPointer = null;

  function pagePoint(event) {
    var rect = ui.overlay.getBoundingClientRect();
    var scale = (current && current.scale) || 1;
    return {
      x: Math.round(((event.clientX - rect.left) / scale) * 10) / 10,
      y: Math.round(((event.clientY - rect.top) / scale) * 10) / 10,
    };
  }

  // What the mirror shows under a point, and why the agent may not use it.
  function targetAt(point) {
    var iframe = ui.stage.querySelector("iframe");
    var doc = iframe && iframe.contentDocument;
    if (!doc || !current || !current.replayer) return null;
    var element = doc.elementFromPoint(point.x, point.y);
    if (!element) return null;
    var marked = element.closest(MARKED);
    var id = current.replayer.getMirror().getId(element);
    return { element: element, id: id > 0 ? id : null, refusal: marked && refusal(marked) };
  }

  function refusal(element) {
    var restrict = element.getAttribute("data-cobrowse-restrict");
    var mask = element.getAttribute("data-cobrowse-mask");
    if (restrict === "control") return t("refusal.control");
    if (restrict === "field") return t("refusal.field");
    if (mask === "block") return t("refusal.block");
    return t("refusal.input");
  }

  function showAlert(point, text) {
    ui.alert.hidden = !text;
    if (!text) return;
    ui.alertText.textContent = text;
    ui.alert.style.left = point.x + 14 + "px";
    ui.alert.style.top = point.y + 14 + "px";
  }

  ui.overlay.addEventListener("mouseleave", function () {
    showAlert(null, "");
    if (current) current.agentPointer = null;
  });

  ui.overlay.addEventListener("mousemove", function (event) {
    if (!current || current.ended) return;
    var point = pagePoint(event);
    var target = targetAt(point);
    showAlert(point, target && target.refusal);
    queuePointer(point);
  });

  // Pointers travel in page coordinates (the point in the viewport plus the view's scroll), so
  // that each side draws the other's pointer on the same element whatever either has scrolled.
  function queuePointer(viewportPoint) {
    current.agentPointer = viewportPoint;
    pendingPointer = onPage(viewportPoint);
    var wait = POINTER_INTERVAL - (Date.now() - lastPointer);
    if (wait <= 0) sendPointer();
    else if (!pointerTimer) pointerTimer = setTimeout(sendPointer, wait);
  }

  function sendPointer() {
    clearTimeout(pointerTimer);
    pointerTimer = null;
    if (!pendingPointer) return;
    lastPointer = Date.now();
    send({ type: "pointer", x: pendingPointer.x, y: pendingPointer.y });
    pendingPointer = null;
  }

  ui.overlay.addEventListener("click", function (event) {
    event.preventDefault();
    if (!current || current.ended) return;
    var point = pagePoint(event);
    var target = targetAt(point);
    if (tool === "draw") return; // a stroke, not a click
    if (tool === "spot") {
      // Spotlight: the customer's page outlines what the agent picked, never masked content.
      if (target && target.refusal) {
        showAlert(point, target.refusal);
        return;
      }
      if (target && target.id) send({ type: "spotlight", id: target.id });
      setTool(null);
      return;
    }
    if (target && target.refusal) {
      showAlert(point, target.refusal);
      return; // clicks on restricted and masked elements do nothing
    }
    var onThePage = onPage(point);
    var click = { type: "click", x: onThePage.x, y: onThePage.y };
    if (target && target.id) click.id = target.id;
    send(click);
    ring(point);
  });

  // ---------------------------------------------------------------------------
  // Draw and spotlight: strokes drawn over the mirror go to the customer's page in page
  // coordinates (so they stay on the content when either side scrolls) and fade on both sides;
  // a spotlight outlines one element there. Neither acts on the page: pointer mode allows them.
  // ---------------------------------------------------------------------------

  var SVG_NS = "http://www.w3.org/2000/svg";
  var MAX_STROKE_POINTS = 400;
  var STROKE_FADE_MS = 3500;
  var STROKE_GONE_MS = 4500;
  var tool = null; // null | "draw" | "spot"
  var strokes = []; // { line, points (page coordinates) }
  var drawing = null;
  var ink = document.createElementNS(SVG_NS, "svg");
  ink.setAttribute("class", "mirror-ink");
  ink.setAttribute("aria-hidden", "true");
  ink.setAttribute("data-testid", "mirror-drawings");
  ui.overlay.appendChild(ink);

  function setTool(name) {
    tool = tool === name ? null : name;
    ui.annotate.setAttribute("aria-pressed", String(tool === "draw"));
    ui.spotlight.setAttribute("aria-pressed", String(tool === "spot"));
    ui.overlay.classList.toggle("drawing", tool === "draw");
    ui.overlay.classList.toggle("picking", tool === "spot");
  }

  ui.annotate.addEventListener("click", function () {
    setTool("draw");
  });
  ui.spotlight.addEventListener("click", function () {
    setTool("spot");
  });
  ui.annotateClear.addEventListener("click", function () {
    strokes.slice().forEach(removeStroke);
    send({ type: "annotate.clear" });
  });

  function placeStroke(stroke) {
    var win = mirrorWindow();
    var sx = win ? win.scrollX : 0;
    var sy = win ? win.scrollY : 0;
    stroke.line.setAttribute("points", stroke.points.map(function (p) {
      return p[0] - sx + "," + (p[1] - sy);
    }).join(" "));
  }

  function removeStroke(stroke) {
    stroke.line.remove();
    strokes = strokes.filter(function (s) {
      return s !== stroke;
    });
  }

  ui.overlay.addEventListener("pointerdown", function (event) {
    if (tool !== "draw" || !current || current.ended || event.button !== 0) return;
    event.preventDefault();
    ui.overlay.setPointerCapture(event.pointerId);
    var at = onPage(pagePoint(event));
    drawing = { line: document.createElementNS(SVG_NS, "polyline"), points: [[at.x, at.y]] };
    ink.appendChild(drawing.line);
    placeStroke(drawing);
  });

  ui.overlay.addEventListener("pointermove", function (event) {
    if (!drawing) return;
    var at = onPage(pagePoint(event));
    var last = drawing.points[drawing.points.length - 1];
    if (Math.abs(at.x - last[0]) + Math.abs(at.y - last[1]) < 2) return;
    drawing.points.push([at.x, at.y]);
    placeStroke(drawing);
  });

  function endStroke() {
    var stroke = drawing;
    drawing = null;
    if (!stroke) return;
    if (stroke.points.length < 2) {
      stroke.line.remove();
      return;
    }
    // A long stroke is thinned to what one frame may carry, keeping its ends.
    var points = stroke.points;
    if (points.length > MAX_STROKE_POINTS) {
      var step = points.length / (MAX_STROKE_POINTS - 1);
      var thin = [];
      for (var i = 0; i < MAX_STROKE_POINTS - 1; i++) thin.push(points[Math.floor(i * step)]);
      thin.push(points[points.length - 1]);
      points = thin;
    }
    send({ type: "annotate", points: points });
    strokes.push(stroke);
    setTimeout(function () {
      stroke.line.setAttribute("class", "fade");
    }, STROKE_FADE_MS);
    setTimeout(function () {
      removeStroke(stroke);
    }, STROKE_GONE_MS);
  }

  ui.overlay.addEventListener("pointerup", endStroke);
  ui.overlay.addEventListener("pointercancel", endStroke);

  // ---------------------------------------------------------------------------
  // Both pointers and scrolling. Pointer mode: the agent scrolls their own view (the wheel over
  // the mirror); write mode: the agent's scroll scrolls the customer's page.
  // ---------------------------------------------------------------------------

  function mirrorWindow() {
    var iframe = ui.stage.querySelector("iframe");
    return (iframe && iframe.contentWindow) || null;
  }

  function onPage(viewportPoint) {
    var win = mirrorWindow();
    var x = viewportPoint.x + (win ? win.scrollX : 0);
    var y = viewportPoint.y + (win ? win.scrollY : 0);
    return { x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 };
  }

  // The customer's pointer, where it is on their page, drawn over the mirror's view of it.
  function drawCustomerPointer() {
    var pointer = ui.customerPointer;
    var win = mirrorWindow();
    var at = current && current.customerPointer;
    if (!at || !win || current.ended) {
      pointer.hidden = true;
      return;
    }
    var scroll = current.customerScroll || { x: 0, y: 0 };
    var x = at.x + scroll.x - win.scrollX;
    var y = at.y + scroll.y - win.scrollY;
    pointer.hidden = x < 0 || y < 0 || x > current.width || y > current.height;
    // Drawn at its own size whatever the zoom: the stage scales, the pointer does not.
    pointer.style.transform =
      "translate(" + x + "px," + y + "px) scale(" + 1 / (current.scale || 1) + ")";
  }

  // The mirror scrolled (the agent's wheel, or the customer's scroll applied): both pointers
  // move with the page under them.
  function onMirrorScroll() {
    drawCustomerPointer();
    strokes.forEach(placeStroke);
    if (current && current.agentPointer) queuePointer(current.agentPointer);
  }

  // Pointer mode: the overlay takes the wheel; it scrolls what is under the pointer in the
  // agent's own view (a scrolled box, else the page), and never the customer's page.
  ui.overlay.addEventListener("wheel", function (event) {
    var win = mirrorWindow();
    if (!win || !current || current.ended) return;
    event.preventDefault();
    var unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? current.height || 600 : 1;
    var dx = event.deltaX * unit;
    var dy = event.deltaY * unit;
    var target = targetAt(pagePoint(event));
    for (var node = target && target.element; node && node.nodeType === 1; node = node.parentElement) {
      if (node === win.document.documentElement || node === win.document.body) break;
      if (canScroll(win, node, dx, dy)) {
        node.scrollBy(dx, dy);
        return;
      }
    }
    win.scrollBy(dx, dy);
  }, { passive: false });

  function canScroll(win, node, dx, dy) {
    var style = win.getComputedStyle(node);
    var scrolls = function (overflow) {
      return overflow === "auto" || overflow === "scroll";
    };
    if (dy && scrolls(style.overflowY) && node.scrollHeight > node.clientHeight) {
      return dy < 0 ? node.scrollTop > 0 : node.scrollTop + node.clientHeight < node.scrollHeight;
    }
    if (dx && scrolls(style.overflowX) && node.scrollWidth > node.clientWidth) {
      return dx < 0 ? node.scrollLeft > 0 : node.scrollLeft + node.clientWidth < node.scrollWidth;
    }
    return false;
  }

  // Write mode: what the agent scrolls in the mirror, the customer's page scrolls too. A scroll
  // of the mirror is the agent's only right after their own wheel, key or press: the replayer
  // scrolls the mirror too when the customer scrolls, and that must not bounce back.
  var scrolls = {}; // node id -> { at, frame, timer, sentAt, echo }

  function onAgentScroll(doc, target) {
    var id = current.replayer.getMirror().getId(target);
    if (!(id > 0)) return;
    var element = target.nodeType === 9 ? null : target;
    var win = doc.defaultView;
    var frame = {
      type: "scroll",
      id: id,
      x: Math.round(element ? element.scrollLeft : win.scrollX),
      y: Math.round(element ? element.scrollTop : win.scrollY),
    };
    queueFrame(scrolls, id, frame, SCROLL_INTERVAL, applyScroll);
  }

  function applyScroll(data) {
    var node = current && current.replayer && current.replayer.getMirror().getNode(data.id);
    if (!node) return;
    if (node.nodeType === 9) node.defaultView.scrollTo(data.x, data.y);
    else if (node.scrollTo) node.scrollTo(data.x, data.y);
  }

  // Typing: the whole value of a field, at most one frame per INPUT_INTERVAL per field (the last
  // value always goes), in order with everything else the agent sends.
  var edits = {}; // node id -> { at, frame, timer, sentAt, echo }

  function queueInput(id, value) {
    queueFrame(edits, id, { type: "input", id: id, value: value }, INPUT_INTERVAL, function (echo) {
      if (current && current.replayer) current.replayer.addEvent(echo);
    });
  }

  // One frame per node at most every `interval` ms, the latest one always going (each carries
  // the whole state); what the page reports back meanwhile waits (isEcho, settleEcho).
  function queueFrame(pending, id, frame, interval, applyEcho) {
    var entry = pending[id] || (pending[id] = { sentAt: 0 });
    entry.at = Date.now();
    entry.frame = frame;
    var wait = interval - (Date.now() - entry.sentAt);
    if (wait <= 0) flushFrame(entry);
    else if (!entry.timer) entry.timer = setTimeout(function () {
      flushFrame(entry);
    }, wait);
    settleEcho(entry, applyEcho);
  }

  function flushFrame(entry) {
    clearTimeout(entry.timer);
    entry.timer = null;
    if (!entry.frame) return;
    var frame = entry.frame;
    entry.frame = null;
    entry.sentAt = Date.now();
    send(frame); // an input frame does not flush the others (send), so no recursion
  }

  function flushInputs() {
    Object.keys(edits).forEach(function (id) {
      flushFrame(edits[id]);
    });
  }

  // Is this event the customer's page reporting back what the agent is still changing? Then it
  // waits (settleEcho) instead of taking the field or the scroll back in time.
  function isEcho(event) {
    if (event.type !== EVENT_INCREMENTAL || !event.data) return false;
    var data = event.data;
    var entry = data.source === SOURCE_INPUT ? edits[data.id] :
      data.source === SOURCE_SCROLL ? scrolls[data.id] : null;
    if (!entry || Date.now() - entry.at >= ECHO_QUIET) return false;
    entry.echo = data.source === SOURCE_INPUT ? event : data;
    return true;
  }

  function settleEcho(entry, apply) {
    clearTimeout(entry.settle);
    entry.settle = setTimeout(function () {
      var echo = entry.echo;
      entry.echo = null;
      if (echo) apply(echo);
    }, ECHO_QUIET);
  }

  // ---------------------------------------------------------------------------
  // Write mode: the customer's consent, then the agent types, clicks and navigates
  // ---------------------------------------------------------------------------

  function setMode(mode) {
    if (!current) return;
    current.mode = mode;
    var writing = mode === "write";
    ui.writeToggle.hidden = !current.writeEnabled;
    ui.writeToggle.setAttribute("aria-checked", String(writing));
    ui.writeToggle.removeAttribute("aria-busy");
    ui.writeToggle.textContent = t(writing ? "write.on" : "write.off");
    ui.nav.hidden = !writing;
    ui.url.readOnly = !writing;
    ui.view.classList.toggle("write", writing);
    ui.view.dataset.mode = mode;
    if (current.replayer) {
      if (writing) current.replayer.enableInteract();
      else current.replayer.disableInteract();
    }
  }

  ui.writeToggle.addEventListener("click", function () {
    if (!current || current.ended) return;
    if (current.mode === "write") {
      send({ type: "mode.pointer" });
      return;
    }
    ui.writeToggle.setAttribute("aria-busy", "true");
    ui.writeToggle.textContent = t("write.asking");
    setBanner("");
    send({ type: "write.request" });
  });

  ui.back.addEventListener("click", function () {
    send({ type: "navigate", action: "back" });
  });
  ui.forward.addEventListener("click", function () {
    send({ type: "navigate", action: "forward" });
  });
  ui.refresh.addEventListener("click", function () {
    send({ type: "navigate", action: "refresh" });
  });
  ui.urlForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!current || current.mode !== "write") return;
    var url;
    try {
      url = new URL(ui.url.value.trim(), ui.url.defaultValue || undefined).href;
    } catch {
      setBanner(t("url.invalid"));
      return;
    }
    if (current.origins.indexOf(new URL(url).origin) < 0) {
      setBanner(t("url.foreign", { origins: current.origins.join(", ") }));
      return;
    }
    send({ type: "navigate", action: "url", url: url });
  });

  // Listen inside the mirror's document (same origin, no scripts of its own). It never acts by
  // itself: clicks and submits are stopped there and sent to the customer's page instead.
  function watchMirror() {
    var iframe = ui.stage.querySelector("iframe");
    var doc = iframe && iframe.contentDocument;
    if (!doc) return;
    var writing = function () {
      return current && !current.ended && current.mode === "write";
    };
    var nodeId = function (el) {
      var id = current.replayer.getMirror().getId(el);
      return id > 0 ? id : null;
    };
    doc.addEventListener("click", function (event) {
      event.preventDefault();
      if (!writing()) return;
      var target = event.target;
      var point = { x: event.clientX, y: event.clientY };
      var marked = target.closest && target.closest(MARKED);
      if (marked) {
        showAlert(point, refusal(marked));
        return;
      }
      var id = nodeId(target);
      if (!id) return;
      if (target.matches("input[type=checkbox],input[type=radio]")) {
        flushInputs();
        send({ type: "input", id: id, checked: target.checked });
      } else {
        var onThePage = onPage(point);
        send({ type: "click", id: id, x: onThePage.x, y: onThePage.y });
      }
      ring(point);
    }, true);
    doc.addEventListener("submit", function (event) {
      event.preventDefault();
    }, true);
    doc.addEventListener("input", function (event) {
      var target = event.target;
      if (!writing() || target.matches("input[type=checkbox],input[type=radio]")) return;
      if (target.closest(MARKED)) return;
      var id = nodeId(target);
      if (!id) return;
      queueInput(id, target.isContentEditable ? target.textContent : target.value);
    }, true);
    doc.addEventListener("focusin", function (event) {
      var target = event.target;
      if (!writing()) return;
      if (target.closest && target.closest(MARKED)) {
        target.blur(); // masked and restricted fields take no typing from the agent
        return;
      }
      var id = nodeId(target);
      if (id) send({ type: "focus", id: id });
    }, true);
    doc.addEventListener("mousemove", function (event) {
      if (!writing()) return;
      var point = { x: event.clientX, y: event.clientY };
      var marked = event.target.closest && event.target.closest(MARKED);
      showAlert(point, marked && refusal(marked));
      queuePointer(point);
    }, true);
    doc.addEventListener("mouseleave", function () {
      if (current) current.agentPointer = null;
    });
    var gestureAt = -Infinity;
    ["wheel", "keydown", "mousedown", "touchstart"].forEach(function (name) {
      doc.addEventListener(name, function () {
        gestureAt = Date.now();
      }, { capture: true, passive: true });
    });
    doc.addEventListener("scroll", function (event) {
      if (event.target === doc) onMirrorScroll();
      if (writing() && Date.now() - gestureAt < GESTURE_SCROLL) onAgentScroll(doc, event.target);
    }, { capture: true, passive: true });
    if (current.mode === "write") current.replayer.enableInteract();
  }

  function ring(point) {
    var el = document.createElement("div");
    el.className = "click-ring";
    el.dataset.testid = "agent-click";
    el.style.left = point.x + "px";
    el.style.top = point.y + "px";
    ui.overlay.appendChild(el);
    setTimeout(function () {
      el.remove();
    }, 1500);
  }

  // ---------------------------------------------------------------------------
  // Session panel
  // ---------------------------------------------------------------------------

  ui.exit.addEventListener("click", function () {
    if (!current || current.ended) return;
    send({ type: "exit" });
  });

  function showSession(session) {
    showError(""); // an earlier failed attempt is not news once a session is live
    ui.session.hidden = false;
    ui.code.textContent = session.code_display;
    ui.url.value = session.current_url || "";
    ui.input.value = "";
    if (session.viewport) resize(session.viewport.width, session.viewport.height);
    if (session.status === "paused") {
      setStatus(t("status.paused"), "paused");
      setBanner(t("banner.paused"));
    } else {
      setStatus(t("status.waiting_page"), "waiting");
    }
    ui.exit.disabled = false;
    document.body.dataset.cobrowse = "joined";
  }

  function endView(message) {
    if (!current) return;
    current.ended = true;
    drawCustomerPointer(); // the customer's pointer goes with the session
    clearTimeout(current.pauseTimer);
    if (current.socket && current.socket.readyState <= WebSocket.OPEN) current.socket.close(1000);
    setStatus(t("status.ended"), "ended");
    setBanner(message || t("banner.ended"));
    setMode("pointer");
    ui.writeToggle.hidden = true;
    ui.exit.disabled = true;
    ui.join.disabled = false;
    document.body.dataset.cobrowse = "ended";
    if (pendingOffer) {
      // A chat customer's co-browse was waiting for this agent: open it now.
      var offer = pendingOffer;
      pendingOffer = null;
      setTimeout(function () {
        join(offer.code);
      }, 1500);
    }
  }

  function setStatus(text, kind) {
    statusKind = kind || "";
    ui.status.textContent = text;
    ui.status.className = "chip " + (kind || "");
    ui.view.classList.toggle("paused", kind === "paused");
  }

  // ---------------------------------------------------------------------------
  // How fresh the view is (frontend/workspace/freshness.js): a ping every 2 s measures this
  // browser's clock against the server's; four times a second the readout is redrawn, and a
  // live view whose customer page went silent (or hidden) says so instead of "Live".
  // ---------------------------------------------------------------------------

  var statusKind = "";
  var PING_MS = 2000;

  setInterval(function () {
    if (current && !current.ended && current.joined) send({ type: "ping", t: Date.now() });
  }, PING_MS);

  setInterval(showFreshness, 250);

  function showFreshness() {
    var readout = ui.readout;
    if (!readout) return;
    if (!current || current.ended || !current.joined) {
      readout.hidden = true;
      return;
    }
    var r = current.freshness.read();
    var parts = [r.lag === null ? t("readout.measuring") : t("readout.lag", { ms: r.lag }),
      t("readout.bytes", { down: r.down, up: r.up })];
    if (statusKind === "live" || statusKind === "stale") {
      if (r.silentFor > SILENT_MS) {
        if (statusKind !== "stale" || ui.status.dataset.why !== "silent") {
          setStatus(t("status.silent"), "stale");
          ui.status.dataset.why = "silent";
        }
        parts.unshift(t("readout.silent", { count: Math.floor(r.silentFor / 1000) }));
      } else if (r.hidden) {
        if (statusKind !== "stale" || ui.status.dataset.why !== "hidden") {
          setStatus(t("status.hidden"), "stale");
          ui.status.dataset.why = "hidden";
        }
        parts.unshift(t("readout.hidden"));
      } else if (statusKind === "stale") {
        setStatus(t("status.live"), "live");
        delete ui.status.dataset.why;
      }
    }
    readout.hidden = false;
    readout.textContent = parts.join(" · ");
    readout.dataset.lag = r.lag === null ? "" : String(r.lag);
    readout.dataset.silent = String(Math.round(r.silentFor));
  }

  function setBanner(text) {
    ui.banner.textContent = text;
    ui.banner.hidden = !text;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function display(code) {
    return code.slice(0, 3) + " " + code.slice(3, 6) + " " + code.slice(6);
  }

  // ---------------------------------------------------------------------------
  // Tabs
  // ---------------------------------------------------------------------------

  var tabs = { cobrowse: $("cobrowse-tab"), chats: $("chats-tab") };
  var panels = {
    cobrowse: document.getElementById("cobrowse-panel"),
    chats: document.getElementById("chats-panel"),
  };

  function showTab(name) {
    Object.keys(tabs).forEach(function (key) {
      var active = key === name;
      tabs[key].classList.toggle("active", active);
      tabs[key].setAttribute("aria-selected", String(active));
      panels[key].hidden = !active;
    });
    if (name === "cobrowse") applyZoom();
  }

  tabs.cobrowse.addEventListener("click", function () {
    showTab("cobrowse");
  });
  tabs.chats.addEventListener("click", function () {
    showTab("chats");
  });

  // ---------------------------------------------------------------------------
  // Chats and calls: the queue, several conversations at once, one co-browse at a time
  // ---------------------------------------------------------------------------

  var inbox = { socket: null, retries: 0, queued: [], mine: {}, order: [], selected: null, pending: [] };
  var chatUi = {
    queue: document.getElementById("queue"),
    mine: document.getElementById("mine"),
    count: document.getElementById("queue-count"),
    empty: document.getElementById("conversation-empty"),
    body: document.getElementById("conversation-body"),
    title: document.getElementById("conversation-title"),
    status: document.getElementById("conversation-status"),
    end: $("end-interaction"),
    transcript: document.getElementById("transcript"),
    form: document.getElementById("chat-form"),
    input: $("chat-input"),
  };
  var pendingOffer = null;

  function connectInbox() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/inbox/");
    inbox.socket = socket;
    socket.onopen = function () {
      inbox.retries = 0;
    };
    socket.onmessage = function (message) {
      var data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      onInboxFrame(data);
    };
    socket.onclose = function (event) {
      if (event.code >= 4000 && event.code < 5000) return;
      inbox.retries += 1;
      setTimeout(connectInbox, backoff(inbox.retries));
    };
  }

  function inboxSend(data) {
    if (inbox.socket && inbox.socket.readyState === WebSocket.OPEN) {
      inbox.socket.send(JSON.stringify(data));
      return true;
    }
    return false;
  }

  function remember(entry) {
    var id = entry.interaction.id;
    if (!inbox.mine[id]) inbox.order.push(id);
    inbox.mine[id] = { interaction: entry.interaction, messages: entry.messages || [], unread: 0 };
  }

  function onInboxFrame(data) {
    switch (data.type) {
      case "state":
        inbox.queued = data.queued;
        inbox.mine = {};
        inbox.order = [];
        data.mine.forEach(remember);
        // Messages typed while the connection was down go now (the server stores each once).
        inbox.pending.forEach(function (p) {
          inboxSend(p);
        });
        if (!inbox.selected && inbox.order.length) inbox.selected = inbox.order[0];
        renderInbox();
        break;
      case "queue":
        inbox.queued = data.queued;
        renderInbox();
        break;
      case "interaction":
        remember(data);
        inbox.selected = data.interaction.id;
        renderInbox();
        break;
      case "message":
        var m = data.message;
        var entry = inbox.mine[m.interaction];
        if (!entry) break;
        if (!entry.messages.some(function (x) { return x.id === m.id; })) entry.messages.push(m);
        inbox.pending = inbox.pending.filter(function (p) {
          return p.client_id !== m.client_id;
        });
        if (inbox.selected !== m.interaction || panels.chats.hidden) entry.unread += 1;
        renderInbox();
        break;
      case "interaction.ended":
        var ended = inbox.mine[data.id];
        if (ended) {
          ended.interaction.status = "ended";
          ended.messages.push({ id: -Date.now(), sender: "system", text: data.message });
        }
        renderInbox();
        break;
      case "cobrowse.offer":
        onOffer(data);
        break;
      case "error":
        chatUi.status.textContent = data.message;
        break;
      default:
        break;
    }
  }

  // The customer of one of my chats started co-browse: open it, or keep it for when I am free.
  function onOffer(offer) {
    if (offer.busy || (current && !current.ended && current.code !== offer.code)) {
      pendingOffer = offer;
      showTab("cobrowse");
      setBanner(t("banner.offer_waits", { code: display(offer.code) }));
      return;
    }
    showTab("cobrowse");
    if (!current || current.ended || current.code !== offer.code) join(offer.code);
  }

  function renderInbox() {
    chatUi.count.hidden = !inbox.queued.length;
    chatUi.count.textContent = String(inbox.queued.length);
    chatUi.count.title = t("inbox.waiting_count", { count: inbox.queued.length });
    clear(chatUi.queue);
    if (!inbox.queued.length) chatUi.queue.appendChild(item("li", "muted empty", t("inbox.nobody_waiting")));
    inbox.queued.forEach(function (i) {
      var li = item("li", "item");
      li.appendChild(item("span", "name", i.customer_name));
      var accept = item("button", "primary", t("inbox.accept"));
      accept.type = "button";
      accept.dataset.testid = "accept-chat";
      accept.addEventListener("click", function () {
        inboxSend({ type: "accept", id: i.id });
      });
      li.appendChild(accept);
      chatUi.queue.appendChild(li);
    });
    clear(chatUi.mine);
    if (!inbox.order.length) chatUi.mine.appendChild(item("li", "muted empty", t("inbox.none_yours")));
    inbox.order.forEach(function (id) {
      var entry = inbox.mine[id];
      var li = item("li", "item" + (id === inbox.selected ? " selected" : ""));
      li.dataset.testid = "interaction";
      li.appendChild(item("span", "name", entry.interaction.customer_name));
      var call = entry.interaction.channel === "voice";
      var kind = entry.interaction.status === "ended" ?
        t(call ? "inbox.call_ended" : "inbox.chat_ended") : t(call ? "inbox.call" : "inbox.chat");
      li.appendChild(item("span", "kind", kind));
      if (entry.unread) li.appendChild(item("span", "count", String(entry.unread)));
      li.addEventListener("click", function () {
        inbox.selected = id;
        renderInbox();
      });
      chatUi.mine.appendChild(li);
    });
    renderConversation();
  }

  function renderConversation() {
    var entry = inbox.selected && inbox.mine[inbox.selected];
    chatUi.empty.hidden = !!entry;
    chatUi.body.hidden = !entry;
    if (!entry) return;
    entry.unread = 0;
    var i = entry.interaction;
    var voice = i.channel === "voice";
    var live = i.status !== "ended";
    chatUi.title.textContent = t(voice ? "conversation.call_with" : "conversation.chat_with", {
      name: i.customer_name,
    }) + (voice && i.external_id ? " (" + i.external_id + ")" : "");
    chatUi.status.textContent = t(live ? "conversation.active" : "conversation.ended");
    chatUi.status.className = "chip " + (live ? "live" : "ended");
    chatUi.end.textContent = t(voice ? "conversation.end_call" : "conversation.end_chat");
    chatUi.end.disabled = !live;
    chatUi.form.hidden = voice;
    chatUi.input.disabled = !live;
    clear(chatUi.transcript);
    if (voice) {
      chatUi.transcript.appendChild(item("div", "msg system", t("conversation.voice_note")));
    }
    entry.messages.concat(inbox.pending.filter(function (p) {
      return p.id === i.id;
    }).map(function (p) {
      return { sender: "agent", text: p.text, pending: true };
    })).forEach(function (m) {
      var line = item("div", "msg " + m.sender + (m.pending ? " pending" : ""));
      line.appendChild(document.createTextNode(m.text));
      if (m.cobrowse_code) {
        var link = item("button", "link-button", " " + t("conversation.open_cobrowse", { code: display(m.cobrowse_code) }));
        link.type = "button";
        link.dataset.testid = "cobrowse-link";
        link.addEventListener("click", function () {
          onOffer({ code: m.cobrowse_code, busy: false });
        });
        line.appendChild(document.createTextNode(" "));
        line.appendChild(link);
      }
      chatUi.transcript.appendChild(line);
    });
    chatUi.transcript.scrollTop = chatUi.transcript.scrollHeight;
  }

  chatUi.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = chatUi.input.value.trim();
    if (!text || !inbox.selected) return;
    chatUi.input.value = "";
    var frame = {
      type: "message",
      id: inbox.selected,
      text: text,
      client_id: Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10),
    };
    inbox.pending.push(frame);
    inboxSend(frame);
    renderConversation();
  });

  chatUi.end.addEventListener("click", function () {
    if (inbox.selected) inboxSend({ type: "end", id: inbox.selected });
  });

  function item(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  connectInbox();

  // Resume the agent's own live session after a reload of the workspace.
  var existing = document.getElementById("current-session");
  if (existing) {
    var session = JSON.parse(existing.textContent);
    if (session && session.code) join(session.code);
  }

  window.CobrowseWorkspace = {
    current: function () {
      return current && {
        code: current.code,
        ended: current.ended,
        firstMirrorAt: current.firstMirrorAt,
        freshness: current.freshness.read(),
      };
    },
  };
})();
