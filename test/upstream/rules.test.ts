/**
 * The cross-field rules in code, directly: exact decimal sums (property-based), delay
 * labels, decimals of JSON numbers, and the mixer limits read from meta.
 */
import t from 'tap'
import fc from 'fast-check'
import { GatewayError } from '../../src/errors.js'
import { parseFixed } from '../../src/lib/decimal.js'
import { checkPercentSplit } from '../../src/upstream/rules/percent-split.js'
import { parseDelayMinutes } from '../../src/upstream/rules/delay.js'
import { decimalLiteral, readDecimal } from '../../src/upstream/rules/decimal-input.js'
import { checkMixerAmount, findMixerLimits } from '../../src/upstream/rules/mixer-limits.js'

function refusal (fn: () => unknown): GatewayError | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    if (err instanceof GatewayError) return err
    throw err
  }
}

/** 1 to 10 shares in hundredths, each ≥ 100 (1.00 %), summing to 10000 (100.00 %). */
const splits = fc.integer({ min: 1, max: 10 }).chain((n) =>
  fc.array(fc.integer({ min: 0, max: 10000 - 100 * n }), { minLength: n - 1, maxLength: n - 1 }).map((cuts) => {
    const free = 10000 - 100 * n
    const points = [0, ...cuts.sort((a, b) => a - b), free]
    return points.slice(1).map((p, i) => 100 + p - (points[i] as number))
  })
)

const asText = (hundredths: number): string => `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`

t.test('any split of exactly 100.00 is accepted, as strings or as numbers', async (t) => {
  fc.assert(fc.property(splits, fc.boolean(), (shares, numbers) => {
    const outputs = shares.map((h) => ({ percent: numbers ? Number(asText(h)) : asText(h) }))
    return refusal(() => checkPercentSplit(outputs)) === undefined
  }), { numRuns: 500 })
  t.pass('500 random splits accepted')
})

t.test('moving any share by 0.01 breaks the sum', async (t) => {
  fc.assert(fc.property(splits.filter((s) => s.length > 1), fc.nat(), fc.boolean(), (shares, at, up) => {
    const i = at % shares.length
    const moved = shares.map((h, j) => (j === i ? h + (up ? 1 : -1) : h))
    const err = refusal(() => checkPercentSplit(moved.map((h) => ({ percent: asText(h) }))))
    return err !== undefined && err.code === 'BAD_REQUEST' && /^(Sum of percents must be exactly 100\.00|addresses\[\d+\]\.percent must be between)/.test(err.message)
  }), { numRuns: 500 })
  t.pass('500 perturbed splits refused')
})

t.test('percent bounds and decimals', async (t) => {
  t.match(refusal(() => checkPercentSplit([{ percent: '99.5' }, { percent: '0.5' }]))?.message, /^addresses\[1\]\.percent must be between 1\.00 and 100\.00$/)
  t.match(refusal(() => checkPercentSplit([{ percent: 50.005 }, { percent: 49.995 }]))?.message, /^addresses\[0\]\.percent must have at most 2 decimals$/)
  t.match(refusal(() => checkPercentSplit([{ percent: '99' }]))?.message, /^addresses\[0\]\.percent must be exactly 100\.00 for a single output$/)
  t.same(checkPercentSplit([{ percent: '100.00' }]), [parseFixed('100')])
})

t.test('delays: minutes or labels, at most 2880 minutes', async (t) => {
  const ok: Array<[unknown, number]> = [[0, 0], ['0', 0], [2880, 2880], ['2880', 2880], ['2h 0m', 120], ['2h', 120], ['30m', 30], ['1h30m', 90], ['48h 0m', 2880], ['0h 2880m', 2880]]
  for (const [value, minutes] of ok) t.equal(parseDelayMinutes(value, 'd'), minutes, JSON.stringify(value))
  const over: unknown[] = [2881, '2881', '48h 1m', '47h 61m', '2881m', '49h']
  for (const value of over) t.match(refusal(() => parseDelayMinutes(value, 'd'))?.message, /^d must be at most 48h/, JSON.stringify(value))
  const bad: unknown[] = [-1, 1.5, '1.5', '', 'h', '2 hours', null, true, '2h 0m 0s']
  for (const value of bad) t.match(refusal(() => parseDelayMinutes(value, 'd'))?.message, /^d must be a number of minutes/, JSON.stringify(value))
})

t.test('decimals: strings by their text, numbers by their shortest spelling', async (t) => {
  t.equal(decimalLiteral('10.50'), '10.50')
  t.equal(decimalLiteral(10.5), '10.5')
  t.equal(decimalLiteral(1e-7), '0.0000001')
  t.equal(decimalLiteral(1e-9), undefined, 'beyond 8 decimals')
  t.equal(decimalLiteral(-1), undefined)
  t.equal(decimalLiteral('1e5'), undefined, 'no exponent in strings')
  t.equal(decimalLiteral(Number.NaN), undefined)
  t.equal(readDecimal(0.45, 'fee', 2), parseFixed('0.45'))
  t.match(refusal(() => readDecimal('10.500', 'p', 2))?.message, /^p must have at most 2 decimals$/, 'a string keeps its trailing zeros')
  t.equal(readDecimal(10.500, 'p', 2), parseFixed('10.5'), 'a number has none')
})

t.test('mixer limits from meta: case-insensitive, numbers or strings, unknown shapes ignored', async (t) => {
  const meta = { ok: true, mixer: { BTC: { networks: { btc: { min: 0.001, max: '20' } } }, USDT: { networks: { trc20: { min: 20, max: 250000 } } } } }
  const btc = findMixerLimits(meta, 'btc', 'BTC')
  t.ok(btc)
  t.equal(btc?.minText, '0.001')
  t.equal(btc?.maxText, '20')
  t.equal(findMixerLimits(meta, 'USDT', 'trc20')?.min, parseFixed('20'))
  t.equal(findMixerLimits(meta, 'eth', 'eth'), undefined, 'unknown coin: upstream decides')
  t.equal(findMixerLimits(meta, 'usdt', 'erc20'), undefined, 'unknown network: upstream decides')
  t.equal(findMixerLimits({ ok: true }, 'btc', 'btc'), undefined)
  t.equal(findMixerLimits({ ok: true, mixer: { BTC: { networks: { btc: { min: 'x', max: 1 } } } } }, 'btc', 'btc'), undefined)
  t.equal(findMixerLimits(null, 'btc', 'btc'), undefined)

  const limits = btc as NonNullable<typeof btc>
  t.equal(refusal(() => checkMixerAmount(limits, parseFixed('0.001') as bigint, 'btc', 'btc')), undefined, 'the minimum itself is fine')
  t.equal(refusal(() => checkMixerAmount(limits, parseFixed('20') as bigint, 'btc', 'btc')), undefined, 'the maximum itself is fine')
  t.equal(refusal(() => checkMixerAmount(limits, parseFixed('0.00099999') as bigint, 'btc', 'btc'))?.code, 'AMOUNT_TOO_LOW')
  t.equal(refusal(() => checkMixerAmount(limits, parseFixed('20.00000001') as bigint, 'btc', 'btc'))?.code, 'AMOUNT_TOO_HIGH')
})
