/**
 * The script a user would write with `@hubspot/api-client` 13.5.0, as its
 * README shows: one Client with `basePath` and `numberOfApiCallRetries`,
 * associations v4 `batchApi.getPage` in batches of 1000 ids, one
 * `JSON.stringify` a row to an NDJSON file. The README shows `after` only for
 * the single-object `basicApi.getPage`, not for the batch API, so by default
 * this script does not follow it.
 *
 * With `--follow-after`, it is what a careful user writes once they notice the
 * missing rows: the same sequential loop, then rounds of batches of the
 * `{ id, after }` continuations (the batch input takes `after`) until no
 * result has `paging.next.after`. Rows of a page are written as they come.
 *
 * Run as a child: `node officialScript.js idsFile outFile baseUrl [--follow-after]`.
 */
import { Client } from "@hubspot/api-client"
import * as fs from "node:fs"

const main = async () => {
  const [idsFile, outFile, basePath, flag] = process.argv.slice(2) as [string, string, string, string | undefined]
  const followAfter = flag === "--follow-after"
  const ids = fs.readFileSync(idsFile, "utf8").split("\n").filter((s) => s.length > 0)
  const client = new Client({ accessToken: process.env["HUBSPOT_ACCESS_TOKEN"] ?? "", basePath, numberOfApiCallRetries: 6 })
  const out = fs.createWriteStream(outFile)
  let failed = 0
  let inputs: Array<{ id: string; after?: string }> = ids.map((id) => ({ id }))
  while (inputs.length > 0) {
    const next: Array<{ id: string; after: string }> = []
    for (let i = 0; i < inputs.length; i += 1000) {
      try {
        const response = await client.crm.associations.v4.batchApi.getPage("contacts", "companies", {
          inputs: inputs.slice(i, i + 1000)
        })
        for (const result of response.results) {
          for (const to of result.to) {
            for (const t of to.associationTypes) {
              out.write(JSON.stringify({
                from_object_type: "contacts",
                from_object_id: result._from.id,
                to_object_type: "companies",
                to_object_id: String(to.toObjectId),
                association_category: t.category,
                association_type_id: t.typeId,
                association_label: t.label ?? null
              }) + "\n")
            }
          }
          const after = result.paging?.next?.after
          if (followAfter && after !== undefined) next.push({ id: result._from.id, after })
        }
      } catch (e) {
        failed++
        console.error(`batch at ${i} failed: ${String((e as { code?: unknown }).code ?? e)}`)
      }
    }
    inputs = next
  }
  await new Promise<void>((resolve) => out.end(resolve))
  console.error(`failed batches: ${failed}`)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
