/**
 * The release's own steps; RELEASING.md tells the whole flow.
 *
 *   node scripts/release.mjs version   after `changeset version`: checks that the eight published packages share
 *                                      one version, and writes it where the tool states its own
 *                                      (`Dataset.toolVersion`: `assoc-etl --version` and every manifest.json)
 *   node scripts/release.mjs build     a build from nothing: each package's dist/ removed first, since `tsc -b`
 *                                      keeps the output of a source file that is gone and `files` would publish
 *                                      it; then `tsc -b --force` and the CLI's bundle
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const published = ["core", "hubspot", "sink-ndjson", "sink-parquet", "diff", "bucket", "simulator", "cli"]
const toolVersionFile = path.join(root, "packages/core/src/internal/dataset/writer.ts")
const toolVersionPattern = /export const toolVersion = "[^"]*"/

const fail = (message) => {
  console.error(`release: ${message}`)
  process.exit(1)
}

const run = (args) => {
  console.error(`$ node ${args.map((a) => path.relative(root, a) || a).join(" ")}`)
  const ran = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" })
  if (ran.status !== 0) fail(`${args.join(" ")} exited ${ran.status}`)
}

const version = () => {
  const versionOf = (p) => JSON.parse(fs.readFileSync(path.join(root, "packages", p, "package.json"), "utf8")).version
  const versions = new Map(published.map((p) => [p, versionOf(p)]))
  const distinct = new Set(versions.values())
  if (distinct.size !== 1) {
    fail(`the published packages must share one version (.changeset/config.json "fixed"): ${[...versions].join(", ")}`)
  }
  const [next] = distinct
  const source = fs.readFileSync(toolVersionFile, "utf8")
  if (!toolVersionPattern.test(source)) fail(`no \`export const toolVersion = "..."\` in ${toolVersionFile}`)
  fs.writeFileSync(toolVersionFile, source.replace(toolVersionPattern, `export const toolVersion = "${next}"`))
  console.error(`release: version ${next}, also in ${path.relative(root, toolVersionFile)}`)
}

const build = () => {
  for (const p of published) fs.rmSync(path.join(root, "packages", p, "dist"), { recursive: true, force: true })
  run([createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-b", "--force"])
  run([path.join(root, "packages/cli/bundle.mjs")])
}

const steps = { version, build }
const step = steps[process.argv[2]]
if (step === undefined) fail(`usage: node scripts/release.mjs ${Object.keys(steps).join("|")}`)
step()
