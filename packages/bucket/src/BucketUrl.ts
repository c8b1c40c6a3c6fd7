/**
 * `s3://bucket/prefix`: where a dataset (or a root of datasets) lives in a
 * bucket. The prefix is kept normalised: empty (the bucket's top) or ending
 * with "/", so that `prefix + name` is a key. A dataset at a sub path `rel`
 * of a root lives under `prefix/rel/` (`child`).
 */
import { Effect, Schema } from "effect"
import { BucketError } from "./BucketError.js"

export const BucketUrl = Schema.Struct({
  bucket: Schema.String,
  /** Empty, or ending with "/". */
  prefix: Schema.String
})
export type BucketUrl = typeof BucketUrl.Type

const scheme = "s3://"

/** Whether `s` names a bucket location (`--out s3://…`) rather than a local path. */
export const isBucketUrl = (s: string): boolean => s.startsWith(scheme)

/** What is wrong with a bucket name, by the S3 naming rules (general purpose buckets); undefined when it is fine. */
const bucketNameProblem = (name: string): string | undefined => {
  if (name.length === 0) return "the bucket name is missing"
  if (name.length < 3 || name.length > 63) return `the bucket name ${name} has ${name.length} characters, not 3 to 63`
  if (!/^[a-z0-9.-]+$/.test(name)) {
    return `the bucket name ${name} may hold only lowercase letters, digits, dots and hyphens`
  }
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return `the bucket name ${name} must begin and end with a letter or a digit`
  if (name.includes("..")) return `the bucket name ${name} has two dots in a row`
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return `the bucket name ${name} is an IP address`
  return undefined
}

/**
 * Reads `s3://bucket/prefix` (`s3://bucket` and `s3://bucket/` are the bucket's top). Refused: another scheme, a
 * bucket name S3 would refuse, an empty or dot path segment (`a//b`, `a/../b`), and credentials in the URL (they are
 * not echoed back).
 */
export const parse = (s: string): Effect.Effect<BucketUrl, BucketError> => {
  const bad = (url: string, detail: string) => Effect.fail(new BucketError({ reason: "BadUrl", url, detail }))
  if (!isBucketUrl(s)) return bad(s, "it does not start with s3://")
  const rest = s.slice(scheme.length)
  const slash = rest.indexOf("/")
  const bucket = slash < 0 ? rest : rest.slice(0, slash)
  const path = slash < 0 ? "" : rest.slice(slash + 1)
  if (bucket.includes("@")) {
    return bad(
      `${scheme}…@${bucket.slice(bucket.lastIndexOf("@") + 1)}/${path}`,
      "it holds credentials: give them through AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE instead"
    )
  }
  const problem = bucketNameProblem(bucket)
  if (problem !== undefined) return bad(s, problem)
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path
  if (trimmed.length > 0) {
    for (const segment of trimmed.split("/")) {
      if (segment === "") return bad(s, "the path has an empty segment (//)")
      if (segment === "." || segment === "..") return bad(s, `the path has a "${segment}" segment`)
    }
  }
  return Effect.succeed({ bucket, prefix: trimmed.length === 0 ? "" : `${trimmed}/` })
}

/** `s3://bucket/prefix`, without the prefix's trailing "/" (`s3://bucket` for the bucket's top). */
export const format = (url: BucketUrl): string =>
  url.prefix.length === 0 ? `${scheme}${url.bucket}` : `${scheme}${url.bucket}/${url.prefix.slice(0, -1)}`

/** The URL of one object of the bucket: `s3://bucket/key`. */
export const formatKey = (bucket: string, key: string): string => `${scheme}${bucket}/${key}`

/** The location `name` (one segment or a relative path; slashes around it are dropped) under `url`. */
export const child = (url: BucketUrl, name: string): BucketUrl => {
  const trimmed = name.replace(/^\/+|\/+$/g, "")
  return trimmed.length === 0 ? url : { bucket: url.bucket, prefix: `${url.prefix}${trimmed}/` }
}
