#!/usr/bin/env node
/**
 * The `assoc-etl` executable (bundle.mjs copies it to `dist/assoc-etl.mjs`): runs the bundle `assoc-etl.cjs`
 * with the V8 code cache bundle.mjs made for it, `assoc-etl.cjs.cache`. Node 20 has no compile cache of its
 * own (`module.enableCompileCache` came in Node 22), and compiling the 3.8 MB bundle took ~0.2 s of every start.
 *
 * The cache starts with the SHA-256 of the bundle it was made from, and is used only with that bundle: V8's own
 * check is the source's length. V8 refuses a cache made by another Node version or with other flags; the
 * bundle is then compiled as it would be without one. A missing or unreadable cache only costs the time.
 *
 * `ASSOC_ETL_CODE_CACHE=write` writes the cache as the process exits (bundle.mjs runs `--help` so);
 * `ASSOC_ETL_CODE_CACHE=check` prints to stderr whether it was used.
 */
import { Buffer, isAscii } from "node:buffer"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"

const dir = path.dirname(fileURLToPath(import.meta.url))
const file = path.join(dir, "assoc-etl.cjs")
const cacheFile = `${file}.cache`
const mode = process.env.ASSOC_ETL_CODE_CACHE
const bytes = fs.readFileSync(file)
// esbuild writes ASCII (its default charset), which is read as Latin-1 at the cost of a copy; UTF-8 took 4x.
const source = isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8")
const digest = createHash("sha256").update(bytes).digest()

let cachedData
try {
  const saved = fs.readFileSync(cacheFile)
  if (saved.subarray(0, digest.length).equals(digest)) cachedData = saved.subarray(digest.length)
} catch {
  // No cache: compile.
}

// Node's own CommonJS wrapper, so the bundle sees what a required module sees.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
  filename: file,
  ...(cachedData === undefined ? {} : { cachedData })
})
if (mode === "check") {
  console.error(`code cache: ${cachedData === undefined ? "none" : script.cachedDataRejected ? "refused by V8" : "used"}`)
}
if (mode === "write") {
  process.once("exit", () => fs.writeFileSync(cacheFile, Buffer.concat([digest, script.createCachedData()])))
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, dir)
