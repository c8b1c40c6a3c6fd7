/**
 * The lease of a staging root: `.lease` under its prefix, a small JSON object
 * (a random token, the holder's host and pid, when it was taken and when it
 * expires), taken before anything else is written, renewed in the background
 * and deleted when the run ends.
 *
 * Taking it: read it; a lease that has not expired is another run's, unless
 * it names this host and a pid that is no longer alive (a run killed here),
 * and the run is refused (`Locked`, naming the holder). Otherwise it is
 * written conditionally, `If-None-Match: *` when there was none and
 * `If-Match: <its etag>` over an expired or dead one (a refusal, 412, is
 * `Locked`), then read back: the run goes on only if the token read back is
 * its own. Renewal (every `renewEvery`, 10 s; TTL 30 s) reads it again,
 * checks the token, and writes a new expiry `If-Match` the etag just read. A
 * renewal that finds the lease another's or gone, or is refused, marks it
 * lost; one that cannot reach the store is retried at the next tick, and the
 * lease counts as lost once its expiry, by this machine's clock, is less than
 * a sixth of the TTL away. Every part upload and every remote checkpoint
 * checks the lease first, so a run that lost it commits nothing more.
 *
 * What it guarantees. On stores that honour conditional writes (S3 since
 * 2024, MinIO, R2): one writer at a time, as long as the machines' clocks
 * agree within TTL - renewEvery (20 s) and no process stalls past the TTL.
 * On stores that ignore them (s3rver, checked): a run started while another
 * is alive is refused (it reads an unexpired lease); two started within the
 * same instant (each reading before the other wrote) may both proceed, until
 * the renewal of the one whose token was overwritten finds the other's token
 * (within 10 s) and stops it at its next commit.
 *
 * What it does not. Clock skew beyond that bound (an expiry judged by a fast
 * clock takes a live lease over); a process paused (SIGSTOP, a frozen VM, a
 * long GC) past the TTL, which wakes believing it holds the lease and may
 * upload a part or write a checkpoint before its next renewal finds it lost:
 * the checks narrow that window to one request, and S3 offers no fencing
 * token to close it. A run killed on another machine holds the prefix until
 * its lease expires (up to the TTL); killed on this machine, it is taken over
 * at once.
 */
import { ScratchDirectory } from "@assoc-etl/core"
import { Clock, Duration, Effect, Option, Schedule, Schema, type Scope } from "effect"
import * as crypto from "node:crypto"
import * as os from "node:os"
import type { Service } from "../Bucket.js"
import { BucketError } from "../BucketError.js"
import { formatKey } from "../BucketUrl.js"
import { leaseName } from "./layout.js"

export const defaultTtl = Duration.seconds(30)
export const defaultRenewEvery = Duration.seconds(10)

const LeaseBody = Schema.Struct({
  token: Schema.String,
  host: Schema.String,
  pid: Schema.Int,
  acquiredAt: Schema.String,
  expiresAt: Schema.String
})
type LeaseBody = typeof LeaseBody.Type

const decodeBody = Schema.decodeUnknownEither(Schema.parseJson(LeaseBody))
const encodeBody = (body: LeaseBody) => new TextEncoder().encode(JSON.stringify(body))

export interface Lease {
  /** Succeeds while the lease is held: not lost, and not about to expire by this machine's clock. */
  readonly check: Effect.Effect<void, BucketError>
}

export interface LeaseOptions {
  readonly bucket: Service
  readonly bucketName: string
  /** The staging root's prefix ("" or ending with "/"). */
  readonly prefix: string
  readonly ttl?: Duration.DurationInput
  readonly renewEvery?: Duration.DurationInput
}

const describe = (holder: LeaseBody) => `host ${holder.host}, pid ${holder.pid}, lease until ${holder.expiresAt}`

/** Takes the lease for the life of the scope: renewed in the background, deleted (if still ours) at the end. */
export const acquire = (options: LeaseOptions): Effect.Effect<Lease, BucketError, Scope.Scope> =>
  Effect.gen(function*() {
    const { bucket, bucketName } = options
    const key = `${options.prefix}${leaseName}`
    const url = formatKey(bucketName, key)
    const ttl = Duration.toMillis(options.ttl ?? defaultTtl)
    const renewEvery = options.renewEvery ?? defaultRenewEvery
    const margin = ttl / 6
    const endpoint = bucket.endpoint === undefined ? {} : { endpoint: bucket.endpoint }
    const locked = (detail: string) => new BucketError({ reason: "Locked", url, detail, ...endpoint })
    const heldBy = (holder: LeaseBody) =>
      locked(
        `another run holds its lease (${describe(holder)}): run again once that run has ended or its lease has `
          + "expired"
      )

    const read = Effect.flatMap(bucket.get(bucketName, key), (found) =>
      Option.match(found, {
        onNone: () => Effect.succeed(Option.none<{ body: LeaseBody; etag: string }>()),
        onSome: ({ bytes, etag }) => {
          const body = decodeBody(new TextDecoder().decode(bytes))
          return body._tag === "Right" ? Effect.succeed(Option.some({ body: body.right, etag })) : Effect.fail(
            new BucketError({
              reason: "Corrupt",
              url,
              detail: "the lease object cannot be read: if no run is writing this prefix, delete it and run again",
              ...endpoint
            })
          )
        }
      }))

    const now = yield* Clock.currentTimeMillis
    const token = crypto.randomUUID()
    const host = os.hostname()
    const existing = yield* read
    if (Option.isSome(existing)) {
      const holder = existing.value.body
      const dead = holder.host === host && !ScratchDirectory.processAlive(holder.pid)
      if (Date.parse(holder.expiresAt) > now && !dead) return yield* heldBy(holder)
    }
    let body: LeaseBody = {
      token,
      host,
      pid: process.pid,
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttl).toISOString()
    }
    const written = yield* bucket.putIf(
      bucketName,
      key,
      encodeBody(body),
      Option.isSome(existing) ? { ifMatch: existing.value.etag } : { ifNoneMatch: "*" }
    )
    const refused = Effect.flatMap(read, (back) =>
      Effect.fail(
        Option.match(back, {
          onNone: () => locked("another run took its lease at the same moment: run again once it has ended"),
          onSome: ({ body }) => heldBy(body)
        })
      ))
    if (Option.isNone(written)) return yield* refused
    // Stores that ignore conditions write anyway: reading back catches a run that wrote after us.
    const back = yield* read
    if (Option.isNone(back) || back.value.body.token !== token) return yield* refused
    let expiresAt = now + ttl
    let lost: string | undefined

    const renew = Effect.gen(function*() {
      const current = yield* read
      if (Option.isNone(current) || current.value.body.token !== token) {
        lost = Option.match(current, {
          onNone: () => "its lease object was deleted",
          onSome: ({ body }) => `another run took its lease (${describe(body)})`
        })
        return
      }
      const at = yield* Clock.currentTimeMillis
      const next: LeaseBody = { ...body, expiresAt: new Date(at + ttl).toISOString() }
      const renewed = yield* bucket.putIf(bucketName, key, encodeBody(next), { ifMatch: current.value.etag })
      if (Option.isNone(renewed)) {
        lost = "its lease was changed by another run while being renewed"
        return
      }
      body = next
      expiresAt = at + ttl
    }).pipe(
      Effect.catchAll((e) =>
        Effect.logWarning("the lease could not be renewed; retrying").pipe(
          Effect.annotateLogs({ url, detail: e.message })
        )
      ),
      Effect.withSpan("Lease.renew", { attributes: { url } })
    )

    // Added before the renewal fiber: it runs after that fiber is interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        if (lost !== undefined) return Effect.void
        return Effect.flatMap(read, (current) =>
          Option.isSome(current) && current.value.body.token === token
            ? bucket.remove(bucketName, [key])
            : Effect.void)
      }).pipe(
        Effect.catchAll((e) =>
          Effect.logWarning("the lease could not be released").pipe(Effect.annotateLogs({ url, detail: e.message }))
        )
      )
    )
    yield* renew.pipe(
      Effect.repeat(Schedule.spaced(renewEvery)),
      Effect.delay(renewEvery),
      Effect.interruptible,
      Effect.forkScoped
    )

    const check = Effect.gen(function*() {
      if (lost !== undefined) {
        return yield* locked(`this run lost its lease: ${lost}. It stops here; run it again to resume`)
      }
      const at = yield* Clock.currentTimeMillis
      if (at >= expiresAt - margin) {
        return yield* locked(
          `this run's lease could not be renewed in time (it expires at ${new Date(expiresAt).toISOString()}): `
            + "another run may take the prefix over. It stops here; run it again to resume"
        )
      }
    })
    return { check } satisfies Lease
  })
