/**
 * Issue 17: the same export to a local directory and to a bucket, through the built CLI (`assoc-etl export`, a
 * child process) against the simulator in its own process (latency 100-300 ms, 100 requests a second on both
 * sides), 100,000 contacts → companies from an id file, NDJSON and Parquet. The bucket is s3rver on loopback, in
 * a process of its own, storing on this machine's disk (the AWS SDK's multipart uploads, its commits and lease
 * through the S3 API, as against a real store, less the network). Figures: wall time of each and their ratio
 * (bucket ÷ local), peak RSS of the CLI's process (VmHWM), rows of each manifest against the ground truth.
 *
 * `node bench/dist/main.js bucket`; BENCH_BUCKET_OBJECTS (default 100000) sets the contacts, BENCH_BUCKET_FORMATS
 * (default `ndjson,parquet`) the formats.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import {
  ended,
  type Exit,
  fmt,
  manifestRows,
  type Row,
  say,
  seconds,
  startCli,
  table,
  tempDir,
  truthOf,
  withSimulator,
  withTempRoot,
  writeIds
} from "./cliRuns.js"

const objects = Number(process.env["BENCH_BUCKET_OBJECTS"] ?? "100000") || 100_000
const formats = (process.env["BENCH_BUCKET_FORMATS"] ?? "ndjson,parquet").split(",").filter((f) => f !== "")
const bucket = "assoc-etl-bench"
const pageSize = 500
/** s3rver's own account. */
const credentials = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" }
/** The goal: the bucket costs at most half again the local run's time. */
const goalRatio = 1.5

interface S3rver {
  readonly endpoint: string
  /** Where s3rver keeps the objects: `<directory>/<bucket>/<key>._S3rver_object`. */
  readonly directory: string
  readonly stop: () => void
}

/** s3rver on loopback in its own process, with the bench's bucket; stopped by `stop`. */
const startS3rver = (directory: string): Promise<S3rver> =>
  new Promise((resolve, reject) => {
    const main = createRequire(import.meta.url).resolve("s3rver")
    const script = `const S3rver = require(${JSON.stringify(main)})
new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: ${JSON.stringify(directory)},
  configureBuckets: [{ name: ${JSON.stringify(bucket)} }] })
  .run().then((a) => console.log(a.port), (e) => { console.error(e); process.exit(1) })`
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`s3rver exited ${code} before it served`)))
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const end = out.indexOf("\n")
      if (end >= 0) {
        const endpoint = `http://127.0.0.1:${out.slice(0, end).trim()}`
        resolve({ endpoint, directory, stop: () => child.kill("SIGTERM") })
      }
    })
  })

/** `manifest.json`'s rows of a finished export in the bucket, read from s3rver's store. */
const bucketRows = async (s3: S3rver, prefix: string) => {
  const file = path.join(s3.directory, bucket, prefix, "manifest.json._S3rver_object")
  if (!fs.existsSync(file)) return undefined
  const copy = tempDir("manifest")
  fs.copyFileSync(file, path.join(copy, "manifest.json"))
  return manifestRows(copy)
}

const mib = (kib: number) => `${Math.round(kib / 1024)} MiB`

export const run = (): Promise<void> =>
  withTempRoot("bench-bucket", async () => {
    const s3 = await startS3rver(tempDir("s3rver"))
    const env = { ...credentials, AWS_ENDPOINT_URL_S3: s3.endpoint }
    try {
      const rows = await withSimulator({ objects, flags: ["--rate-limit", "100/1000"] }, async (sim) => {
        const ids = sim.portal.ids("contacts")
        const truth = truthOf(sim.portal, { from: "contacts", to: "companies" }, ids, pageSize)
        say(`${ids.length} contacts, ${truth.rows} rows, ${truth.continuations} continuation pages`)
        const idsFile = writeIds(ids)
        const out: Array<Row> = []
        for (const format of formats) {
          const args = (target: string) => [
            "export", "--from", "contacts", "--to", "companies", "--out", target, "--ids", idsFile,
            "--base-url", sim.baseUrl, "--rate-limit", "100/1s", "--format", format
          ]
          const localDir = path.join(tempDir(`local-${format}`), "out")
          const local: Exit = await startCli(args(localDir)).exited
          const localRows = await manifestRows(localDir)
          say(
            `${format} local: ${ended(local)}, ${seconds(local.wallMillis)}, `,
            `peak RSS ${mib(local.peakRssKiB)}, rows ${localRows}`
          )
          fs.rmSync(localDir, { recursive: true, force: true })
          const prefix = `export-${format}`
          const remote: Exit = await startCli(args(`s3://${bucket}/${prefix}`), env).exited
          const remoteRows = await bucketRows(s3, prefix)
          say(
            `${format} bucket: ${ended(remote)}, ${seconds(remote.wallMillis)}, `,
            `peak RSS ${mib(remote.peakRssKiB)}, rows ${remoteRows}`
          )
          fs.rmSync(path.join(s3.directory, bucket, prefix), { recursive: true, force: true })
          const ratio = remote.wallMillis / local.wallMillis
          const exact = local.code === 0 && remote.code === 0 && localRows === truth.rows && remoteRows === truth.rows
          out.push({
            scenario: `${format}, ${ids.length} contacts`,
            figure: `wall ${seconds(local.wallMillis)} local, ${seconds(remote.wallMillis)} bucket = ${fmt(ratio)} ×; `
              + `peak RSS ${mib(local.peakRssKiB)} local, ${mib(remote.peakRssKiB)} bucket; `
              + `rows ${exact ? "exact" : "WRONG"}`,
            goal: `bucket ≤ ${goalRatio} × local, rows exact`,
            met: exact && ratio <= goalRatio
          })
        }
        return out
      })
      console.log(table(rows))
    } finally {
      s3.stop()
    }
  })
