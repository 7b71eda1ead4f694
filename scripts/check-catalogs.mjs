// Fails (exit 1) when a language of the widget's catalog misses a key of the English one, has a
// key English does not, or drops a {placeholder} or a plural form: run by `npm run lint`.
// Usage: node scripts/check-catalogs.mjs [path/to/i18n.js]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const file = resolve(process.argv[2] || new URL("../frontend/widget/i18n.js", import.meta.url).pathname);
const { CATALOGS } = await import(pathToFileURL(file).href);

const problems = [];
const placeholders = (text) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");
const english = CATALOGS.en;
for (const [lang, catalog] of Object.entries(CATALOGS)) {
  for (const key of Object.keys(english)) {
    if (!(key in catalog)) {
      problems.push(`${lang}: missing "${key}"`);
      continue;
    }
    const want = english[key];
    const got = catalog[key];
    if (typeof want !== typeof got) problems.push(`${lang}: "${key}" is not a ${typeof want}`);
    else if (typeof want === "object") {
      const rules = new Intl.PluralRules(lang);
      for (const category of rules.resolvedOptions().pluralCategories) {
        if (!got[category] && !got.other) problems.push(`${lang}: "${key}" has no "${category}" form`);
      }
      for (const form of Object.values(got)) {
        if (placeholders(form) !== placeholders(want.other)) problems.push(`${lang}: "${key}" placeholders`);
      }
    } else if (placeholders(got) !== placeholders(want)) {
      problems.push(`${lang}: "${key}" has {${placeholders(got)}}, English has {${placeholders(want)}}`);
    } else if (!got.trim()) problems.push(`${lang}: "${key}" is empty`);
  }
  for (const key of Object.keys(catalog)) {
    if (!(key in english)) problems.push(`${lang}: "${key}" is not an English key`);
  }
}
if (problems.length) {
  console.error(`Widget catalogs (${file}):\n  ` + problems.join("\n  "));
  process.exit(1);
}
console.log(`widget catalogs: ${Object.keys(CATALOGS).join(", ")} complete (${Object.keys(english).length} keys)`);
