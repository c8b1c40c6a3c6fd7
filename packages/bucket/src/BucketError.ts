/**
 * The failures of a dataset on a bucket: what the user is told, and whether a
 * rerun can go on (see each reason).
 *
 * Messages are built from the object's URL (`s3://bucket/key`), the endpoint
 * (scheme, host and path only) and the store's error code: never from a
 * credential, a signed URL or a request header.
 */
import { Schema } from "effect"

/**
 * - `BadUrl`: the URL is not `s3://bucket/prefix` (bucket naming rules, empty path segments, credentials in it).
 * - `NoSuchBucket`: the bucket does not exist at the endpoint.
 * - `AccessDenied`: the credentials were refused (unknown key, bad secret, missing) or lack a permission.
 * - `Locked`: another run holds the prefix's lease, or this run lost its own; nothing more was written.
 * - `NotEmpty`: the prefix holds objects but no export to resume; nothing was written to it.
 * - `Corrupt`: the prefix is not what its checkpoint says (a journal shorter than committed); a rerun cannot repair it.
 * - `Io`: a request or a local file operation failed; what was committed is safe, a rerun resumes.
 * - `NotFinished`: a finished export was expected (`_SUCCESS`) and the prefix holds none.
 */
export const Reason = Schema.Literal(
  "BadUrl",
  "NoSuchBucket",
  "AccessDenied",
  "Locked",
  "NotEmpty",
  "Corrupt",
  "Io",
  "NotFinished"
)
export type Reason = typeof Reason.Type

/** Error codes of the store that mean the credentials themselves were refused (not a missing permission). */
const refusedCredentials = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired"
])

export class BucketError extends Schema.TaggedError<BucketError>()("BucketError", {
  reason: Reason,
  /** The object or prefix, as `s3://bucket/key`. */
  url: Schema.String,
  /** What went wrong, already free of secrets: the store's error code, the holder of a lease, the keys found. */
  detail: Schema.String,
  /** The endpoint the request went to (scheme, host, path), when one was configured; absent for AWS. */
  endpoint: Schema.optionalWith(Schema.String, { exact: true })
}) {
  /** The bucket the URL names. */
  get bucket(): string {
    const rest = this.url.startsWith("s3://") ? this.url.slice(5) : this.url
    const slash = rest.indexOf("/")
    return slash < 0 ? rest : rest.slice(0, slash)
  }

  override get message(): string {
    const where = this.endpoint ?? "AWS"
    switch (this.reason) {
      case "BadUrl":
        return `${this.url} is not a bucket URL: ${this.detail} (expected s3://bucket/prefix)`
      case "NoSuchBucket":
        return `the bucket ${this.bucket} does not exist at ${where} (${this.url}): create it, or check the bucket `
          + "name, AWS_REGION and AWS_ENDPOINT_URL_S3"
      case "AccessDenied":
        if (this.detail === "NoCredentials") {
          return `no AWS credentials were found for bucket ${this.bucket} (${this.url}): set AWS_ACCESS_KEY_ID and `
            + "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        }
        return refusedCredentials.has(this.detail)
          ? `the credentials were refused by ${where} for bucket ${this.bucket} (${this.detail}): check `
            + "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_PROFILE"
          : `${where} denied access to ${this.url} (${this.detail}): the credentials lack a permission on bucket `
            + `${this.bucket} (s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject are needed), or they are not `
            + "the ones meant: check AWS_ACCESS_KEY_ID / AWS_PROFILE"
      case "Locked":
        return `${this.url} is locked: ${this.detail}`
      case "NotEmpty":
        return `${this.url} is not empty and holds no export to resume (found ${this.detail}). Nothing was written `
          + "to it: choose an empty prefix or a new one."
      case "NotFinished":
        return `${this.url} is not a finished export: ${this.detail}`
      case "Corrupt":
        return `${this.url}: ${this.detail}`
      case "Io":
        return `${this.url}: ${this.detail}`
    }
  }
}
