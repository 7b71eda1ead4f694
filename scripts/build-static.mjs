// Builds the browser bundles into static/cobrowse/ (ignored by git; run at set-up time).
import { build } from "esbuild";
import { copyFileSync, readFileSync } from "node:fs";

// rrweb 2.1.6's recorder diffs a changed style attribute by parsing the old value with
// setAttribute("style") on a span of a created document, which a strict CSP (style-src without
// 'unsafe-inline') reports as a violation on the customer's page at every style change. Setting
// the same text through the CSSOM (style.cssText) parses it identically and is allowed. The
// build fails if the line is not found, so an rrweb upgrade cannot drop the fix unnoticed.
const STYLE_DIFF = 'old.setAttribute("style", m.oldValue);';
let recorderPatched = false;
const cspSafeRecorder = {
  name: "csp-safe-recorder",
  setup(build) {
    build.onLoad({ filter: /@rrweb[\\/]record[\\/]dist[\\/]record\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes(STYLE_DIFF)) {
        throw new Error("rrweb's style diff changed: review the CSP patch in build-static.mjs");
      }
      recorderPatched = true;
      return { contents: source.replace(STYLE_DIFF, "old.style.cssText = m.oldValue;"), loader: "js" };
    });
  },
};

// COBROWSE_UNMINIFIED=1 keeps names readable for a profiler (bench/rebuild_profile.py).
const minify = process.env.COBROWSE_UNMINIFIED !== "1";
const common = { bundle: true, format: "iife", minify, sourcemap: true, target: ["es2019"], legalComments: "none" };

await build({
  ...common,
  entryPoints: ["frontend/widget.js"],
  outfile: "static/cobrowse/widget.js",
  plugins: [cspSafeRecorder],
});
if (!recorderPatched) throw new Error("the widget bundle no longer loads rrweb's record.js: review the CSP patch");
await build({ ...common, entryPoints: ["frontend/workspace.js"], outfile: "static/cobrowse/workspace.js" });
await build({ ...common, entryPoints: ["frontend/supervisor.js"], outfile: "static/cobrowse/supervisor.js" });
copyFileSync("node_modules/@rrweb/replay/dist/style.css", "static/cobrowse/replay.css");
console.log("built static/cobrowse/widget.js, workspace.js, supervisor.js, replay.css");
