/**
 * Which object types a HubSpot portal can have, told apart before any request: a standard object's name
 * (plural or singular, as HubSpot's paths take both), an object type id (`0-1` for contacts, `2-12345` for a
 * custom object), or a custom object's name with its prefix (`p_cars`, or fully qualified `p12345_cars`). A bare
 * name that is none of these (`foo`) cannot exist in any portal: HubSpot would answer 400 "Unable to infer
 * object type", so it is refused where it enters, naming the forms that work.
 */
import { Either } from "effect"

/** HubSpot's standard objects, as their paths name them (plural), from HubSpot's object API guides. */
export const standardNames: ReadonlyArray<string> = [
  "contacts",
  "companies",
  "deals",
  "tickets",
  "calls",
  "communications",
  "emails",
  "meetings",
  "notes",
  "postal_mail",
  "tasks",
  "products",
  "line_items",
  "quotes",
  "feedback_submissions",
  "invoices",
  "leads",
  "marketing_events",
  "orders",
  "payments",
  "commerce_payments",
  "subscriptions",
  "projects",
  "users",
  "carts",
  "discounts",
  "fees",
  "taxes",
  "goal_targets",
  "appointments",
  "courses",
  "listings",
  "services",
  "partner_clients",
  "deal_splits"
]

const singular = (name: string): string =>
  name === "companies" ? "company" : name === "taxes" ? "tax" : name.endsWith("s") ? name.slice(0, -1) : name

const known = new Set([...standardNames, ...standardNames.map(singular)])
const typeId = /^[0-9]{1,4}-[0-9]{1,18}$/
const customName = /^p[0-9]*_[a-z0-9_]+$/i

/** The type as given when a portal can have it, or why it cannot. */
export const check = (type: string): Either.Either<string, string> =>
  known.has(type) || typeId.test(type) || customName.test(type)
    ? Either.right(type)
    : Either.left(
      `${JSON.stringify(type)} is not an object type HubSpot has: use a standard object (contacts, companies, deals, `
        + "tickets, line_items, ...), an object type id (0-1, 2-12345), or a custom object's name with its prefix "
        + "(p_cars)"
    )
