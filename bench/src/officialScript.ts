/**
 * The script a user would write with `@hubspot/api-client` 13.5.0, as its
 * README shows: one Client with `basePath` and `numberOfApiCallRetries`,
 * associations v4 `batchApi.getPage` in batches of 1000 ids, one
 * `JSON.stringify` a row to an NDJSON file. The README shows `after` only for
 * the single-object `basicApi.getPage`, not for the batch API, so this script
 * does not follow it. Run as a child: `node officialScript.js idsFile outFile baseUrl`.
 */
import { Client } from "@hubspot/api-client"
import * as fs from "node:fs"

const main = async () => {
  const [idsFile, outFile, basePath] = process.argv.slice(2) as [string, string, string]
  const ids = fs.readFileSync(idsFile, "utf8").split("\n").filter((s) => s.length > 0)
  const client = new Client({ accessToken: process.env["HUBSPOT_ACCESS_TOKEN"] ?? "", basePath, numberOfApiCallRetries: 6 })
  const out = fs.createWriteStream(outFile)
  let failed = 0
  for (let i = 0; i < ids.length; i += 1000) {
    const inputs = ids.slice(i, i + 1000).map((id) => ({ id }))
    try {
      const response = await client.crm.associations.v4.batchApi.getPage("contacts", "companies", { inputs })
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
      }
    } catch (e) {
      failed++
      console.error(`batch at ${i} failed: ${String((e as { code?: unknown }).code ?? e)}`)
    }
  }
  await new Promise<void>((resolve) => out.end(resolve))
  console.error(`failed batches: ${failed}`)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
