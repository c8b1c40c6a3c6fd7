/**
 * Before any test: the e2e tests run the bundled CLI (`packages/cli/dist/assoc-etl.mjs`), so a bundle older
 * than the compiled packages it is made of is made again. `pnpm test` bundles anyway; this keeps
 * `npx tsc -b && npx vitest run test/e2e/...` from testing yesterday's CLI.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const newestIn = (dir: string): number => {
  let newest = 0
  if (!fs.existsSync(dir)) return newest
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestIn(p) : e.name.endsWith(".js") ? fs.statSync(p).mtimeMs : 0)
  }
  return newest
}

export default function setup(): void {
  const bundle = path.join(root, "packages/cli/dist/assoc-etl.mjs")
  const compiled = Math.max(
    ...fs.readdirSync(path.join(root, "packages")).map((pkg) => newestIn(path.join(root, "packages", pkg, "dist")))
  )
  if (compiled === 0) return // nothing compiled: the e2e tests say to run `npx tsc -b` first
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < compiled) {
    execFileSync(process.execPath, [path.join(root, "packages/cli/bundle.mjs")], { stdio: "inherit" })
  }
}
