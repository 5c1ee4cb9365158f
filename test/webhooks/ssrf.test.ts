/**
 * `src/webhooks/ssrf.ts` on its own: every blocked range (IPv4, IPv6, and IPv4-mapped
 * forms), the operator's allow-list by host name and by CIDR, and the URL check's
 * other rules (scheme, credentials, every resolved address, the pinned lookup).
 */
import t from 'tap'
import { AllowList, checkWebhookUrl, isInternalAddress, pinnedLookup, WebhookUrlError, type Resolver } from '../../src/webhooks/ssrf.js'

const BLOCKED = [
  '0.0.0.0', '0.1.2.3', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.254', '127.0.0.1', '127.255.0.9',
  '169.254.169.254', '169.254.0.1', '172.16.0.1', '172.31.255.254', '192.0.0.8', '192.0.2.1', '192.88.99.1',
  '192.168.1.1', '198.18.0.1', '198.19.255.254', '198.51.100.7', '203.0.113.7', '224.0.0.1', '239.255.255.250',
  '240.0.0.1', '255.255.255.255',
  '::', '::1', '64:ff9b::a00:1', '64:ff9b:1::1', '100::1', '2001::1', '2001:db8::1', '2002:a00:1::1',
  'fc00::1', 'fd00:ec2::254', 'fe80::1', 'febf::1', 'fec0::1', 'ff02::1',
  '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::FFFF:169.254.169.254', '::ffff:7f00:1', '::ffff:a9fe:a9fe',
  'not-an-address'
]
const PUBLIC = ['1.1.1.1', '8.8.8.8', '93.184.215.14', '100.63.255.255', '100.128.0.1', '172.15.255.255', '172.32.0.1', '169.253.255.255', '2606:4700:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8', '::ffff:808:808']

t.test('every internal range is blocked, public addresses are not', async (t) => {
  for (const address of BLOCKED) t.ok(isInternalAddress(address), `${address} blocked`)
  for (const address of PUBLIC) t.notOk(isInternalAddress(address), `${address} public`)
})

t.test('the allow-list: host names, CIDRs, and mapped forms of allowed addresses', async (t) => {
  const allow = new AllowList(['Receiver.Internal', '10.1.0.0/16', 'fd12::/16', '127.0.0.1'])
  t.ok(allow.host('receiver.internal'), 'host names, case-insensitive')
  t.notOk(allow.host('other.internal'))
  t.ok(allow.address('10.1.2.3'), 'inside the CIDR')
  t.notOk(allow.address('10.2.0.1'), 'outside it')
  t.ok(allow.address('::ffff:10.1.9.9'), 'an IPv4-mapped address inside it')
  t.ok(allow.address('fd12::5'), 'an IPv6 CIDR')
  t.notOk(allow.address('fd13::5'))
  t.ok(allow.address('127.0.0.1'), 'a single address')
  t.notOk(new AllowList([]).address('127.0.0.1'), 'nothing without a list')
})

const fixed = (map: Record<string, string[]>): Resolver => async (host) => (map[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))

t.test('checkWebhookUrl', async (t) => {
  const none = new AllowList([])
  const resolve = fixed({ 'public.example': ['93.184.215.14'], 'mixed.example': ['93.184.215.14', '10.0.0.5'], 'internal.example': ['10.1.2.3'], 'v6.example': ['2606:4700::1'] })
  const refused = async (url: string, allow: AllowList, pattern: RegExp): Promise<void> => {
    await t.rejects(checkWebhookUrl(url, allow, resolve), pattern, url)
    await t.rejects(checkWebhookUrl(url, allow, resolve), WebhookUrlError)
  }
  await refused('not a url', none, /not a URL/)
  await refused('ftp://public.example/', none, /https/)
  await refused('http://public.example/hook', none, /https/)
  await refused('https://user:pw@public.example/', none, /credentials/)
  await refused('https://nowhere.example/', none, /does not resolve/)
  await refused('https://127.0.0.1/', none, /internal address/)
  await refused('https://[::1]/', none, /internal address/)
  await refused('https://[::ffff:169.254.169.254]/', none, /internal address/)
  await refused('https://internal.example/', none, /internal address \(10\.1\.2\.3\)/)
  await refused('https://mixed.example/', none, /10\.0\.0\.5/)

  t.match(await checkWebhookUrl('https://public.example/hook', none, resolve), { hostname: 'public.example', address: '93.184.215.14', family: 4 })
  t.match(await checkWebhookUrl('https://v6.example/', none, resolve), { address: '2606:4700::1', family: 6 })
  t.match(await checkWebhookUrl('http://internal.example/', new AllowList(['internal.example']), resolve), { address: '10.1.2.3' }, 'allowed by host name: internal and http:')
  t.match(await checkWebhookUrl('https://internal.example/', new AllowList(['10.1.0.0/16']), resolve), { address: '10.1.2.3' }, 'allowed by CIDR')
  t.match(await checkWebhookUrl('http://127.0.0.1:8080/', new AllowList(['127.0.0.0/8']), resolve), { address: '127.0.0.1' }, 'an allowed address may use http:')
  await refused('https://mixed.example/', new AllowList(['10.1.0.0/16']), /10\.0\.0\.5/)
})

t.test('the pinned lookup answers the checked address, whatever is asked', async (t) => {
  const target = await checkWebhookUrl('https://public.example/', new AllowList([]), fixed({ 'public.example': ['93.184.215.14'] }))
  const lookup = pinnedLookup(target) as unknown as (host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => void
  const one = await new Promise<unknown[]>((resolve) => { lookup('elsewhere.example', {}, (...args) => { resolve(args) }) })
  t.same(one, [null, '93.184.215.14', 4])
  const all = await new Promise<unknown[]>((resolve) => { lookup('elsewhere.example', { all: true }, (...args) => { resolve(args) }) })
  t.same(all, [null, [{ address: '93.184.215.14', family: 4 }]])
})
