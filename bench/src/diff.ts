/**
 * `assoc-etl diff OLD NEW --out CHANGES` through the built CLI on two generated snapshots of BENCH_DIFF_ROWS rows
 * (default 2,500,000 and 10,000,000), in Parquet and in NDJSON (BENCH_DIFF_FORMATS, default parquet,ndjson),
 * about 2% of the rows changed: 0.8% removed, 0.8% added, 0.4% relabelled (a delete and an insert each), 0.01%
 * doubled. Reported: wall time, the child's peak RSS (VmHWM; the goal is under 1 GB, and the same at either size:
 * DuckDB spills past `--memory`, 256 MiB by default), and input rows (both sides) a second.
 *
 * The snapshots are written by DuckDB's COPY (a few seconds for 10,000,000 rows, where our encoders would take
 * minutes) as dataset directories of finished exports: our seven columns, names, order and types (the type id
 * INTEGER), parts of 1,000,000 rows, manifest.json and `_SUCCESS`. The numbers of changes are known from how the
 * rows are made, and checked against the changes' manifest.
 */
import { AssociationRow, Manifest } from "@assoc-etl/core"
import { DuckDBInstance } from "@duckdb/node-api"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PeakRss from "./peakRss.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const cli = path.resolve(here, "../../packages/cli/dist/assoc-etl.mjs")

const sizes = (process.env["BENCH_DIFF_ROWS"] ?? "2500000,10000000").split(",").map(Number)
const formats = (process.env["BENCH_DIFF_FORMATS"] ?? "parquet,ndjson").split(",") as ReadonlyArray<
  "parquet" | "ndjson"
>
const partRows = 1_000_000

const names = AssociationRow.columns.map((c) => c.name).join(", ")

/** Row `i` of the snapshots: a contact with ~3 companies, 30% null labels, a few categories and type ids. */
const rowsOf = (lo: number, hi: number) =>
  `SELECT i, 'contacts' AS from_object_type, CAST(100000000 + i // 3 AS VARCHAR) AS from_object_id,
     'companies' AS to_object_type, CAST(5000000000 + hash(i) % 10000000 AS VARCHAR) AS to_object_id,
     CASE hash(i, 7) % 3 WHEN 0 THEN 'HUBSPOT_DEFINED' WHEN 1 THEN 'USER_DEFINED' ELSE 'INTEGRATOR_DEFINED' END
       AS association_category,
     CAST(1 + hash(i, 8) % 300 AS INTEGER) AS association_type_id,
     CASE WHEN hash(i, 9) % 10 < 3 THEN NULL ELSE 'Label ' || CAST(hash(i, 10) % 6 AS VARCHAR) END AS association_label
   FROM range(${lo}, ${hi}) t(i)`

const removed = "hash(i, 1) % 125 = 0"
const relabelled = "hash(i, 2) % 250 = 0"
const doubled = "hash(i, 3) % 10000 = 0"

/**
 * OLD: rows [0, n). NEW: those less the removed, the relabelled relabelled, the doubled (not relabelled) twice, and
 * n/125 new ones.
 */
const partQuery = (side: "old" | "new", n: number, lo: number, hi: number) =>
  side === "old"
    ? `SELECT ${names} FROM (${rowsOf(lo, hi)})`
    : `SELECT ${names.replace("association_label", relabel(n))}
       FROM (${rowsOf(lo, hi)}) WHERE i >= ${n} OR NOT (${removed})
       UNION ALL SELECT ${names} FROM (${rowsOf(lo, Math.min(hi, n))})
         WHERE NOT (${removed}) AND NOT (${relabelled}) AND ${doubled}`

/** The label of NEW's row `i`: "Relabelled" for the relabelled rows of OLD. */
const relabel = (n: number) =>
  `CASE WHEN i < ${n} AND ${relabelled} THEN 'Relabelled' ELSE association_label END AS association_label`

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`

const generate = async (dir: string, n: number, format: "parquet" | "ndjson") => {
  const db = await DuckDBInstance.create(":memory:", { memory_limit: "1GB", temp_directory: path.join(dir, ".tmp") })
  const connection = await db.connect()
  const count = async (sql: string) =>
    Number((await connection.runAndReadAll(`SELECT count(*) AS n FROM (${sql})`)).getRowObjectsJS()[0]!["n"])
  const extension = format === "parquet" ? ".parquet" : ".ndjson"
  for (const side of ["old", "new"] as const) {
    const out = path.join(dir, side)
    fs.mkdirSync(out, { recursive: true })
    const total = side === "old" ? n : n + Math.floor(n / 125)
    const parts: Array<Manifest.PartInfo> = []
    for (let lo = 0, k = 0; lo < total; lo += partRows, k++) {
      const name = `part-${String(k).padStart(5, "0")}${extension}`
      const file = path.join(out, name)
      const result = await connection.run(
        `COPY (${partQuery(side, n, lo, Math.min(total, lo + partRows))}) TO ${literal(file)} (FORMAT ${
          format === "parquet" ? "parquet" : "json"
        })`
      )
      parts.push({ name, rows: Number(result.rowsChanged), bytes: fs.statSync(file).size })
    }
    const now = new Date().toISOString()
    const manifest: Manifest.Manifest = {
      version: 2,
      tool: { name: "assoc-etl", version: "bench" },
      format,
      schema: AssociationRow.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
      parts,
      totals: {
        rows: parts.reduce((a, p) => a + p.rows, 0),
        bytes: parts.reduce((a, p) => a + p.bytes, 0),
        parts: parts.length
      },
      errors: { file: "_errors/errors.ndjson", rows: 0 },
      startedAt: side === "old" ? "2026-11-28T00:00:00.000Z" : "2026-11-29T00:00:00.000Z",
      finishedAt: now,
      export: { from: "contacts", to: "companies", source: { kind: "bench", key: side, description: "generated" } }
    }
    fs.writeFileSync(path.join(out, "manifest.json"), Manifest.encodeJson(manifest))
    fs.writeFileSync(path.join(out, "_SUCCESS"), "")
  }
  // What the diff must find, from how the rows were made.
  const old = `(${rowsOf(0, n)})`
  const expected = {
    deletes: await count(`SELECT i FROM ${old} WHERE ${removed} OR ${relabelled}`),
    inserts: Math.floor(n / 125)
      + await count(`SELECT i FROM ${old} WHERE NOT (${removed}) AND (${relabelled} OR ${doubled})`)
  }
  connection.closeSync()
  db.closeSync()
  fs.rmSync(path.join(dir, ".tmp"), { recursive: true, force: true })
  return expected
}

/** What the bench reads of the changes' manifest. */
interface ChangesFacts {
  readonly inserts: number
  readonly deletes: number
  readonly old: { readonly rows: number }
  readonly new: { readonly rows: number }
}

interface Ran {
  readonly code: number | null
  readonly wallMillis: number
  readonly peakRssKiB: number
  readonly stderr: string
}

const runDiff = (args: ReadonlyArray<string>): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [cli, "diff", ...args], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const rss = PeakRss.watch(child.pid)
    child.on("error", reject)
    child.on("exit", (code) => {
      rss.stop()
      resolve({ code, wallMillis: performance.now() - t0, peakRssKiB: rss.peakKiB(), stderr })
    })
  })

const bytesOf = (dir: string) => fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0)

export const run = async (): Promise<void> => {
  const rows: Array<string> = []
  for (const format of formats) {
    for (const n of sizes) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assoc-etl-bench-diff-"))
      try {
        const t0 = performance.now()
        const expected = await generate(dir, n, format)
        const generated = (performance.now() - t0) / 1000
        const changes = path.join(dir, "changes")
        const ran = await runDiff([path.join(dir, "old"), path.join(dir, "new"), "--out", changes])
        if (ran.code !== 0) throw new Error(`diff exited ${ran.code}: ${ran.stderr.slice(-1000)}`)
        const manifest: ChangesFacts = JSON.parse(fs.readFileSync(path.join(changes, "manifest.json"), "utf8"))
        const exact = manifest.inserts === expected.inserts && manifest.deletes === expected.deletes
        const input = manifest.old.rows + manifest.new.rows
        rows.push(
          [
            format.padEnd(8),
            String(n).padStart(11),
            `${(bytesOf(path.join(dir, "old")) / 1e6).toFixed(0)} MB`.padStart(9),
            `${manifest.inserts}+${manifest.deletes}`.padStart(16),
            exact ? "exact" : `WRONG (want ${expected.inserts}+${expected.deletes})`,
            `${(ran.wallMillis / 1000).toFixed(1)} s`.padStart(8),
            `${(ran.peakRssKiB / 1024).toFixed(0)} MB`.padStart(8),
            `${Math.round(input / (ran.wallMillis / 1000)).toLocaleString("en-US")}`.padStart(11),
            `${generated.toFixed(0)} s`.padStart(6)
          ].join("  ")
        )
        console.log(rows.at(-1))
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  console.log(
    [
      "",
      "assoc-etl diff OLD NEW --out CHANGES (built CLI, --memory 256MiB default), ~2% of rows changed",
      [
        "format".padEnd(8),
        "rows/side".padStart(11),
        "OLD size".padStart(9),
        "inserts+deletes".padStart(16),
        "check",
        "wall".padStart(8),
        "peak RSS".padStart(8),
        "in rows/s".padStart(11),
        "gen".padStart(6)
      ].join("  "),
      ...rows
    ].join("\n")
  )
}
