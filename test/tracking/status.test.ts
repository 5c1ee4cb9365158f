import t from 'tap'
import fc from 'fast-check'
import { CheckShapeError, deriveStatus, goneSnapshot, jsonEqual, sameContent, snapshotFromCheck, type DepositProgress, type OutputProgress } from '../../src/tracking/status.js'
import { type TrackedOrder } from '../../src/tracking/schemas.js'

const T = 1_755_441_793_000
const CODE = '6A5FB3BA8A150EC9'

interface BodyOptions {
  confirmStatus?: number
  received?: string
  funded?: boolean
  canStart?: boolean
  deleteIn?: number
  outputs?: Array<{ state: number, confirm: number, left: number }>
  extra?: Record<string, unknown>
}

/** A `POST /v1/orders/check` answer with `outputs: "full"`, as upstream documents it. */
function checkBody (o: BodyOptions = {}): Record<string, unknown> {
  const outs = o.outputs ?? [{ state: 0, confirm: 0, left: 0 }, { state: 0, confirm: 0, left: 7200 }]
  return {
    ok: true,
    type: 'mixer',
    trackcode: CODE,
    deposit: {
      confirm_status: o.confirmStatus ?? 0,
      coin: 'btc',
      network: 'btc',
      delete_in_sec: o.deleteIn ?? 167_812,
      funding: {
        waiting_balance: '10.00000000',
        received_balance: o.received ?? '0.00000000',
        remaining_need: '10.00000000',
        is_fully_funded: o.funded ?? false,
        can_start: o.canStart ?? false
      }
    },
    outputs: outs.map((x, i) => ({
      index: i + 1,
      address: '35iM…EL',
      destination_tag: null,
      coin: 'btc',
      network: 'btc',
      share_percent: i === 0 ? 84.93 : 15.07,
      delay_label: i === 0 ? '0h 0m' : '2h 0m',
      delay_seconds: i === 0 ? 0 : 7200,
      state: x.state,
      confirm: x.confirm,
      tx: x.state === 2 ? `tx${i}` : '',
      amount: i === 0 ? '8.45469657' : '1.50020343',
      left_seconds: x.left
    })),
    ...o.extra
  }
}

const at = (ms: number, latencyMs = 50): { sentAt: number, latencyMs: number } => ({ sentAt: ms, latencyMs })

function snap (body: Record<string, unknown>, previous?: TrackedOrder, sentAt = T): TrackedOrder {
  const s = snapshotFromCheck(body, previous, at(sentAt), sentAt + 50)
  return previous === undefined ? { ...s, version: 1 } : s
}

t.test('deriveStatus follows the lifecycle', async (t) => {
  const out = (state: number, confirm: number): OutputProgress => ({ index: 1, state, confirm, send_at: null })
  const dep = (d: Partial<DepositProgress>): DepositProgress => ({ confirm_status: 0, delete_at: null, ...d })
  t.equal(deriveStatus(dep({ funding: { received_balance: '0.00000000', can_start: false } }), [out(0, 0)]), 'WaitingForPayment')
  t.equal(deriveStatus(dep({ confirm_status: 1, funding: { received_balance: '10.00000000', can_start: false } }), [out(0, 0)]), 'Confirming', 'payment seen, pending')
  t.equal(deriveStatus(dep({ confirm_status: 2, funding: { received_balance: '4.20000000', is_fully_funded: false, can_start: false } }), [out(0, 0)]), 'Confirming', 'confirmed but not fully funded')
  t.equal(deriveStatus(dep({ confirm_status: 0, funding: { received_balance: '0.00000001', can_start: false } }), [out(0, 0)]), 'Confirming', 'any amount received counts')
  t.equal(deriveStatus(dep({ confirm_status: 2, funding: { is_fully_funded: true, can_start: true } }), [out(1, 0), out(2, 1)]), 'WaitingForDelivery')
  t.equal(deriveStatus(dep({ confirm_status: 2, funding: { can_start: true } }), [out(2, 0), out(2, 1)]), 'WaitingForDelivery', 'sent but unconfirmed')
  t.equal(deriveStatus(dep({ confirm_status: 2, funding: { can_start: true } }), [out(2, 1), out(2, 1)]), 'Done')
  t.equal(deriveStatus(dep({ confirm_status: 2, funding: { can_start: true } }), []), 'WaitingForDelivery', 'no outputs known: not done')
  t.equal(deriveStatus(dep({ confirm_status: 2 }), [out(2, 1)]), 'Done', 'without funding block, confirm_status 2 means started')
})

t.test('a check becomes a snapshot: countdowns made absolute, unknown fields kept, ok dropped', async (t) => {
  const body = checkBody({
    confirmStatus: 2,
    received: '10.00000000',
    funded: true,
    canStart: true,
    outputs: [{ state: 2, confirm: 1, left: 0 }, { state: 1, confirm: 0, left: 5916 }],
    extra: { status_reason: 'SOMETHING', maintenance: 0 }
  })
  ;(body.deposit as Record<string, unknown>).future_field = 'kept'
  ;((body.outputs as Array<Record<string, unknown>>)[1] as Record<string, unknown>).memo = 'kept too'
  const s = snap(body)
  const base = Math.floor(T / 1000)
  t.notOk('ok' in s)
  t.equal(s.trackcode, CODE)
  t.equal(s.type, 'mixer')
  t.equal(s.status, 'WaitingForDelivery')
  t.equal(s.status_reason, 'SOMETHING')
  t.equal(s.maintenance, 0, 'unknown top-level field kept')
  t.equal(s.deposit.delete_at, base + 167_812)
  t.notOk('delete_in_sec' in s.deposit)
  t.equal(s.deposit.future_field, 'kept')
  t.same(Object.keys(s.deposit), ['confirm_status', 'coin', 'network', 'delete_at', 'funding', 'future_field'], 'delete_at takes delete_in_sec\'s place')
  t.same(s.outputs.map((o) => o.send_at), [base, base + 5916])
  t.notOk(s.outputs.some((o) => 'left_seconds' in o))
  t.equal(s.outputs[1]?.memo, 'kept too')
  t.equal(s.outputs[1]?.amount, '1.50020343', 'amounts untouched')
})

t.test('send_at is null until the countdown runs; status_reason null when absent', async (t) => {
  const s = snap(checkBody({ confirmStatus: 1, received: '10.00000000', funded: true }))
  t.equal(s.status, 'Confirming')
  t.same(s.outputs.map((o) => o.send_at), [null, null], 'left_seconds is the static delay before the start')
  t.equal(s.status_reason, null)
})

t.test('derived fields never shadowed by upstream fields of the same name', async (t) => {
  const s = snap(checkBody({ extra: { status: 'Bogus', version: 99, updated_at: 1 } }))
  t.equal(s.status, 'WaitingForPayment')
  t.equal(s.version, 1)
  t.not(s.updated_at, 1)
})

t.test('countdown ticks are not changes; real changes are', async (t) => {
  const running = { confirmStatus: 2, received: '10.00000000', funded: true, canStart: true }
  const first = snap(checkBody({ ...running, deleteIn: 100_000, outputs: [{ state: 1, confirm: 0, left: 600 }, { state: 1, confirm: 0, left: 7200 }] }))
  // 61 s later, every countdown moved by 61 (± rounding).
  const later = snapshotFromCheck(checkBody({ ...running, deleteIn: 100_000 - 62, outputs: [{ state: 1, confirm: 0, left: 600 - 60 }, { state: 1, confirm: 0, left: 7200 - 61 }] }), first, at(T + 61_000), T + 61_050)
  t.ok(sameContent(first, later), 'a tick is no change')
  t.same(later.outputs.map((o) => o.send_at), first.outputs.map((o) => o.send_at), 'the first derived times are kept')

  const sent = snapshotFromCheck(checkBody({ ...running, deleteIn: 100_000 - 600, outputs: [{ state: 2, confirm: 0, left: 0 }, { state: 1, confirm: 0, left: 6600 }] }), first, at(T + 600_000), T + 600_050)
  t.notOk(sameContent(first, sent), 'an output sent is a change')
  t.equal(sent.outputs[0]?.send_at, first.outputs[0]?.send_at, 'a countdown clamped at 0 keeps the planned time')

  const moved = snapshotFromCheck(checkBody({ ...running, deleteIn: 100_000, outputs: [{ state: 1, confirm: 0, left: 900 }, { state: 1, confirm: 0, left: 7200 }] }), first, at(T), T + 50)
  t.notOk(sameContent(first, moved), 'a send time moved by 5 min is a change')
  t.equal(moved.outputs[0]?.send_at, Math.floor(T / 1000) + 900)
})

t.test('a slow check widens the tolerance by its latency', async (t) => {
  const first = snap(checkBody({ deleteIn: 100_000 }))
  // Sent at T+10 s, answered 5 s later: upstream computed its countdown somewhere in between.
  const slow = snapshotFromCheck(checkBody({ deleteIn: 100_000 - 15 }), first, { sentAt: T + 10_000, latencyMs: 5000 }, T + 15_000)
  t.ok(sameContent(first, slow))
  const fast = snapshotFromCheck(checkBody({ deleteIn: 100_000 - 15 }), first, { sentAt: T + 10_000, latencyMs: 10 }, T + 10_010)
  t.notOk(sameContent(first, fast), 'without the latency, 5 s off is a change')
})

t.test('property: any tick of a fixed deadline, seen with up to 1 s of rounding, is no change', async () => {
  const deadlineS = Math.floor(T / 1000) + 100_000
  const sendS = Math.floor(T / 1000) + 5000
  fc.assert(fc.property(
    fc.array(fc.record({ afterMs: fc.integer({ min: 0, max: 4_000_000 }), roundUp: fc.boolean(), latencyMs: fc.integer({ min: 0, max: 900 }) }), { minLength: 1, maxLength: 20 }),
    (checks) => {
      const running = { confirmStatus: 2, received: '10.00000000', funded: true, canStart: true }
      let prev = snap(checkBody({ ...running, deleteIn: deadlineS - Math.floor(T / 1000), outputs: [{ state: 1, confirm: 0, left: sendS - Math.floor(T / 1000) }] }))
      for (const c of [...checks].sort((a, b) => a.afterMs - b.afterMs)) {
        const sentAt = T + c.afterMs
        // Upstream computed its countdowns while the request was in flight.
        const computedAt = sentAt + Math.floor(c.latencyMs / 2)
        const secs = computedAt / 1000
        const left = (d: number): number => Math.max(0, c.roundUp ? Math.ceil(d - secs) : Math.floor(d - secs))
        const next = snapshotFromCheck(checkBody({ ...running, deleteIn: left(deadlineS), outputs: [{ state: 1, confirm: 0, left: left(sendS) }] }), prev, { sentAt, latencyMs: c.latencyMs }, sentAt + c.latencyMs)
        if (!sameContent(prev, next)) return false
        prev = next
      }
      return true
    }
  ))
})

t.test('the status never moves backwards', async (t) => {
  const delivering = snap(checkBody({ confirmStatus: 2, received: '10.00000000', funded: true, canStart: true, outputs: [{ state: 1, confirm: 0, left: 60 }] }))
  t.equal(delivering.status, 'WaitingForDelivery')
  const glitch = snapshotFromCheck(checkBody({ confirmStatus: 1, received: '10.00000000', funded: true }), delivering, at(T + 1000), T + 1050)
  t.equal(glitch.status, 'WaitingForDelivery', 'an upstream glitch back to pending does not demote the order')
  t.equal(glitch.deposit.confirm_status, 1, 'while the fields still say what upstream said')
})

t.test('goneSnapshot keeps the last known data', async (t) => {
  const last = { ...snap(checkBody()), version: 4 }
  const gone = goneSnapshot(last, T + 5000)
  t.equal(gone.status, 'Gone')
  t.equal(gone.version, 5)
  t.equal(gone.updated_at, Math.floor((T + 5000) / 1000))
  t.same(gone.outputs, last.outputs)
})

t.test('answers that are not check answers are refused', async (t) => {
  t.throws(() => snapshotFromCheck({ ok: true }, undefined, at(T), T), CheckShapeError)
  t.throws(() => snapshotFromCheck({ ok: true, trackcode: CODE }, undefined, at(T), T), CheckShapeError)
  t.throws(() => snapshotFromCheck({ ok: true, trackcode: CODE, deposit: { confirm_status: 'x' } }, undefined, at(T), T), CheckShapeError)
  t.throws(() => snapshotFromCheck({ ...checkBody(), outputs: { count: 2, sent_count: 0, sent_total: '0' } }, undefined, at(T), T), CheckShapeError, 'a summary is not enough')
  t.throws(() => snapshotFromCheck({ ...checkBody(), outputs: [{ index: 1 }] }, undefined, at(T), T), CheckShapeError)
  t.same(snapshotFromCheck({ ...checkBody(), outputs: undefined }, undefined, at(T), T).outputs, [], 'no outputs yet is fine')
})

t.test('jsonEqual', async (t) => {
  t.ok(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }))
  t.ok(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), 'key order does not matter')
  t.notOk(jsonEqual({ a: 1 }, { a: 1, b: undefined }))
  t.notOk(jsonEqual([1], { 0: 1 }))
  t.notOk(jsonEqual({ a: '1' }, { a: 1 }))
  t.notOk(jsonEqual([1, 2], [1]))
})
