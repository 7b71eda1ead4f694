// ESLint for the browser code in frontend/ (`npm run lint`; scripts/test.sh runs it).
// The bundles in static/ are esbuild's output, not ours to lint.
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["static/", "node_modules/"] },
  {
    files: ["frontend/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      globals: globals.browser,
    },
  },
];
