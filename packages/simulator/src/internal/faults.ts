/**
 * Faults drawn from the seeded rng, counted, and how each is answered: a 5xx (502 as a proxy's HTML page), a
 * dropped connection, a truncated body (a 200/207 with `Connection: close` and no length: half of the body is
 * written, then the socket is closed), a slow answer. Every request that gets this far takes the same three
 * draws (the kind, slow or not, the latency), whatever the probabilities: a seed gives one sequence.
 */
import type * as Http from "node:http"
import type { Answer, ErrorAnswers } from "./answers.js"
import type { Tally } from "./counters.js"
import type { Faults, ResolvedOptions } from "./options.js"

export type Kind = "status500" | "status502" | "status503" | "status504" | "drop" | "truncate"
const kinds: ReadonlyArray<Kind> = ["status500", "status502", "status503", "status504", "drop", "truncate"]

export interface Draw {
  readonly fault: Kind | undefined
  /** Millis to wait before answering: the latency, plus the `slow` fault's. */
  readonly delay: number
}

export interface FaultInjector {
  /** The faults of the requests that arrive from now on. */
  readonly set: (faults: Faults) => void
  /** The three draws of a request; a slow answer is counted. */
  readonly draw: () => Draw
  /** Destroys the request's socket, counted. */
  readonly drop: (req: Http.IncomingMessage) => void
  /** The answer of a 5xx fault, counted; undefined for any other. */
  readonly failure: (fault: Kind | undefined) => Answer | undefined
  /** Writes half of an answer, then closes the socket; counted. */
  readonly truncate: (res: Http.ServerResponse, answer: Answer, headers: Readonly<Record<string, string>>) => void
}

const badGatewayHtml = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
  "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"

export const make = (
  options: Pick<ResolvedOptions, "faults" | "latencyMillis">,
  rng: () => number,
  tally: Tally,
  errors: ErrorAnswers
): FaultInjector => {
  let faults: Faults = options.faults
  return {
    set: (next) => {
      faults = next
    },
    draw: () => {
      const current = faults
      let r = rng()
      let fault: Kind | undefined
      for (const kind of kinds) {
        const p = current[kind] ?? 0
        if (r < p) {
          fault = kind
          break
        }
        r -= p
      }
      const slow = rng() < (current.slow?.probability ?? 0)
      const [min, max] = options.latencyMillis
      let delay = min + rng() * Math.max(0, max - min)
      if (slow) {
        tally.fault("slow")
        delay += current.slow?.millis ?? 0
      }
      return { fault, delay }
    },
    drop: (req) => {
      tally.fault("drop")
      req.socket.destroy()
    },
    failure: (fault) => {
      switch (fault) {
        case "status500":
          tally.fault("status500")
          return errors.error(500, "INTERNAL_ERROR", "internal error")
        case "status502":
          tally.fault("status502")
          return { status: 502, body: badGatewayHtml, contentType: "text/html" }
        case "status503":
          tally.fault("status503")
          return errors.error(503, "SERVICE_UNAVAILABLE", "Service Unavailable")
        case "status504":
          tally.fault("status504")
          return errors.error(504, "GATEWAY_TIMEOUT", "Gateway Timeout")
        default:
          return undefined
      }
    },
    truncate: (res, answer, headers) => {
      tally.fault("truncate")
      if (res.destroyed || res.headersSent) return
      const bytes = typeof answer.body === "string" ? Buffer.from(answer.body, "utf8") : answer.body
      const cut = Math.max(1, Math.floor(bytes.length / 2))
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      res.writeHead(answer.status, {
        ...headers,
        "Content-Type": "application/json;charset=utf-8",
        Connection: "close"
      })
      res.write(bytes.subarray(0, cut))
      res.end(() => res.socket?.destroy())
    }
  }
}
