/**
 * The node:http server wrapped in Effect: each request runs as a fiber of the runtime that called `make`, so its
 * `Clock` is the caller's. A request goes through the checks in the order the header of `Simulator.ts` states
 * (route, auth, rate limits, object types, scopes, faults, latency, then the handler), and its answer is written
 * to the socket. `/__sim/` is answered apart (see that header). Closing the scope closes the server and
 * destroys the sockets still open.
 */
import type { Scope } from "effect"
import { Clock, Duration, Effect, Either, FiberSet } from "effect"
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type { Answer, ErrorAnswers } from "./answers.js"
import type { Tally } from "./counters.js"
import type { FaultInjector } from "./faults.js"
import type { Limits } from "./limits.js"
import type { ObjectTypes } from "./objectTypes.js"
import type { ResolvedOptions } from "./options.js"
import type { AccountInfo } from "./routes/accountInfo.js"
import type { BatchRead } from "./routes/batchRead.js"
import type { Labels } from "./routes/labels.js"
import type { List } from "./routes/list.js"
import * as Route from "./routes/route.js"
import type { Search } from "./routes/search.js"

export interface Parts {
  readonly tally: Tally
  readonly errors: ErrorAnswers
  readonly limits: Limits
  readonly objectTypes: ObjectTypes
  readonly faults: FaultInjector
  readonly batchRead: BatchRead
  readonly list: List
  readonly search: Search
  readonly accountInfo: AccountInfo
  readonly labels: Labels
}

const readBody = (req: Http.IncomingMessage) =>
  Effect.async<string>((resume) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.once("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
    req.once("error", () => resume(Effect.succeed("")))
  })

const send = (res: Http.ServerResponse, answer: Answer, headers: Readonly<Record<string, string>>) => {
  if (res.destroyed || res.headersSent) return
  res.writeHead(answer.status, {
    ...headers,
    ...answer.headers,
    "Content-Type": answer.contentType ?? "application/json;charset=utf-8",
    "Content-Length": String(typeof answer.body === "string" ? Buffer.byteLength(answer.body) : answer.body.length)
  })
  if (answer.release === undefined) res.end(answer.body)
  else res.end(answer.body, answer.release)
}

/** Listens on 127.0.0.1 (`port`, 0 for a free one) until the scope closes; its base URL. */
export const make = (
  options: Pick<ResolvedOptions, "token" | "port">,
  parts: Parts
): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { errors, faults, limits, objectTypes, tally } = parts

    const serve = (baseUrl: string, req: Http.IncomingMessage, res: Http.ServerResponse) =>
      Effect.gen(function*() {
        const text = yield* readBody(req)
        const now = yield* Clock.currentTimeMillis
        const url = new URL(req.url ?? "/", baseUrl)
        const route = Route.match(req.method ?? "GET", url.pathname)
        if (route === undefined) {
          return send(res, errors.error(404, "OBJECT_NOT_FOUND", `No route for ${req.method} ${url.pathname}`), {})
        }
        if (req.headers.authorization !== `Bearer ${options.token}`) {
          return send(
            res,
            errors.error(
              401,
              "INVALID_AUTHENTICATION",
              "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find " +
                "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
            ),
            limits.headers(now)
          )
        }
        const refused = limits.arrive(now, route.kind === "search")
        const headers = limits.headers(now)
        if (refused !== undefined) return send(res, refused, headers)

        const rawTypes = route.kind === "batch" || route.kind === "labels"
          ? [route.from, route.to]
          : route.kind === "accountInfo"
          ? []
          : [route.type]
        const types: Array<string> = []
        for (const raw of rawTypes) {
          const resolved = objectTypes.resolve(raw)
          if (Either.isLeft(resolved)) return send(res, resolved.left, headers)
          types.push(resolved.right)
        }
        const forbidden = objectTypes.checkScopes(types)
        if (forbidden !== undefined) return send(res, forbidden, headers)

        const { delay, fault } = faults.draw()
        if (fault === "drop") return faults.drop(req)
        if (delay >= 1) yield* Effect.sleep(Duration.millis(Math.round(delay)))
        const failure = faults.failure(fault)
        if (failure !== undefined) return send(res, failure, headers)

        let answer: Answer
        switch (route.kind) {
          case "batch":
            answer = parts.batchRead(baseUrl, route, types[0]!, types[1]!, text, now)
            break
          case "list":
            answer = parts.list(baseUrl, route.type, types[0]!, url)
            break
          case "search":
            answer = parts.search(types[0]!, text)
            break
          case "accountInfo":
            answer = parts.accountInfo()
            break
          case "labels":
            answer = parts.labels(types[0]!, types[1]!)
            break
        }
        const ok = answer.status === 200 || answer.status === 207
        if (ok && fault === "truncate") return faults.truncate(res, answer, headers)
        if (ok) tally.answered(route.kind, answer.inputs ?? 0, answer.incomplete)
        send(res, answer, headers)
      })

    /** Answers `/__sim/...` (see the header of `Simulator.ts`); false for any other path. */
    const control = (req: Http.IncomingMessage, res: Http.ServerResponse): boolean => {
      const path = (req.url ?? "/").split("?")[0]!
      if (!path.startsWith("/__sim/")) return false
      req.resume()
      if (req.method === "GET" && path === "/__sim/counters") {
        const body = JSON.stringify(tally.withArrivals())
        res.writeHead(200, {
          "Content-Type": "application/json;charset=utf-8",
          "Content-Length": Buffer.byteLength(body)
        })
        res.end(body)
      } else if (req.method === "POST" && path === "/__sim/counters/reset") {
        tally.reset()
        res.writeHead(204)
        res.end()
      } else {
        const body = JSON.stringify({ status: "error", message: `No route for ${req.method} ${path}` })
        res.writeHead(404, {
          "Content-Type": "application/json;charset=utf-8",
          "Content-Length": Buffer.byteLength(body)
        })
        res.end(body)
      }
      return true
    }

    const run = yield* FiberSet.makeRuntime<never>()
    const sockets = new Set<Socket>()
    let baseUrl = ""
    const server = Http.createServer((req, res) => {
      if (control(req, res)) return
      tally.enter()
      run(
        serve(baseUrl, req, res).pipe(
          Effect.catchAllCause((cause) =>
            Effect.sync(() => send(res, errors.error(500, "INTERNAL_ERROR", `simulator defect: ${cause}`), {}))
          ),
          Effect.ensuring(Effect.sync(tally.leave))
        )
      )
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.once("error", (e) => resume(Effect.die(e)))
        server.listen(options.port, "127.0.0.1", () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const socket of sockets) socket.destroy()
        })
    )
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return baseUrl
  })
