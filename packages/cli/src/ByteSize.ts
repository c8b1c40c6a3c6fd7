/**
 * A size in bytes as a flag spells it (`256MB`, `1GiB`, `1.5GB`, `512KiB`): decimal units are powers of 1000,
 * binary ones (`KiB`, `MiB`…) powers of 1024. `--memory` of `export` and of `diff` take one.
 */
import { ParseResult, Schema } from "effect"

const units: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40
}
const sizePattern = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)\s*$/i

/** A size of `minimum` bytes or more; `shown` is how the refusal spells the minimum (`128MiB`). */
export const atLeast = (minimum: number, shown: string) =>
  Schema.transformOrFail(Schema.String, Schema.Number, {
    strict: true,
    decode: (text, _, ast) => {
      const m = sizePattern.exec(text)
      const bytes = m === null ? NaN : Math.floor(Number(m[1]) * units[m[2]!.toLowerCase()]!)
      return Number.isSafeInteger(bytes) && bytes >= minimum
        ? ParseResult.succeed(bytes)
        : ParseResult.fail(
          new ParseResult.Type(ast, text, `expected a size of ${shown} or more (256MB, 1GB, 512MiB), got ${JSON.stringify(text)}`)
        )
    },
    encode: (bytes) => ParseResult.succeed(`${bytes}B`)
  })
