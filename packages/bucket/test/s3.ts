/** The loopback S3 server the bucket tests share, and the `Bucket` service pointed at it. */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Context, Effect, Layer, Redacted } from "effect"
import * as S3Server from "../../../test/support/S3Server.js"
import { Bucket } from "../src/index.js"

export class Server extends Context.Tag("@assoc-etl/bucket/test/Server")<Server, S3Server.S3Server>() {}

/** The options of a service reaching `server` with its credentials, or with `credentials` of the test's. */
export const optionsFor = (
  server: S3Server.S3Server,
  credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string }
): Bucket.BucketOptions => ({
  endpoint: server.endpoint,
  region: "us-east-1",
  credentials: {
    accessKeyId: credentials?.accessKeyId ?? server.accessKeyId,
    secretAccessKey: Redacted.make(credentials?.secretAccessKey ?? server.secretAccessKey)
  }
})

const serverLayer = Layer.scoped(Server, S3Server.start())

const bucketLayer = Layer.unwrapEffect(Effect.map(Server, (server) => Bucket.layerWith(optionsFor(server))))

/** One server for a test file, the `Bucket` service on it, and Node's file system. */
export const layer = bucketLayer.pipe(Layer.provideMerge(serverLayer), Layer.merge(NodeContext.layer), Layer.orDie)
