/**
 * Flags decoded where they enter, every refusal naming its flag, its value and what is allowed
 * (`--batch-size: expected an integer from 1 to 1000, got "0"`): @effect/cli's own primitives (`integer`,
 * `choice`) say what was wrong but not of which flag. A refused flag ends the program before anything is sent
 * (exit 2).
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Effect, Option, ParseResult, Schema } from "effect"

const refuse = (name: string, detail: string) => ValidationError.invalidValue(HelpDoc.p(`--${name}: ${detail}`))

const integerPattern = /^[+-]?[0-9]+$/

/** An integer flag within [min, max]. */
export const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): Options.Options<number> =>
  Options.text(name).pipe(
    Options.withPseudoName(max === Number.MAX_SAFE_INTEGER ? `N (${min} or more)` : `N (${min} to ${max})`),
    Options.mapEffect((text) => {
      const n = integerPattern.test(text.trim()) ? Number(text) : NaN
      const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`
      return Number.isSafeInteger(n) && n >= min && n <= max
        ? Effect.succeed(n)
        : Effect.fail(refuse(name, `expected an integer ${range}, got ${JSON.stringify(text)}`))
    })
  )

/** A flag that takes one of `values`. */
export const choice = <const A extends string>(name: string, values: ReadonlyArray<A>): Options.Options<A> =>
  Options.text(name).pipe(
    Options.withPseudoName(values.join("|")),
    Options.mapEffect((text) => {
      const found = values.find((v) => v === text)
      return found !== undefined
        ? Effect.succeed(found)
        : Effect.fail(refuse(name, `expected ${values.join(" or ")}, got ${JSON.stringify(text)}`))
    })
  )

/** A text flag decoded by `schema`; a refusal gives the schema's first message. */
export const decoded = <A>(name: string, schema: Schema.Schema<A, string>) => (self: Options.Options<string>): Options.Options<A> =>
  Options.mapEffect(self, (text) =>
    Effect.mapError(Schema.decode(schema)(text), (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      return refuse(name, issue?.message ?? `cannot read ${JSON.stringify(text)}`)
    }))

/** A directory flag: a path that is a directory or does not exist yet (it is made when written). */
export const directory = (name: string): Options.Options<string> =>
  Options.text(name).pipe(
    Options.withPseudoName("DIR"),
    Options.mapEffect((path) =>
      FileSystem.FileSystem.pipe(
        Effect.flatMap((fs) => Effect.option(fs.stat(path))),
        Effect.flatMap((info) =>
          Option.isSome(info) && info.value.type !== "Directory"
            ? Effect.fail(refuse(name, `${path} exists and is not a directory`))
            : Effect.succeed(path)
        )
      )
    )
  )
