/**
 * Flags decoded where they enter, every refusal naming its flag, its value and what is allowed
 * (`--batch-size: expected an integer from 1 to 1000, got "0"`): @effect/cli's own primitives (`integer`,
 * `choice`) say what was wrong but not of which flag. A refused flag ends the program before anything is sent
 * (exit 2).
 *
 * A flag is made once, with what `--help` says of it: its own sentence, the placeholder of its value, what the
 * value may be, and its default, which is the very value given to the parser, so the help cannot state another.
 * `--help` prints a `Page` of such flags in sections (input, output, ...), examples at the end, wrapped to the
 * terminal; Cli.ts prints it for `--help`. @effect/cli's own help cannot: it puts a generic line before every
 * flag ("A user-defined piece of text.", since these flags are text decoded here), lists all in one block, and
 * wraps nothing. (A plain word wrap: @effect/printer's `reflow` did not finish on a paragraph of 120 words.)
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Config, Effect, Option, ParseResult, Schema } from "effect"

const refuse = (name: string, detail: string) => ValidationError.invalidValue(HelpDoc.p(`--${name}: ${detail}`))

/** A flag's option before it is documented, with how `--help` spells its value. */
export interface Parsed<A> {
  readonly name: string
  readonly options: Options.Options<A>
  /** The value's placeholder (`N`, `DIR`, `ndjson|parquet`); none for a switch. */
  readonly value: string | undefined
  /** What the value may be, when the placeholder does not say it: `1 to 1000`. */
  readonly range: string | undefined
  /** The environment variable read when the flag is not given. */
  readonly env: string | undefined
}

const parsed = <A>(
  name: string,
  value: string | undefined,
  options: Options.Options<A>,
  range?: string
): Parsed<A> => ({
  name,
  options: value === undefined ? options : Options.withPseudoName(options, value),
  value,
  range,
  env: undefined
})

const integerPattern = /^[+-]?[0-9]+$/

/** An integer flag within [min, max]. */
export const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): Parsed<number> => {
  const unbounded = max === Number.MAX_SAFE_INTEGER
  const range = unbounded ? `${min} or more` : `${min} to ${max}`
  const expected = `an integer ${unbounded ? "" : "from "}${range}`
  return parsed(
    name,
    "N",
    Options.mapEffect(Options.text(name), (text) => {
      const n = integerPattern.test(text.trim()) ? Number(text) : NaN
      return Number.isSafeInteger(n) && n >= min && n <= max
        ? Effect.succeed(n)
        : Effect.fail(refuse(name, `expected ${expected}, got ${JSON.stringify(text)}`))
    }),
    range
  )
}

const numberPattern = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/

/** A number flag within [min, max]: `0.05`. */
export const number = (name: string, min: number, max: number): Parsed<number> =>
  parsed(
    name,
    "X",
    Options.mapEffect(Options.text(name), (text) => {
      const n = numberPattern.test(text.trim()) ? Number(text) : NaN
      return n >= min && n <= max
        ? Effect.succeed(n)
        : Effect.fail(refuse(name, `expected a number from ${min} to ${max}, got ${JSON.stringify(text)}`))
    }),
    `${min} to ${max}`
  )

/** A flag that takes one of `values`. */
export const choice = <const A extends string>(name: string, values: ReadonlyArray<A>): Parsed<A> =>
  parsed(
    name,
    values.join("|"),
    Options.mapEffect(Options.text(name), (text) => {
      const found = values.find((v) => v === text)
      return found !== undefined
        ? Effect.succeed(found)
        : Effect.fail(refuse(name, `expected ${values.join(" or ")}, got ${JSON.stringify(text)}`))
    })
  )

/** A text flag, taken as given. */
export const text = (name: string, value: string): Parsed<string> => parsed(name, value, Options.text(name))

/** A text flag decoded by `schema`; a refusal gives the schema's first message. */
export const decoded = <A>(name: string, value: string, schema: Schema.Schema<A, string>): Parsed<A> =>
  parsed(
    name,
    value,
    Options.mapEffect(Options.text(name), (text) =>
      Effect.mapError(Schema.decode(schema)(text), (error) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
        return refuse(name, issue?.message ?? `cannot read ${JSON.stringify(text)}`)
      }))
  )

/** `path`, if it is a directory or does not exist yet. */
const checkDirectory = (name: string, path: string) =>
  FileSystem.FileSystem.pipe(
    Effect.flatMap((fs) => Effect.option(fs.stat(path))),
    Effect.flatMap((info) =>
      Option.isSome(info) && info.value.type !== "Directory"
        ? Effect.fail(refuse(name, `${path} exists and is not a directory`))
        : Effect.succeed(path)
    )
  )

/** A directory flag: a path that is a directory or does not exist yet (it is made when written). */
export const directory = (name: string): Parsed<string> =>
  parsed(name, "DIR", Options.mapEffect(Options.text(name), (path) => checkDirectory(name, path)))

/**
 * A dataset's location: a directory (as `directory`), or `s3://bucket/prefix`, taken as given here (its URL is read
 * where the bucket is opened).
 */
export const location = (name: string): Parsed<string> =>
  parsed(
    name,
    "DIR|s3://BUCKET/PREFIX",
    Options.mapEffect(Options.text(name), (value) =>
      value.startsWith("s3://") ? Effect.succeed(value) : checkDirectory(name, value))
  )

/** A text flag that falls back to the environment variable `env` when it is not given. */
export const withEnv = (self: Parsed<string>, env: string): Parsed<string> => ({
  ...self,
  options: Options.withFallbackConfig(self.options, Config.string(env)),
  env
})

/** What `--help` says of a flag: its term (`--batch-size N`), its sentence, and its facts (range, default, env). */
export interface Help extends Row {
  readonly required: boolean
}

/** A flag: the option @effect/cli parses and what `--help` says of it. */
export interface Flag<A> {
  readonly options: Options.Options<A>
  readonly help: Help
}

/**
 * `shown`: the value when the flag is not given, as `--help` says it (`100`, `off`), unless it is required;
 * `unless`: what else may stand for a required flag.
 */
const help = (flag: Parsed<unknown>, text: string, shown: string, required = false, unless?: string): Help => {
  const need = unless === undefined ? "required" : `required unless ${unless}`
  const facts = [flag.range, required || unless !== undefined ? need : `default: ${shown}`, flag.env && `env: ${flag.env}`]
  return {
    term: flag.value === undefined ? `--${flag.name}` : `--${flag.name} ${flag.value}`,
    text,
    facts: `[${facts.filter((f) => f !== undefined).join("; ")}]`,
    required
  }
}

/** A flag that must be given. */
export const required = <A>(flag: Parsed<A>, text: string): Flag<A> => ({
  options: Options.withDescription(flag.options, text),
  help: help(flag, text, "", true)
})

/** A flag with a default: `shown` is how `--help` says `value` (its `String` by default). */
export const withDefault = <A>(flag: Parsed<A>, value: A, text: string, shown: string = String(value)): Flag<A> => ({
  options: Options.withDescription(Options.withDefault(flag.options, value), text),
  help: help(flag, text, shown)
})

/**
 * A flag with a default that the command applies itself, after other sources of the same setting (a job file):
 * parsed as `Option.none()` when not given; `--help` states `value` (as `shown`) as the default.
 */
export const defaulted = <A>(
  flag: Parsed<A>,
  value: A,
  text: string,
  shown: string = String(value)
): Flag<Option.Option<A>> & { readonly value: A } => ({
  options: Options.withDescription(Options.optional(flag.options), text),
  help: help(flag, text, shown),
  value
})

/** A flag required unless something else stands for it (`--pairs or --job`): the command checks which. */
export const requiredUnless = <A>(flag: Parsed<A>, text: string, unless: string): Flag<Option.Option<A>> => ({
  options: Options.withDescription(Options.optional(flag.options), text),
  help: help(flag, text, "", false, unless)
})

/** A flag that may be left out: `absent` says what happens then. */
export const optional = <A>(flag: Parsed<A>, text: string, absent: string): Flag<Option.Option<A>> => ({
  options: Options.withDescription(Options.optional(flag.options), text),
  help: help(flag, text, absent)
})

/** A switch, off unless given. */
export const toggle = (name: string, text: string): Flag<boolean> => ({
  options: Options.withDescription(Options.boolean(name), text),
  help: help(parsed(name, undefined, Options.boolean(name)), text, "off")
})

/** The options of a command's flags, for `Command.make`. */
export const options = <const F extends Record<string, Flag<unknown>>>(
  flags: F
): { readonly [K in keyof F]: F[K]["options"] } => {
  const out: Record<string, Options.Options<unknown>> = {}
  for (const [key, flag] of Object.entries(flags)) out[key] = flag.options
  return out as { readonly [K in keyof F]: F[K]["options"] }
}

/** `assoc-etl export --from TYPE --to TYPE --out DIR [flags]`: the required flags, then the others. */
export const usage = (command: string, flags: Record<string, Flag<unknown>>): string => {
  const all = Object.values(flags)
  const required = all.filter((f) => f.help.required).map((f) => f.help.term)
  return [command, ...required, ...(required.length < all.length ? ["[flags]"] : [])].join(" ")
}

const action = (term: string, text: string): Help => ({ term, text, required: false })

/** The flags every command has from @effect/cli: actions (with no default to state), and `--log-level`. */
export const builtIn = {
  help: action("-h, --help", "Print this help and exit."),
  version: action("--version", "Print the version and exit."),
  completions: action("--completions SHELL", "Print a completion script for sh, bash, fish or zsh and exit."),
  wizard: action("--wizard", "Build the command line by answering prompts, then run it."),
  logLevel: {
    term: "--log-level LEVEL",
    text: "Lowest level of log line written: all, trace, debug, info, warning, error, fatal or none.",
    facts: "[default: info]",
    required: false
  }
} satisfies Record<string, Help>

/** One line of a section: a term (a flag, a variable, an exit status) and what it means. */
export interface Row {
  readonly term: string
  readonly text: string
  /** What it may be and its default, `[1 to 1000; default: 100]`: after the text, not broken unless longer than a
   * line. */
  readonly facts?: string
}

export interface Section {
  readonly title: string
  readonly rows: ReadonlyArray<Row>
}

/** A section of flags, in the order given, with other rows (environment variables, say) after them. */
export const section = (
  title: string,
  flags: ReadonlyArray<Flag<unknown> | Help>,
  more: ReadonlyArray<Row> = []
): Section => ({
  title,
  rows: [...flags.map((f) => "help" in f ? f.help : f), ...more]
})

/** The built-in flags every page lists. */
export const general: Section = section("General", [builtIn.help, builtIn.version, builtIn.completions, builtIn.wizard])

export interface Example {
  /** What it does, said in one line. */
  readonly title: string
  /** The command lines, printed as they are (never wrapped). */
  readonly lines: ReadonlyArray<string>
}

/** A command's `--help`: usage, what it does, its flags in sections, examples at the end. */
export interface Page {
  readonly usage: string
  readonly about: ReadonlyArray<string>
  readonly sections: ReadonlyArray<Section>
  readonly examples: ReadonlyArray<Example>
}

/** The column where the rows' texts start, unless a term is longer. */
const termColumn = 28

/** The words of `text` in lines of at most `width` columns (a longer word has a line of its own). */
const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/)) {
    if (word === "") continue
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  return line === "" ? lines : [...lines, line]
}

/** `facts` after the last of `lines`, or on lines of their own when they do not fit. */
const withFacts = (lines: Array<string>, facts: string, width: number): Array<string> => {
  const last = lines.at(-1)
  if (facts === "") return lines
  if (last !== undefined && last.length + 1 + facts.length <= width) return [...lines.slice(0, -1), `${last} ${facts}`]
  return [...lines, ...wrap(facts, width)]
}

/** The page as text, its paragraphs and rows wrapped at `width` columns; the examples' lines as they are. */
export const render = (page: Page, width: number): string => {
  const lines = [`Usage: ${page.usage}`]
  for (const p of page.about) lines.push("", ...wrap(p, width))
  for (const section of page.sections) {
    lines.push("", `${section.title}:`)
    for (const row of section.rows) {
      const term = `  ${row.term}`
      const text = withFacts(wrap(row.text, width - termColumn), row.facts ?? "", width - termColumn)
        .map((l) => `${" ".repeat(termColumn)}${l}`)
      if (term.length + 2 <= termColumn && text.length > 0) lines.push(term + text.shift()!.slice(term.length))
      else lines.push(term)
      lines.push(...text)
    }
  }
  if (page.examples.length > 0) lines.push("", "Examples:")
  page.examples.forEach((example, i) => {
    if (i > 0) lines.push("")
    lines.push(...wrap(example.title, width - 2).map((l) => `  ${l}`), ...example.lines.map((l) => `    ${l}`))
  })
  return lines.join("\n")
}
