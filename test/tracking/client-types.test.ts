/**
 * The browser client's `TrackedOrder` (`web/client/trackgate-client.d.ts`) agrees with
 * the gateway's one definition, the `TrackedOrder` schema (`src/tracking/schemas.ts`).
 *
 * At compile time (`npm test` runs `tsc --noEmit` over `test/` first): each type is
 * assignable to the other, so a field added, dropped, made optional or typed apart on
 * one side fails the build. At run time: a real snapshot carries exactly the fields the
 * schema lists (all of them required), passes the schema, and passes the client's check.
 */
import t from 'tap'
import type { Static } from 'typebox'
import { Check } from 'typebox/value'
import { CheckFunding } from '../../src/upstream/schemas/order-check.js'
import { TrackedDeposit, TrackedOrder, TrackedOutput, type TrackedOrder as OpenTrackedOrder } from '../../src/tracking/schemas.js'
import { isTrackedOrder, type TrackedOrder as ClientTrackedOrder } from '../../web/client/trackgate-client.js'
import { build } from '../helpers/build.js'
import { createOrder } from '../helpers/fixtures.js'

type SchemaTrackedOrder = Static<typeof TrackedOrder>

// Both directions, for the schema's static type and for the open type the gateway's code uses.
const schemaToClient = (order: SchemaTrackedOrder): ClientTrackedOrder => order
const clientToSchema = (order: ClientTrackedOrder): SchemaTrackedOrder => order
const openToClient = (order: OpenTrackedOrder): ClientTrackedOrder => order
const clientToOpen = (order: ClientTrackedOrder): OpenTrackedOrder => order

const sorted = (keys: Iterable<string>): string[] => [...keys].sort()

t.test('a real snapshot has exactly the schema\'s fields, and both the schema and the client accept it', async (t) => {
  const s = await build(t, { clock: 'manual', fast: true })
  const code = await createOrder(s.sim)
  const res = await fetch(`${s.url}/orders/${code}`)
  t.equal(res.status, 200)
  const order = await res.json() as SchemaTrackedOrder

  t.ok(Check(TrackedOrder, order), 'the snapshot matches the TrackedOrder schema')
  t.ok(isTrackedOrder(schemaToClient(order), code), 'the client accepts the snapshot')

  t.strictSame(sorted(Object.keys(order)), sorted(Object.keys(TrackedOrder.properties)), 'order: the fields the schema lists')
  t.strictSame(sorted(TrackedOrder.required), sorted(Object.keys(order)), 'order: every field required')
  t.strictSame(sorted(Object.keys(order.deposit)), sorted(Object.keys(TrackedDeposit.properties)), 'deposit: the fields the schema lists')
  t.strictSame(sorted(TrackedDeposit.required), sorted(Object.keys(order.deposit)), 'deposit: every field required')
  t.strictSame(sorted(Object.keys(order.deposit.funding)), sorted(Object.keys(CheckFunding.properties)), 'funding: the fields the schema lists')
  t.strictSame(sorted(CheckFunding.required), sorted(Object.keys(order.deposit.funding)), 'funding: every field required')
  t.ok(order.outputs.length > 0, 'the order has outputs')
  for (const output of order.outputs) {
    t.strictSame(sorted(Object.keys(output)), sorted(Object.keys(TrackedOutput.properties)), `output ${output.index}: the fields the schema lists`)
    t.strictSame(sorted(TrackedOutput.required), sorted(Object.keys(output)), `output ${output.index}: every field required`)
  }

  // The same value through every typed door comes out unchanged (the conversions are type-level only).
  t.equal(clientToSchema(schemaToClient(order)), order)
  t.equal(clientToOpen(openToClient(order)), order)
})
