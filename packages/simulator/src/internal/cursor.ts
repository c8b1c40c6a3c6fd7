/**
 * Opaque paging cursors for the batch-read endpoint: base64 of the position
 * and a check bound to (seed, pair, id), padded so that the base64 ends in
 * `==`, then URL-encoded (`...%3D%3D`), as HubSpot's cursors often look.
 * A cursor for another id, pair or seed, or edited, is refused.
 */
import { hashString } from "./prng.js"

const check = (seed: number, key: string, offset: number): string =>
  hashString(seed ^ 0x2c1b3c6d, `${key}\u0000${offset}`).toString(36)

export const encode = (seed: number, key: string, offset: number): string => {
  let payload = `${offset}:${check(seed, key, offset)}`
  while (payload.length % 3 !== 1) payload += ":"
  return encodeURIComponent(Buffer.from(payload, "latin1").toString("base64"))
}

/** The position a cursor points at, or undefined when it is not a cursor this simulator gave for `key`. */
export const decode = (seed: number, key: string, cursor: string): number | undefined => {
  let text: string
  try {
    text = decodeURIComponent(cursor)
  } catch {
    return undefined
  }
  if (!/^[A-Za-z0-9+/]+=*$/.test(text)) return undefined
  const payload = Buffer.from(text, "base64").toString("latin1")
  const match = /^([1-9][0-9]{0,9}):([0-9a-z]+):*$/.exec(payload)
  if (match === null) return undefined
  const offset = Number(match[1])
  return check(seed, key, offset) === match[2] ? offset : undefined
}
