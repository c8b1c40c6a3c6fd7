/**
 * The operations of `Bucket.Service` over one S3 client (see `Bucket.ts`).
 *
 * Listing uses ListObjects (version 1) with markers: every S3-compatible store
 * serves it, and s3rver's version 2 continuation tokens are DES-encrypted,
 * which Node 20's OpenSSL 3 refuses, so that any listing of more than one page
 * fails there with a 500.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  type S3Client
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import type { Condition, Fetched, ObjectInfo, Range, Service } from "../Bucket.js"
import { BucketError } from "../BucketError.js"
import { formatKey } from "../BucketUrl.js"
import { fromSdk, nameOf, statusOf } from "./client.js"

/** The multipart part size: the memory an upload holds is about `queueSize + 1` of these. */
export const partSize = 8 * 1024 * 1024
/** Parts of one upload in flight at once. */
export const queueSize = 2
/** Keys a DeleteObjects request takes. */
const deleteBatch = 1000

const isMissing = (cause: unknown) => {
  const name = nameOf(cause)
  return name === "NoSuchKey" || name === "NotFound" || (statusOf(cause) === 404 && name !== "NoSuchBucket")
}

const isRefusedCondition = (cause: unknown) => {
  const name = nameOf(cause)
  const status = statusOf(cause)
  return name === "PreconditionFailed" || status === 412 || name === "ConditionalRequestConflict" || status === 409
}

/** A failure of the local file system (it names a path), not of the store or the network. */
const isLocal = (cause: unknown): cause is NodeJS.ErrnoException =>
  typeof cause === "object" && cause !== null && "syscall" in cause && "path" in cause && !("$metadata" in cause)

export const make = (client: S3Client, endpoint: string | undefined): Service => {
  const failure = (bucket: string, key: string) => (cause: unknown) =>
    isLocal(cause)
      ? new BucketError({
        reason: "Io",
        url: formatKey(bucket, key),
        detail: `the local file ${cause.path ?? ""} failed (${cause.code ?? cause.message})`,
        ...(endpoint === undefined ? {} : { endpoint })
      })
      : fromSdk(cause, formatKey(bucket, key), endpoint)

  const send = <A>(bucket: string, key: string, run: (signal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({ try: run, catch: (cause) => cause })
      .pipe(Effect.mapError(failure(bucket, key)))

  /** As `send`, with the failures `keep` picks given back as they are (a missing key, a refused condition). */
  const sendOr = <A>(
    bucket: string,
    key: string,
    run: (signal: AbortSignal) => Promise<A>,
    keep: (e: unknown) => boolean
  ) =>
    Effect.tryPromise({ try: run, catch: (cause) => cause }).pipe(
      Effect.map(Option.some),
      Effect.catchAll((cause) =>
        keep(cause) ? Effect.succeed(Option.none<A>()) : Effect.fail(failure(bucket, key)(cause))
      )
    )

  const get = (bucket: string, key: string) =>
    sendOr(bucket, key, async (signal) => {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
      const bytes = answer.Body === undefined ? new Uint8Array() : await answer.Body.transformToByteArray()
      return { bytes, etag: answer.ETag ?? "" } satisfies Fetched
    }, isMissing).pipe(Effect.withSpan("Bucket.get", { attributes: { bucket, key } }))

  const head = (bucket: string, key: string) =>
    sendOr(bucket, key, async (signal) => {
      const answer = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
      return { key, size: answer.ContentLength ?? 0 } satisfies ObjectInfo
    }, isMissing).pipe(Effect.withSpan("Bucket.head", { attributes: { bucket, key } }))

  const putCommand = (bucket: string, key: string, bytes: Uint8Array, condition?: Condition) =>
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: bytes,
      ContentLength: bytes.length,
      ...(condition === undefined ? {} : "ifMatch" in condition ? { IfMatch: condition.ifMatch } : { IfNoneMatch: "*" })
    })

  const put = (bucket: string, key: string, bytes: Uint8Array) =>
    send(bucket, key, async (signal) => {
      const answer = await client.send(putCommand(bucket, key, bytes), { abortSignal: signal })
      return answer.ETag ?? ""
    }).pipe(Effect.withSpan("Bucket.put", { attributes: { bucket, key, bytes: bytes.length } }))

  const putIf = (bucket: string, key: string, bytes: Uint8Array, condition: Condition) =>
    sendOr(bucket, key, async (signal) => {
      const answer = await client.send(putCommand(bucket, key, bytes, condition), { abortSignal: signal })
      return answer.ETag ?? ""
    }, isRefusedCondition).pipe(Effect.withSpan("Bucket.putIf", { attributes: { bucket, key } }))

  const upload = (bucket: string, key: string, file: string, range?: Range) =>
    send(bucket, key, async (signal) => {
      if (range !== undefined && range.end <= range.start) {
        await client.send(putCommand(bucket, key, new Uint8Array()), { abortSignal: signal })
        return
      }
      const body = fs.createReadStream(file, range === undefined ? {} : { start: range.start, end: range.end - 1 })
      const transfer = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: body },
        partSize,
        queueSize,
        leavePartsOnError: false
      })
      const abort = () => void transfer.abort().catch(() => undefined)
      signal.addEventListener("abort", abort, { once: true })
      try {
        await transfer.done()
      } finally {
        signal.removeEventListener("abort", abort)
        body.destroy()
      }
    }).pipe(Effect.withSpan("Bucket.upload", { attributes: { bucket, key, file } }))

  const download = (
    bucket: string,
    key: string,
    file: string,
    options?: { readonly append?: boolean; readonly bytes?: number }
  ) =>
    send(bucket, key, async (signal) => {
      const flags = options?.append === true ? "a" : "w"
      const limit = options?.bytes
      if (limit !== undefined && limit <= 0) {
        await fs.promises.appendFile(file, new Uint8Array(), { flag: flags })
        return
      }
      const range = limit === undefined ? {} : { Range: `bytes=0-${limit - 1}` }
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...range }), {
        abortSignal: signal
      })
      const out = fs.createWriteStream(file, { flags })
      if (answer.Body === undefined) {
        out.end()
        return
      }
      await pipeline(answer.Body as Readable, out, { signal })
    }).pipe(Effect.withSpan("Bucket.download", { attributes: { bucket, key, file } }))

  const list = (bucket: string, prefix: string) =>
    send(bucket, prefix, async (signal) => {
      const found: Array<ObjectInfo> = []
      let marker: string | undefined
      for (;;) {
        const after = marker === undefined ? {} : { Marker: marker }
        const page = await client.send(new ListObjectsCommand({ Bucket: bucket, Prefix: prefix, ...after }), {
          abortSignal: signal
        })
        for (const o of page.Contents ?? []) if (o.Key !== undefined) found.push({ key: o.Key, size: o.Size ?? 0 })
        const last = found.at(-1)?.key
        if (page.IsTruncated !== true || last === undefined || last === marker) return found
        marker = page.NextMarker ?? last
      }
    }).pipe(Effect.withSpan("Bucket.list", { attributes: { bucket, prefix } }))

  const remove = (bucket: string, keys: ReadonlyArray<string>) =>
    Effect.forEach(
      Array.from(
        { length: Math.ceil(keys.length / deleteBatch) },
        (_, i) => keys.slice(i * deleteBatch, (i + 1) * deleteBatch)
      ),
      (batch) =>
        send(bucket, batch[0]!, async (signal) => {
          const answer = await client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true }
            }),
            { abortSignal: signal }
          )
          const refused = (answer.Errors ?? []).filter((e) => e.Code !== "NoSuchKey")
          if (refused.length > 0) {
            const first = refused[0]!
            throw Object.assign(new Error(first.Message ?? first.Code ?? "refused"), {
              name: first.Code ?? "DeleteRefused",
              $metadata: {}
            })
          }
        }),
      { discard: true }
    ).pipe(Effect.withSpan("Bucket.remove", { attributes: { bucket, keys: keys.length } }))

  return { endpoint, get, head, put, putIf, upload, download, list, remove }
}
