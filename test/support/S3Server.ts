/**
 * An S3-protocol server on loopback for tests: s3rver 3.7.1 (a fake S3 on
 * disk), on 127.0.0.1 and a free port, with one bucket, stopped and its
 * directory removed with the scope. Import by relative path
 * (`../../../test/support/S3Server.js`) and add `{ "path": "../../../test/support" }`
 * to the test tsconfig's references.
 *
 * What s3rver does not do, as checked on Node 20 (tests must not count on it):
 * - it ignores `If-None-Match: *` and `If-Match` on PUT: both writes succeed;
 * - it checks that the access key id exists (`InvalidAccessKeyId`, 403) but
 *   not a SigV4 signature: a wrong secret is accepted;
 * - a ListObjectsV2 page that is truncated fails with a 500 (its continuation
 *   token is DES-encrypted, which Node 20's OpenSSL 3 refuses); ListObjects
 *   (version 1, markers) pages fine.
 */
import { GetObjectCommand, ListObjectsCommand, S3Client } from "@aws-sdk/client-s3"
import { Effect, Option, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import S3rver from "s3rver"

export interface S3Server {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** The variables a child process needs to reach the bucket through the SDK's default chain. */
  readonly env: Readonly<Record<string, string>>
}

export interface S3ServerOptions {
  /** The bucket created at start. Default `assoc-etl-test`. */
  readonly bucket?: string
}

// The SDK's notice that its releases after January 2027 need Node 22, printed once a process: not for this one.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true"

/** s3rver's only account. */
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }

/** Starts a server with one empty bucket; it stops, and its files go, when the scope closes. */
export const start = (options: S3ServerOptions = {}): Effect.Effect<S3Server, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const bucket = options.bucket ?? "assoc-etl-test"
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), "s3rver-"))
      const server = new S3rver({
        address: "127.0.0.1",
        port: 0,
        silent: true,
        directory,
        configureBuckets: [{ name: bucket, configs: [] }]
      })
      const address = await server.run()
      const endpoint = `http://127.0.0.1:${address.port}`
      const env = {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_REGION: "us-east-1"
      }
      return { server, directory, info: { endpoint, bucket, ...credentials, env } satisfies S3Server }
    }),
    ({ directory, server }) =>
      Effect.promise(async () => {
        await server.close()
        fs.rmSync(directory, { recursive: true, force: true })
      })
  ).pipe(Effect.map(({ info }) => info))

/** The bucket's objects, as any S3 client sees them: listed under a prefix, fetched whole. */
export const reader = (server: S3Server) => {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }
  })
  /** The keys under `prefix/` with their sizes, relative to it, sorted (ListObjects version 1: s3rver cannot page
   * version 2 on Node 20). */
  const list = (prefix: string) =>
    Effect.promise(async () => {
      const keys: Array<{ readonly name: string; readonly size: number }> = []
      let marker: string | undefined
      do {
        const page = await client.send(
          new ListObjectsCommand({ Bucket: server.bucket, Prefix: `${prefix}/`, Marker: marker })
        )
        for (const o of page.Contents ?? []) keys.push({ name: o.Key!.slice(prefix.length + 1), size: o.Size ?? 0 })
        marker = page.IsTruncated === true ? page.Contents?.at(-1)?.Key : undefined
      } while (marker !== undefined)
      return keys.sort((a, b) => a.name.localeCompare(b.name))
    })
  const get = (key: string) =>
    Effect.promise(async () => {
      const answer = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }))
      return Buffer.from(await answer.Body!.transformToByteArray())
    })
  /** The object `name` under `prefix/`, or none when there is none. */
  const find = (prefix: string, name: string) =>
    Effect.flatMap(list(prefix), (keys) =>
      keys.some((k) => k.name === name)
        ? Effect.map(get(`${prefix}/${name}`), Option.some)
        : Effect.succeed(Option.none<Buffer>()))
  /** Every object under `prefix/` (those whose name passes `keep`) copied into `dir`, at the same relative paths. */
  const fetch = (prefix: string, dir: string, keep: (name: string) => boolean = () => true) =>
    Effect.gen(function*() {
      const keys = (yield* list(prefix)).filter((k) => keep(k.name))
      for (const k of keys) {
        const file = path.join(dir, k.name)
        fs.mkdirSync(path.dirname(file), { recursive: true })
        fs.writeFileSync(file, yield* get(`${prefix}/${k.name}`))
      }
      return keys
    })
  return { list, get, find, fetch }
}
