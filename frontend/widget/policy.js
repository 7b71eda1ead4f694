/*
 * Policy: what the agent may see and touch on this page, applied before anything leaves it.
 *
 * The server is the only place that knows the rules (its defaults included): the widget receives
 * them compiled from /api/v1/sites/<key>/policy and applies them as they are. The server's guard
 * applies the same lists again to whatever arrives (policies/guard.py).
 *
 * Every rule covers an element and everything inside it, across shadow roots and same-origin
 * frames; a label covers the control it labels; anything that would submit a form or leave the
 * site is refused to the agent.
 */

import { childrenOf, hostOf, rootOf } from "./natives.js";

export var MASK_ATTR = "data-cobrowse-mask";
export var RESTRICT_ATTR = "data-cobrowse-restrict";

function join(list) {
  return (list || []).filter(Boolean).join(",");
}

// The element's parent, or the host of its shadow root, or the <iframe> of its (same-origin)
// document: rules set on any of them cover it.
export function composedParent(node) {
  if (!node) return null;
  if (node.parentElement) return node.parentElement;
  var root = rootOf(node);
  if (hostOf(root)) return hostOf(root);
  try {
    var view = (node.ownerDocument || node).defaultView;
    if (view && view.frameElement && node === view.document.documentElement) return view.frameElement;
  } catch {
    return null; // a cross-origin frame: its parent is not ours to read
  }
  return null;
}

function safeMatches(element, selector) {
  if (!selector || !element || element.nodeType !== 1) return false;
  try {
    return element.matches(selector);
  } catch {
    return true; // a selector this browser cannot read: restrict rather than leak
  }
}

// The element itself or its nearest composed ancestor matching the selector.
export function composedClosest(element, selector) {
  if (!selector) return null;
  for (var node = element; node; node = composedParent(node)) {
    if (node.nodeType === 1 && safeMatches(node, selector)) return node;
  }
  return null;
}

// `pathname`: the path the policy was fetched for (rules are per path). `wasPassword(element)`:
// whether the field is, or replaced, one that was a password at some moment.
export function createPolicy(raw, wasPassword, pathname) {
  var block = raw.mask.block || [];
  var policy = {
    raw: raw,
    // The page the rules were compiled for: another path needs the policy fetched again.
    pathname: pathname,
    maskInput: join(raw.mask.input),
    field: join(raw.restrict.field),
    control: join(raw.restrict.control),
    text: join(raw.mask.text),
    // The widget's own element is never recorded.
    block: join(["cobrowse-widget"].concat(block)),
    safeAttrs: new Set((raw.attributes && raw.attributes.safe) || ["id", "class"]),
    sensitiveAttrs: (raw.attributes && raw.attributes.sensitive) || ["value"],
    revealLength: !!raw.mask_reveals_length,
    maskText: raw.mask_text || "****",
    keptParams: raw.kept_params || [],
    origins: raw.origins || [location.origin],
    submitRestricted: raw.submit_restricted !== false,
  };
  // Same-origin frames show pages of other paths: every URL-scoped rule of the site applies in
  // them, whatever its pattern (fail closed; the server does the same).
  var frames = raw.frames || { mask: {}, restrict: {} };
  policy.frameMask = {
    input: join(frames.mask.input),
    text: join(frames.mask.text),
    block: join(frames.mask.block),
    field: join(frames.restrict.field),
    control: join(frames.restrict.control),
  };

  function inFrame(node) {
    return node.ownerDocument !== document;
  }

  // rrweb masks the text of these (and of their descendants) as it serializes.
  policy.maskTextSelector = join([policy.maskInput, policy.field, policy.text]);
  policy.maskTextOrBlock = join([policy.text, policy.block]);

  policy.stars = function (text) {
    text = String(text == null ? "" : text);
    if (policy.revealLength) return text.replace(/\S/g, "*");
    return /\S/.test(text) ? policy.maskText : text;
  };

  // Masked by a rule on the element itself, or once a password (whenever it was switched).
  policy.ownMaskKind = function (node) {
    if (wasPassword(node)) return "input";
    var mark = node.getAttribute(MASK_ATTR);
    if (mark) return mark;
    if (safeMatches(node, policy.block) || coversPicture(node)) return "block";
    if (safeMatches(node, policy.text)) return "text";
    if (safeMatches(node, policy.maskInput) || safeMatches(node, policy.field)) return "input";
    if (inFrame(node)) {
      var f = policy.frameMask;
      if (safeMatches(node, f.block)) return "block";
      if (safeMatches(node, f.text)) return "text";
      if (safeMatches(node, f.input) || safeMatches(node, f.field)) return "input";
    }
    return null;
  };

  // A <picture>'s <source srcset> shows the image a masked <img> in it hides.
  function coversPicture(node) {
    var picture = node.parentElement;
    if ((node.localName !== "source" && node.localName !== "img") || !picture ||
        picture.localName !== "picture") {
      return false;
    }
    var kids = childrenOf(picture);
    for (var i = 0; i < kids.length; i++) {
      var kid = kids[i];
      if (kid.localName === "img" && composedClosest(kid, policy.block)) return true;
    }
    return false;
  }

  // Masked by a rule on it or on an ancestor (the nearest one decides the kind).
  policy.maskKind = function (element) {
    if (!element || element.nodeType !== 1) return element ? "input" : null;
    for (var node = element; node; node = composedParent(node)) {
      var kind = node.nodeType === 1 && policy.ownMaskKind(node);
      if (kind) return kind;
    }
    return null;
  };

  policy.isMasked = function (element) {
    return !!policy.maskKind(element);
  };

  // Restricted by a rule on the element itself (what the agent's boxes show).
  policy.ownRestrictKind = function (node) {
    if (safeMatches(node, policy.field)) return "field";
    if (safeMatches(node, policy.control)) return "control";
    if (inFrame(node)) {
      if (safeMatches(node, policy.frameMask.field)) return "field";
      if (safeMatches(node, policy.frameMask.control)) return "control";
    }
    return null;
  };

  // Restricted by a rule on it or on an ancestor (what the agent may not act on).
  policy.restrictKind = function (element) {
    for (var node = element; node; node = composedParent(node)) {
      var kind = node.nodeType === 1 && policy.ownRestrictKind(node);
      if (kind) return kind;
    }
    return null;
  };

  // A label of a masked control: clicking it chooses the option as surely as clicking the input.
  policy.labelsMasked = function (element) {
    for (var node = element; node; node = composedParent(node)) {
      if (node.nodeType === 1 && node.localName === "label") {
        return !!node.control && policy.isMasked(node.control);
      }
    }
    return false;
  };

  policy.isChoice = function (element) {
    return !!element && element.nodeType === 1 && element.matches("input[type=radio i],input[type=checkbox i]");
  };

  // Only harmless attributes pass on a masked element; what describes it passes as ****.
  // In a snapshot a dropped attribute is deleted; in a mutation, null means "removed".
  policy.scrubAttributes = function (attrs, inSnapshot, kind) {
    Object.keys(attrs).forEach(function (name) {
      var lower = name.toLowerCase();
      if (kind !== "block" && policy.sensitiveAttrs.indexOf(lower) >= 0) {
        if (typeof attrs[name] === "string" && attrs[name]) attrs[name] = policy.stars(attrs[name]);
        return;
      }
      if (policy.safeAttrs.has(lower) || attrs[name] === null) return;
      if (kind === "block" && (lower === "rr_width" || lower === "rr_height")) return;
      if (inSnapshot) delete attrs[name];
      else attrs[name] = null;
    });
  };

  policy.sameSite = function (url) {
    try {
      var parsed = new URL(url, location.href);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
      return policy.origins.indexOf(parsed.origin) >= 0;
    } catch {
      return false;
    }
  };

  // A URL as the widget reports it: no fragment, only the query parameters the site allows.
  policy.cleanUrl = function (url) {
    return cleanUrl(url, policy.keptParams);
  };

  // Why the agent may not do this to this element, or null. Checked on the real element that
  // would receive the action (and again on the server, which knows the tree).
  policy.refusal = function (target, command) {
    if (!target || target.nodeType !== 1) return "That element is no longer on the page.";
    if (target.closest("cobrowse-widget")) return "The co-browse controls are the customer's.";
    if (policy.isMasked(target) || policy.restrictKind(target)) {
      return "That element is restricted: only the customer can use it.";
    }
    for (var node = target; node; node = composedParent(node)) {
      if (node.nodeType !== 1) continue;
      var tag = node.localName;
      if (tag === "label") {
        var control = node.control;
        if (control && (policy.isMasked(control) || policy.restrictKind(control))) {
          return "That label belongs to a restricted field: only the customer can use it.";
        }
      }
      if (command === "click" && policy.submitRestricted && submits(node)) {
        return "Only the customer can submit or reset this form.";
      }
      if (command === "click" && isLink(node) && !policy.sameSite(linkHref(node))) {
        return "That link leaves the site.";
      }
    }
    return null;
  };

  return policy;
}

// HTML: a button's missing, empty or invalid type is the submit state (keywords compare without
// case, untrimmed); a submit button submits its form owner, found by ancestry or form=. A reset
// button wipes what the customer typed: refused with the submits.
export function submits(node) {
  var tag = node.localName;
  var type = node.getAttribute("type");
  type = type === null ? null : type.toLowerCase();
  if (tag === "input") return type === "submit" || type === "image" || type === "reset";
  if (tag !== "button" || type === "button") return false;
  return !!node.form || node.hasAttribute("form") || !!node.closest("form");
}

function isLink(node) {
  var tag = node.localName;
  if (tag !== "a" && tag !== "area") return false;
  return node.hasAttribute("href") || node.hasAttribute("xlink:href") ||
    !!(node.getAttributeNS && node.getAttributeNS("http://www.w3.org/1999/xlink", "href"));
}

function linkHref(node) {
  var href = node.getAttribute("href");
  if (href === null && node.getAttributeNS) {
    href = node.getAttributeNS("http://www.w3.org/1999/xlink", "href");
  }
  if (href === null) href = node.getAttribute("xlink:href");
  href = (href || "").trim();
  if (href.charAt(0) === "#") return location.href;
  return new URL(href, node.baseURI || location.href).href;
}

export function cleanUrl(url, keptParams) {
  try {
    var parsed = new URL(url, location.href);
    var kept = new URLSearchParams();
    parsed.searchParams.forEach(function (value, name) {
      if ((keptParams || []).indexOf(name) >= 0) kept.append(name, value);
    });
    var query = kept.toString();
    return parsed.origin + parsed.pathname + (query ? "?" + query : "");
  } catch {
    return "";
  }
}
