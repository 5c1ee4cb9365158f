import t from 'tap'
import { divFixed, fixedFromNumber, formatFixed, fractionDigits, isDecimal, mulFixed, parseFixed } from '../../src/lib/decimal.js'

const f = (s: string): bigint => parseFixed(s) as bigint

t.test('parses decimal text and numbers exactly', async (t) => {
  t.equal(parseFixed('10'), 1_000_000_000n)
  t.equal(parseFixed('0.00000001'), 1n)
  t.equal(parseFixed(0.1), 10_000_000n, '0.1 is read through its shortest text')
  t.equal(parseFixed(1e-7), 10n, 'exponent notation handled')
  t.equal(parseFixed('0.000000001'), undefined, 'more than 8 decimals refused')
  for (const bad of ['', '.5', '5.', '-1', '1e3', ' 1', '0x10', '1,5']) t.equal(parseFixed(bad), undefined, `refuses ${JSON.stringify(bad)}`)
  t.equal(parseFixed(-1), undefined)
  t.equal(parseFixed(Number.NaN), undefined)
})

t.test('percent sums are exact where floats are not', async (t) => {
  t.not(0.1 + 0.2, 0.3)
  t.equal(f('0.1') + f('0.2'), f('0.3'))
  t.equal(f('84.93') + f('15.07'), f('100.00'))
  t.equal(f('33.33') + f('33.33') + f('33.34'), f('100'))
})

t.test('formats with rounding half up, to any number of digits', async (t) => {
  t.equal(formatFixed(f('8.45469657')), '8.45469657')
  t.equal(formatFixed(f('1.005'), 2), '1.01')
  t.equal(formatFixed(f('1.004'), 2), '1.00')
  t.equal(formatFixed(f('7'), 0), '7')
  t.equal(formatFixed(100_000_000n, 10), '1.0000000000')
  t.equal(formatFixed(-150_000_000n, 1), '-1.5')
})

t.test('multiplies and divides with rounding half away from zero', async (t) => {
  // The contract's mixer example: (10 - 0.0451) * 84.93 / 100 = 8.45469657
  const net = f('10') - f('0.04510000')
  t.equal(formatFixed(divFixed(mulFixed(net, f('84.93')), f('100'))), '8.45469657')
  t.equal(formatFixed(divFixed(f('2'), f('3'))), '0.66666667')
  t.equal(formatFixed(divFixed(-f('2'), f('3'))), '-0.66666667')
  t.equal(formatFixed(divFixed(f('2'), -f('3'))), '-0.66666667')
  t.throws(() => divFixed(1n, 0n), RangeError)
})

t.test('numbers convert without float drift', async (t) => {
  t.equal(fixedFromNumber(4300.8836), f('4300.8836'))
  t.equal(fixedFromNumber(182520), f('182520'))
  t.equal(fixedFromNumber(0.123456785), f('0.12345679'))
  t.equal(fixedFromNumber(-0.5), -f('0.5'))
})

t.test('literal checks', async (t) => {
  t.equal(fractionDigits('10.50'), 2)
  t.equal(fractionDigits('10'), 0)
  t.ok(isDecimal('10.5', 2))
  t.notOk(isDecimal('10.505', 2))
  t.notOk(isDecimal('abc'))
})
