/*
 * Supervisor page: keeps the table of live sessions current by polling the sessions API.
 * Rows are built with textContent only; session data never becomes markup.
 */
import { t } from "./workspace/i18n.js";

(function () {
  "use strict";

  var POLL_MS = 3000;

  var table = document.querySelector("[data-testid=supervisor-sessions]");
  if (!table) return;
  var rows = document.getElementById("session-rows");
  var status = document.getElementById("refresh-status");
  var problem = document.getElementById("refresh-error");
  var api = table.getAttribute("data-api");
  var csrf = table.getAttribute("data-csrf");
  var count = document.getElementById("session-count");
  var lang = document.documentElement.lang || undefined;

  // ---------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clock(iso) {
    if (!iso) return el("span", "—");
    var time = el("time", new Date(iso).toLocaleTimeString(lang, { hour12: false }));
    time.setAttribute("datetime", iso);
    return time;
  }

  function cell(child) {
    var td = document.createElement("td");
    td.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    return td;
  }

  function endForm(code) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/supervisor/" + encodeURIComponent(code) + "/end/";
    form.className = "inline";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrf;
    var button = el("button", t("end"), "danger");
    button.type = "submit";
    button.setAttribute("data-testid", "end-session-" + code);
    form.appendChild(token);
    form.appendChild(button);
    return form;
  }

  function row(s) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-code", s.code);
    tr.appendChild(cell(el("span", s.code_display, "code")));
    tr.appendChild(cell(s.site));
    tr.appendChild(cell(s.agent || "—"));
    var status = el("span", t("status." + s.status), "chip " + (s.status === "active" ? "live" : s.status));
    tr.appendChild(cell(status));
    tr.appendChild(cell(t("mode." + s.mode)));
    tr.appendChild(cell(s.interaction ? t("channel." + s.interaction_channel) + " #" + s.interaction : "—"));
    tr.appendChild(cell(clock(s.created)));
    tr.appendChild(cell(clock(s.joined_at)));
    tr.appendChild(cell("v" + s.policy_version));
    tr.appendChild(cell(endForm(s.code)));
    return tr;
  }

  function render(sessions) {
    var fresh = document.createDocumentFragment();
    sessions.forEach(function (s) {
      fresh.appendChild(row(s));
    });
    if (!sessions.length) {
      var empty = el("tr", null, "empty");
      var td = el("td", t("none"), "muted");
      td.colSpan = 10;
      empty.appendChild(td);
      fresh.appendChild(empty);
    }
    rows.replaceChildren(fresh);
    if (count) count.textContent = t("count", { count: sessions.length });
  }

  // ---------------------------------------------------------------------------
  // Polling
  // ---------------------------------------------------------------------------

  function refresh() {
    fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          throw new Error(t("forbidden"));
        }
        if (!response.ok) throw new Error(t("server_answered", { status: String(response.status) }));
        return response.json();
      })
      .then(function (sessions) {
        render(sessions);
        problem.hidden = true;
        status.textContent = t("updated", { time: new Date().toLocaleTimeString(lang, { hour12: false }) });
      })
      .catch(function (error) {
        problem.textContent = t("refresh_failed", { error: error.message });
        problem.hidden = false;
      })
      .then(function () {
        setTimeout(refresh, POLL_MS);
      });
  }

  refresh();
})();
