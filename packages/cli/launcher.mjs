#!/usr/bin/env node
/**
 * The `assoc-etl` executable (bundle.mjs copies it to `dist/assoc-etl.mjs`): runs the bundle `assoc-etl.cjs`
 * with the V8 code cache bundle.mjs made for it, `assoc-etl.cjs.cache`. Node 20 has no compile cache of its
 * own (`module.enableCompileCache` came in Node 22), and compiling the 3.8 MB bundle took ~0.2 s of every start.
 *
 * The cache starts with the SHA-256 of the bundle it was made from and the SHA-256 of its V8 data, and is used
 * only with that bundle and only whole: V8's own check is the source's length and a header, and V8 crashed
 * (SIGSEGV) on data damaged past the header. V8 refuses a cache made by another Node version or with other
 * flags (`NODE_OPTIONS` included); the bundle is then compiled as it would be without one. A missing, damaged
 * or unreadable cache only costs the time.
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
const sha256 = (data) => createHash("sha256").update(data).digest()
const digest = sha256(bytes)

let cachedData
let found = false
try {
  const saved = fs.readFileSync(cacheFile)
  found = true
  const data = saved.subarray(64)
  if (saved.subarray(0, 32).equals(digest) && saved.subarray(32, 64).equals(sha256(data))) cachedData = data
} catch {
  // No cache: compile.
}

// Node's own CommonJS wrapper, so the bundle sees what a required module sees.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
  filename: file,
  ...(cachedData === undefined ? {} : { cachedData })
})
if (mode === "check") {
  const state = cachedData !== undefined ? (script.cachedDataRejected ? "refused by V8" : "used") : found ? "not used" : "none"
  console.error(`code cache: ${state}`)
}
if (mode === "write") {
  process.once("exit", () => {
    // Whole or not at all: written aside, then renamed over the old one. A cache that cannot be written only
    // costs the time.
    const data = script.createCachedData()
    const aside = `${cacheFile}.${process.pid}`
    try {
      fs.writeFileSync(aside, Buffer.concat([digest, sha256(data), data]))
      fs.renameSync(aside, cacheFile)
    } catch (e) {
      fs.rmSync(aside, { force: true })
      console.error(`assoc-etl: no code cache written to ${cacheFile}: ${e instanceof Error ? e.message : String(e)}`)
    }
  })
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, dir)
