import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { BucketUrl } from "../src/index.js"

const parse = (s: string) => Effect.runSync(Effect.either(BucketUrl.parse(s)))

describe("BucketUrl", () => {
  it("tells bucket URLs from paths", () => {
    assert.isTrue(BucketUrl.isBucketUrl("s3://bucket/prefix"))
    assert.isFalse(BucketUrl.isBucketUrl("./out"))
    assert.isFalse(BucketUrl.isBucketUrl("S3://bucket"))
  })

  it("reads the bucket and a prefix ending with a slash", () => {
    assert.deepStrictEqual(parse("s3://my-bucket/nightly/2026-12-03"), Either.right({
      bucket: "my-bucket",
      prefix: "nightly/2026-12-03/"
    }))
    assert.deepStrictEqual(parse("s3://my-bucket/nightly/"), Either.right({ bucket: "my-bucket", prefix: "nightly/" }))
    assert.deepStrictEqual(parse("s3://my-bucket"), Either.right({ bucket: "my-bucket", prefix: "" }))
    assert.deepStrictEqual(parse("s3://my-bucket/"), Either.right({ bucket: "my-bucket", prefix: "" }))
  })

  it("formats back what it read, and names children", () => {
    const url = { bucket: "b.example", prefix: "a/b/" }
    assert.strictEqual(BucketUrl.format(url), "s3://b.example/a/b")
    assert.strictEqual(BucketUrl.format({ bucket: "b.example", prefix: "" }), "s3://b.example")
    assert.deepStrictEqual(BucketUrl.child(url, "contacts-companies"), {
      bucket: "b.example",
      prefix: "a/b/contacts-companies/"
    })
    assert.deepStrictEqual(BucketUrl.child({ bucket: "b.example", prefix: "" }, "/x/"), {
      bucket: "b.example",
      prefix: "x/"
    })
    assert.deepStrictEqual(BucketUrl.child(url, ""), url)
    assert.strictEqual(BucketUrl.formatKey("b.example", "a/b/_SUCCESS"), "s3://b.example/a/b/_SUCCESS")
  })

  it("refuses what S3 would refuse, saying what is wrong", () => {
    const refused = (s: string, words: string) => {
      const result = parse(s)
      assert.isTrue(Either.isLeft(result), s)
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left.reason, "BadUrl")
        assert.include(result.left.message, words, s)
      }
    }
    refused("/tmp/out", "does not start with s3://")
    refused("s3://", "bucket name is missing")
    refused("s3:///prefix", "bucket name is missing")
    refused("s3://ab/x", "has 2 characters")
    refused(`s3://${"a".repeat(64)}`, "has 64 characters")
    refused("s3://My_Bucket/x", "lowercase letters, digits, dots and hyphens")
    refused("s3://-bucket/x", "begin and end with a letter or a digit")
    refused("s3://bucket-/x", "begin and end with a letter or a digit")
    refused("s3://my..bucket/x", "two dots in a row")
    refused("s3://192.168.1.10/x", "is an IP address")
    refused("s3://bucket/a//b", "empty segment")
    refused("s3://bucket/a/../b", `".." segment`)
  })

  it("never echoes credentials written into the URL", () => {
    const result = parse("s3://AKIAEXAMPLE:hunter2secret@my-bucket/out")
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left.reason, "BadUrl")
      assert.include(result.left.message, "holds credentials")
      assert.include(result.left.message, "my-bucket")
      assert.notInclude(result.left.message, "hunter2secret")
      assert.notInclude(result.left.message, "AKIAEXAMPLE")
      assert.notInclude(result.left.url, "hunter2secret")
    }
  })
})
