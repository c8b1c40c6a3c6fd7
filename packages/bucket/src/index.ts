export * as Bucket from "./Bucket.js"
export * as BucketError from "./BucketError.js"
export * as BucketUrl from "./BucketUrl.js"
export * as Staging from "./Staging.js"
