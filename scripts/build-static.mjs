// Builds the browser bundles into static/cobrowse/ (ignored by git; run at set-up time).
import { build } from "esbuild";
import { copyFileSync } from "node:fs";

const common = { bundle: true, format: "iife", minify: true, sourcemap: true, target: ["es2019"], legalComments: "none" };

await build({ ...common, entryPoints: ["frontend/widget.js"], outfile: "static/cobrowse/widget.js" });
await build({ ...common, entryPoints: ["frontend/workspace.js"], outfile: "static/cobrowse/workspace.js" });
await build({ ...common, entryPoints: ["frontend/supervisor.js"], outfile: "static/cobrowse/supervisor.js" });
copyFileSync("node_modules/@rrweb/replay/dist/style.css", "static/cobrowse/replay.css");
console.log("built static/cobrowse/widget.js, workspace.js, supervisor.js, replay.css");
