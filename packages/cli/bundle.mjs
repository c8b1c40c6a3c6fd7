/**
 * Bundles the compiled CLI (`dist/bin.js`, from `tsc -b`) into one file, `dist/assoc-etl.mjs`, which is what
 * `assoc-etl` runs. Loading Effect, @effect/platform and @effect/cli as ~300 separate ES modules took 1.5 s
 * before the first line of our code ran (Node 20 has no compile cache); one tree-shaken file starts in 0.6 s.
 *
 *   node packages/cli/bundle.mjs
 */
import * as esbuild from "esbuild"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

await esbuild.build({
  entryPoints: [path.join(here, "dist/bin.js")],
  outfile: path.join(here, "dist/assoc-etl.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Dependencies written as CommonJS call `require` for Node's built-ins, which an ES module lacks.
  banner: { js: "import { createRequire as __assocEtlRequire } from \"node:module\"\nconst require = __assocEtlRequire(import.meta.url)" }
})
