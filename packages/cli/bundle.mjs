/**
 * Bundles the compiled CLI (`dist/bin.js`, from `tsc -b`) into one file, `dist/assoc-etl.cjs`, and makes the
 * executable `dist/assoc-etl.mjs` (launcher.mjs) that runs it with a V8 code cache. Loading Effect,
 * @effect/platform and @effect/cli as ~300 separate ES modules took 1.5 s before the first line of our code ran
 * (Node 20 has no compile cache); one tree-shaken file starts in 0.6 s, and 0.45 s with the code cache.
 *
 *   node packages/cli/bundle.mjs
 *
 * CommonJS, because only a classic script takes a code cache on Node 20 (`vm.Script`). esbuild starts it with
 * "use strict": strict code throughout, as the ES module it replaces was.
 */
import * as esbuild from "esbuild"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const bundle = path.join(here, "dist/assoc-etl.cjs")
const launcher = path.join(here, "dist/assoc-etl.mjs")

const built = await esbuild.build({
  entryPoints: [path.join(here, "dist/bin.js")],
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  logLevel: "warning",
  // A native module cannot be bundled: DuckDB (the diff's engine) is required from the CLI's own dependencies, and
  // only when a diff runs, so the other commands do not load it. Its dynamic `import()` becomes a `require`: the
  // launcher runs the bundle as a `vm.Script`, in which `import()` fails ("A dynamic import callback was not
  // specified").
  external: ["@duckdb/node-api"],
  // The AWS SDK (@assoc-etl/bucket's) is bundled, and evaluated only when a location is a bucket's: Storage.ts
  // loads the package with `import()`, which esbuild turns into a lazy init of the modules only it reaches.
  supported: { "dynamic-import": false },
  write: false
})
// bin.js's `#!` line is not JavaScript inside the launcher's function wrapper.
fs.writeFileSync(bundle, built.outputFiles[0].text.replace(/^#!.*\n/, ""))
fs.copyFileSync(path.join(here, "launcher.mjs"), launcher)
fs.chmodSync(launcher, 0o755)

// The cache of what `--help` compiles: the modules' start-up, which is most of it. (One made after a whole
// export was larger and no quicker to the first request.)
fs.rmSync(`${bundle}.cache`, { force: true })
const warm = spawnSync(process.execPath, [launcher, "--help"], {
  env: { ...process.env, ASSOC_ETL_CODE_CACHE: "write" },
  stdio: "ignore"
})
if (warm.status !== 0 || !fs.existsSync(`${bundle}.cache`)) {
  console.warn(`bundle.mjs: no code cache made (\`assoc-etl --help\` exited ${warm.status}); the CLI starts ~0.2 s slower`)
}
