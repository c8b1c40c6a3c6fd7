/**
 * What a user gets from npm, before anything is published: every publishable package packed by pnpm as
 * `pnpm publish` packs it (`workspace:*` becomes the version), the tarballs installed by npm into an empty project
 * with README's install line, and there `npx assoc-etl`, `npx @assoc-etl/cli`, an export against the simulator,
 * and README's library script, each export's rows compared with the simulator's ground truth. Only third-party
 * packages come from the registry.
 */
import { SimulatedPortal, Simulator } from "@assoc-etl/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { readParquet } from "../support/DuckDb.js"
import { tempDir } from "../support/Parts.js"
import * as S3Server from "../support/S3Server.js"
import { assertExact, type Ran, root, sortedKeys, writeIds } from "./support.js"

const token = "install-test-token-5d2e"
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"))
const pnpmVersion = String(readJson(path.join(root, "package.json")).packageManager).replace(/^pnpm@/, "")

/**
 * Runs `command` in `cwd` to its end. npm's and pnpm's variables of this test run are left out (npm would take
 * `npm_config_local_prefix` for the project): npm reads its own configuration, as in a user's shell.
 */
const runIn = (cwd: string, command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<Ran>((resume) => {
    const inherited = Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^(npm|pnpm)_/i.test(k))
    const child = spawn(command, args, { cwd, env: { ...Object.fromEntries(inherited), ...env }, stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d)
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr += d)
    child.stdin.end()
    child.on("close", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const ok = (ran: Ran, what: string) => assert.strictEqual(ran.code, 0, `${what}:\n${ran.stdout}\n${ran.stderr}`)

/** README's `## Install` section: its `npm i` line for the library, and its script. */
const readmeInstall = () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const start = readme.indexOf("\n## Install\n")
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1))
  const line = /^npm i (@assoc-etl\/[^\n#]*)$/m.exec(section)
  const script = /```js\n([\s\S]*?)```/.exec(section)
  assert.isTrue(line !== null && script !== null, "README's install section has an `npm i` line and a script")
  return { specs: line![1]!.trim().split(/\s+/), script: script![1]! }
}

describe("the packages as npm installs them", () => {
  it.scopedLive("pack, install into an empty project, run the CLI and a library script there: exact rows", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const publishable = fs.readdirSync(path.join(root, "packages"))
        .map((p) => readJson(path.join(root, "packages", p, "package.json")))
        .filter((p) => p.private !== true)
      assert.deepStrictEqual(publishable.map((p) => p.name).sort(), [
        "@assoc-etl/bucket",
        "@assoc-etl/cli",
        "@assoc-etl/core",
        "@assoc-etl/diff",
        "@assoc-etl/hubspot",
        "@assoc-etl/simulator",
        "@assoc-etl/sink-ndjson",
        "@assoc-etl/sink-parquet"
      ])
      const version = readJson(path.join(root, "packages/cli/package.json")).version

      // Packed as published: `pnpm pack` rewrites workspace:* to the version.
      const tarballs = path.join(dir, "tarballs")
      const filters = publishable.flatMap((p) => ["--filter", p.name])
      const pnpm = ["-y", `pnpm@${pnpmVersion}`]
      ok(yield* runIn(root, "npx", [...pnpm, "-r", ...filters, "pack", "--pack-destination", tarballs]), "pnpm pack")
      const tarballOf = new Map(publishable.map((p) => {
        const file = path.join(tarballs, `${p.name.replace("@", "").replace("/", "-")}-${p.version}.tgz`)
        assert.isTrue(fs.existsSync(file), file)
        return [p.name, file]
      }))

      // README's line, its @assoc-etl packages from the tarballs, then the other packages' tarballs.
      const project = path.join(dir, "project")
      fs.mkdirSync(project)
      const manifest = { name: "a-user", private: true, type: "module" }
      fs.writeFileSync(path.join(project, "package.json"), JSON.stringify(manifest))
      const { script, specs } = readmeInstall()
      const named = specs.map((s) => tarballOf.get(s) ?? s)
      const rest = [...tarballOf].filter(([name]) => !specs.includes(name)).map(([, file]) => file)
      ok(yield* runIn(project, "npm", ["install", "--no-audit", "--no-fund", ...named, ...rest]), "npm install")
      for (const p of publishable) {
        const installed = readJson(path.join(project, "node_modules", p.name, "package.json"))
        assert.strictEqual(installed.version, version, p.name)
        for (const [dep, range] of Object.entries({ ...installed.dependencies, ...installed.peerDependencies })) {
          assert.notInclude(String(range), "workspace:", `${p.name} → ${dep}`)
        }
      }

      // The CLI by its bin's name and by its package's.
      for (const bin of ["assoc-etl", "@assoc-etl/cli"]) {
        const ran = yield* runIn(project, "npx", ["--no", "--", bin, "--version"])
        ok(ran, `npx ${bin} --version`)
        assert.strictEqual(ran.stdout.trim(), version)
      }

      const rateLimit = { max: 200, windowMillis: 1000 }
      const sim = yield* Simulator.make({ objects: 400, pageSize: 50, token, rateLimit })
      const env = { HUBSPOT_ACCESS_TOKEN: token, HUBSPOT_BASE_URL: sim.baseUrl }

      // An export of every contact's companies by the installed CLI.
      const cliOut = path.join(dir, "cli-out")
      const exported = yield* runIn(project, "npx", [
        "--no",
        "--",
        "assoc-etl",
        "export",
        "--from",
        "contacts",
        "--to",
        "companies",
        "--out",
        cliOut,
        "--rate-limit",
        "150/1s"
      ], env)
      ok(exported, "npx assoc-etl export")
      yield* assertExact(cliOut, sim.portal)

      // The same export into a bucket (s3rver on loopback): the AWS SDK the installed CLI carries runs there.
      const s3 = yield* S3Server.start()
      const bucketOut = `s3://${s3.bucket}/installed/contacts-companies`
      const uploaded = yield* runIn(project, "npx", [
        "--no",
        "--",
        "assoc-etl",
        "export",
        "--from",
        "contacts",
        "--to",
        "companies",
        "--out",
        bucketOut,
        "--rate-limit",
        "150/1s"
      ], { ...env, ...s3.env })
      ok(uploaded, "npx assoc-etl export --out s3://…")
      const truthRows = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies").rows.length
      assert.include(uploaded.stderr, `export complete: ${bucketOut}\n  rows            ${truthRows} in 1 part`)
      assert.notInclude(uploaded.stderr, "NodeVersionSupportWarning")

      // README's script, on the installed library, into Parquet.
      fs.writeFileSync(path.join(project, "export.mjs"), script)
      const ids = sim.portal.ids("contacts").slice(0, 120)
      const libOut = path.join(dir, "lib-out")
      const ran = yield* runIn(project, process.execPath, ["export.mjs", writeIds(dir, ids), libOut], env)
      ok(ran, "node export.mjs")
      const rows = yield* readParquet(path.join(libOut, "*.parquet"))
      const truth = SimulatedPortal.groundTruth(sim.portal, "contacts", "companies", ids)
      assert.isAbove(truth.rows.length, 0)
      assert.deepStrictEqual(sortedKeys(rows), sortedKeys(truth.rows))

      // A module is an entry point; `internal/` is not.
      const load = (specifier: string) =>
        runIn(project, process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(specifier)})`])
      ok(yield* load("@assoc-etl/core/Export"), "import @assoc-etl/core/Export")
      const internal = yield* load("@assoc-etl/core/internal/dataset/writer.js")
      assert.notStrictEqual(internal.code, 0)
      assert.include(internal.stderr, "ERR_PACKAGE_PATH_NOT_EXPORTED")
    }), { timeout: 240_000 })
})
