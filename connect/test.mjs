// Unit tests of connect/src (formats, parsing): each test/*.test.ts bundled by esbuild, run by node:test.
import { build } from "esbuild";
import { readdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("./test/", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "connect-test-"));
const entries = readdirSync(dir).filter((f) => f.endsWith(".test.ts")).map((f) => join(dir, f));
await build({ entryPoints: entries, outdir: out, bundle: true, format: "esm", platform: "node", outExtension: { ".js": ".mjs" }, logLevel: "warning" });
const files = readdirSync(out).map((f) => join(out, f));
let failed = false;
const stream = run({ files }).on("test:fail", () => (failed = true));
stream.compose(spec).pipe(process.stdout);
await new Promise((resolve) => stream.on("end", resolve));
rmSync(out, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
