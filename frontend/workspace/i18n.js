/*
 * The words the workspace and supervisor pages write themselves, in the agent's language.
 * The server puts a catalog in the page (json_script id="i18n", built with gettext in
 * sessions_app/i18n.py); `t(key, params)` looks a key up and fills in `%(name)s`. A message with
 * a count is an object of CLDR plural categories, picked with Intl.PluralRules for the page's
 * <html lang>; numbers are written with Intl.NumberFormat. A key the catalog lacks shows as
 * itself (tests/test_translations.py makes sure none does).
 */

export function translator(catalog, lang) {
  var rules = new Intl.PluralRules(lang);
  var numbers = new Intl.NumberFormat(lang);

  function text(value) {
    return typeof value === "number" ? numbers.format(value) : String(value);
  }

  return function t(key, params) {
    var entry = Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : key;
    if (entry && typeof entry === "object") {
      var count = params && typeof params.count === "number" ? params.count : 0;
      entry = entry[rules.select(count)] || entry.other;
    }
    return String(entry).replace(/%\((\w+)\)s/g, function (whole, name) {
      return params && Object.prototype.hasOwnProperty.call(params, name) ? text(params[name]) : whole;
    });
  };
}

function pageCatalog() {
  var node = document.getElementById("i18n");
  try {
    return (node && JSON.parse(node.textContent)) || {};
  } catch {
    return {};
  }
}

var pageT = null;

// The page's own translator, made on first use (the catalog is in the HTML before the script).
export function t(key, params) {
  if (!pageT) pageT = translator(pageCatalog(), document.documentElement.lang || "en");
  return pageT(key, params);
}
