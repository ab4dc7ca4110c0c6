// Bundles src/index.ts (Lit and all) into ONE minified script, payoutkit/static/connect.js, which the
// Python package serves at /v1.0/connect.js and ships in its wheel. `node build.mjs` (npm run build);
// prints the size and the gzipped size (the target is under 30 KB gzipped: docs/benchmarks.md).
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const out = fileURLToPath(new URL("../payoutkit/static/connect.js", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));

await build({
  entryPoints: [fileURLToPath(new URL("./src/index.ts", import.meta.url))],
  outfile: out,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022"],
  legalComments: "none",
  define: { __PAYOUTKIT_CONNECT_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "warning",
});

const code = readFileSync(out);
console.log(`connect.js: ${code.length} bytes, ${gzipSync(code, { level: 9 }).length} bytes gzipped`);
