/**
 * The demo page: create a simulated mixer order (when the gateway runs on its built-in
 * simulator) or paste a trackcode, then follow the order live with the trackgate client.
 *
 * Server data is only ever written with `textContent` / attributes, never as HTML.
 */
import { trackOrder } from '/client/trackgate-client.js'

const TRACKCODE = /^[0-9A-F]{16}$/
const STEPS = ['WaitingForPayment', 'Confirming', 'WaitingForDelivery', 'Done']
const STATUS_LABELS = {
  WaitingForPayment: 'Waiting for payment',
  Confirming: 'Confirming',
  WaitingForDelivery: 'Sending',
  Done: 'Done',
  Gone: 'Gone'
}
const REASONS = {
  INSUFFICIENT_FUNDS: 'Not fully funded yet: the order starts once the whole amount has arrived.'
}

/** Example destinations per network, valid for the gateway's format checks. */
const EXAMPLE_ADDRESSES = {
  btc: ['35iMHbUZeTssxBodiHwEEkb32jpBfVueEL', '1P279UBChDFPAky8S4DcKGaaxKEMYBK9MM'],
  ltc: ['MMASi45ub7Qe4ZE36UT5G6cU4ud8Fhhe4d', 'LeS4F3cw9KTAb8dLcukC7edhDQ7cn5d4gE'],
  doge: ['DYkbUrMWeWQLGsCmrG6dLaYyNoVKf58ZTB', 'DqNAYT3j5qcdsyuMNmPfYetW5v6JXmj54o'],
  eth: ['0x9e9cb0eb53f16947ccf25ec84d8dbc74254770f5', '0x8904dba41ecccc3fc1626e53a13043b026c48bbf'],
  erc20: ['0x9e9cb0eb53f16947ccf25ec84d8dbc74254770f5', '0x8904dba41ecccc3fc1626e53a13043b026c48bbf'],
  bep20: ['0x9e9cb0eb53f16947ccf25ec84d8dbc74254770f5', '0x8904dba41ecccc3fc1626e53a13043b026c48bbf'],
  trc20: ['T88wYWXXL6A7pNpHXvmBa2EaQAmb2qaLix', 'T6mwHaQBPrFbbrZNhFgtsqwDtGuSptFDaY'],
  trx: ['T88wYWXXL6A7pNpHXvmBa2EaQAmb2qaLix', 'T6mwHaQBPrFbbrZNhFgtsqwDtGuSptFDaY'],
  sol: ['Po22sJXHDmfPVtoPQ6F7FXDNEXgzgv1XiPti6vj8Rsnq', 'DXyCUshN6toSWSp6oBB92AezWtiAgufXjPAcc921toi'],
  xrp: ['r7ap9UxDuxE2HEKZGqeMHbTv94pPzWjeuz', 'raTuyZ9bAaZ2xVrCf1rtACAXgo8c4Mkaac'],
  ton: ['UQ9NHfYjFM5DI4pZj59fhZ5R1Py4oJe2JbmPTuSgR7cMy-Uc', 'UQU3zr1ZtoLuCr64CxqlIOdNKhiFXiQ2hzT_pLjHX2JiCLhK']
}

const $ = (id) => document.getElementById(id)

const state = {
  demo: false,
  pollWaitingPaymentMs: 90_000,
  /** Coin/network choices from `/v1/meta/mixer`, keyed by `TICKER:network`. */
  choices: new Map(),
  trackcode: null,
  /** What the create call answered for this trackcode (deposit address, QR, letter). */
  created: null,
  /** Last snapshot. */
  order: null,
  unsubscribe: null,
  ticker: null,
  connectionIssue: null,
  trackingIssue: null,
  paid: false
}

// --- helpers -----------------------------------------------------------------------

/** Creates an element with attributes and text/element children. */
function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'className') node.className = value
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

/** fetch → `{ status, body }` (body `null` when not JSON). Throws on network failure. */
async function request (url, init = {}) {
  const res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers } })
  let body = null
  try {
    body = await res.json()
  } catch {}
  return { status: res.status, body }
}

function messageOf (answer, fallback) {
  if (answer.body !== null && typeof answer.body === 'object' && typeof answer.body.message === 'string') return answer.body.message
  return `${fallback} (HTTP ${answer.status})`
}

/** "10.00000000" → bigint of 1e-8 units, or null. */
function toUnits (text) {
  const m = /^(\d+)(?:\.(\d{1,8}))?$/.exec(String(text).trim())
  if (m === null) return null
  return BigInt(m[1]) * 100_000_000n + BigInt((m[2] ?? '').padEnd(8, '0'))
}

function fromUnits (units) {
  const whole = units / 100_000_000n
  const frac = (units % 100_000_000n).toString().padStart(8, '0')
  return `${whole}.${frac}`
}

/** "1 h 05 min", "4 min 09 s", "12 s". */
function formatDuration (ms) {
  const total = Math.max(0, Math.ceil(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`
  return `${s} s`
}

function formatTime (epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString()
}

function show (node, visible) {
  node.hidden = !visible
}

function saveCreated (trackcode, created) {
  try {
    sessionStorage.setItem(`trackgate:created:${trackcode}`, JSON.stringify(created))
  } catch {}
}

function loadCreated (trackcode) {
  try {
    const raw = sessionStorage.getItem(`trackgate:created:${trackcode}`)
    return raw === null ? null : JSON.parse(raw)
  } catch {
    return null
  }
}

// --- create form -------------------------------------------------------------------

async function loadCoins () {
  const select = $('coin')
  let answer
  try {
    answer = await request('/v1/meta/mixer')
  } catch {
    $('create-error').textContent = 'Cannot reach the gateway to load the coin list.'
    return
  }
  const mixer = answer.body?.mixer
  if (answer.status !== 200 || mixer === null || typeof mixer !== 'object') {
    $('create-error').textContent = `Cannot load the coin list: ${messageOf(answer, 'unexpected answer')}`
    return
  }
  for (const [ticker, coin] of Object.entries(mixer)) {
    for (const [network, spec] of Object.entries(coin?.networks ?? {})) {
      const key = `${ticker}:${network}`
      state.choices.set(key, { ticker, network, min: Number(spec.min), max: Number(spec.max) })
      select.append(el('option', { value: key }, `${coin.name ?? ticker} · ${spec.label ?? network}`))
    }
  }
  if (state.choices.has('BTC:btc')) select.value = 'BTC:btc'
  applyChoice()
}

/** Sets the amount hint and example addresses for the chosen coin and network. */
function applyChoice () {
  const choice = state.choices.get($('coin').value)
  if (choice === undefined) return
  const ticker = choice.ticker
  $('amount-hint').textContent = `Between ${choice.min} and ${choice.max} ${ticker}.`
  const suggested = Math.min(Math.max(choice.min * 10, choice.min), choice.max)
  $('amount').value = String(Number(suggested.toFixed(8)))
  const examples = EXAMPLE_ADDRESSES[choice.network] ?? ['', '']
  $('address-1').value = examples[0]
  $('address-2').value = examples[1]
}

function applySplit () {
  show($('second-output'), $('split').checked)
}

async function createOrder (event) {
  event.preventDefault()
  const error = $('create-error')
  error.textContent = ''
  const choice = state.choices.get($('coin').value)
  if (choice === undefined) {
    error.textContent = 'Choose a coin and network.'
    return
  }
  const split = $('split').checked
  const addresses = [{ address: $('address-1').value.trim(), percent: '100', delay: $('delay-1').value.trim() || '0' }]
  if (split) {
    const share = $('share-1').value.trim()
    const cents = /^\d{1,2}(\.\d{1,2})?$/.test(share) ? Math.round(Number(share) * 100) : NaN
    if (!(cents >= 100 && cents <= 9900)) {
      error.textContent = 'Share of output 1 must be between 1 and 99 %, with at most 2 decimals.'
      $('share-1').focus()
      return
    }
    addresses[0].percent = (cents / 100).toFixed(2)
    addresses.push({ address: $('address-2').value.trim(), percent: ((10_000 - cents) / 100).toFixed(2), delay: $('delay-2').value.trim() || '0' })
  }
  const body = {
    action: 'create_order',
    addresses,
    amount: $('amount').value.trim().replace(',', '.'),
    crypto: choice.ticker.toLowerCase(),
    network: choice.network,
    qrcode: 1
  }
  const button = $('create-button')
  button.disabled = true
  button.textContent = 'Creating…'
  try {
    const answer = await request('/v1/mixer/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })
    if (answer.status !== 200 || answer.body?.ok !== true || typeof answer.body.trackcode !== 'string') {
      error.textContent = messageOf(answer, 'The order could not be created')
      return
    }
    const created = {
      deposit: answer.body.deposit ?? null,
      signature_text: answer.body.signature_text ?? null
    }
    saveCreated(answer.body.trackcode, created)
    startTracking(answer.body.trackcode)
  } catch {
    error.textContent = 'Cannot reach the gateway.'
  } finally {
    button.disabled = false
    button.textContent = 'Create order'
  }
}

function submitTrackcode (event) {
  event.preventDefault()
  const code = $('trackcode').value.trim().toUpperCase()
  if (!TRACKCODE.test(code)) {
    $('track-error').textContent = 'A trackcode is 16 characters, 0–9 and A–F.'
    $('trackcode').focus()
    return
  }
  $('track-error').textContent = ''
  startTracking(code)
}

// --- tracking ----------------------------------------------------------------------

function startTracking (trackcode) {
  stopTracking()
  state.trackcode = trackcode
  state.created = loadCreated(trackcode)
  state.order = null
  state.connectionIssue = null
  state.trackingIssue = null
  state.paid = false
  $('pay').disabled = false
  $('pay-half').disabled = false
  if (location.hash !== `#${trackcode}`) history.replaceState(null, '', `#${trackcode}`)

  show($('start'), false)
  show($('order'), true)
  show($('fatal'), false)
  $('order-trackcode').textContent = trackcode
  $('order-kind').textContent = ''
  $('pay-note').textContent = ''
  setStatus(null)
  renderCreated()
  renderOrder()
  renderBanner()
  $('order-heading').focus()

  state.unsubscribe = trackOrder(trackcode, {
    onUpdate (order) {
      state.order = order
      state.connectionIssue = null
      renderOrder()
      renderBanner()
    },
    onStop () {
      state.unsubscribe = null
      state.connectionIssue = null
      state.trackingIssue = null
      renderBanner()
      renderMeta()
    },
    onError (error) {
      if (error.fatal) {
        state.unsubscribe = null
        state.connectionIssue = null
        renderBanner()
        const fatal = $('fatal')
        fatal.textContent = error.code === 'NOT_FOUND'
          ? `No order ${trackcode} is known: check the trackcode (orders are kept 48 hours).`
          : `Tracking stopped: ${error.message}`
        show(fatal, true)
        if (state.order === null) setStatus(null, error.code === 'NOT_FOUND' ? 'Not found' : 'Unavailable')
        return
      }
      const seconds = Math.max(1, Math.round((error.retryInMs ?? 0) / 1000))
      state.connectionIssue = `Connection lost (${error.message}). Retrying in ${seconds} s…`
      renderBanner()
    },
    onTracking (tracking) {
      state.trackingIssue = tracking.state === 'degraded'
        ? `Updates delayed: ${tracking.message ?? tracking.reason ?? 'the gateway cannot reach upstream right now'}`
        : null
      renderBanner()
    }
  })
  state.ticker = setInterval(tick, 1000)
}

function stopTracking () {
  if (state.unsubscribe !== null) state.unsubscribe()
  state.unsubscribe = null
  if (state.ticker !== null) clearInterval(state.ticker)
  state.ticker = null
}

function backToStart () {
  stopTracking()
  state.trackcode = null
  history.replaceState(null, '', location.pathname + location.search)
  show($('order'), false)
  show($('start'), true)
  $('trackcode').focus()
}

async function pay (half) {
  const order = state.order
  if (order === null) return
  const note = $('pay-note')
  let amount
  if (half) {
    const missing = toUnits(order.deposit.funding.remaining_need)
    if (missing === null || missing < 2n) return
    amount = fromUnits(missing / 2n)
  }
  $('pay').disabled = true
  $('pay-half').disabled = true
  note.textContent = 'Sending the simulated payment…'
  try {
    const answer = await request(`/demo/orders/${state.trackcode}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(amount === undefined ? {} : { amount })
    })
    if (answer.status !== 200) {
      note.textContent = messageOf(answer, 'The payment was refused')
      return
    }
    if (!half) state.paid = true
    const wait = Math.ceil(state.pollWaitingPaymentMs / 1000)
    note.textContent = `${half ? 'Partial payment' : 'Payment'} recorded by the simulator. The gateway sees it at its next check of the order (within about ${wait} s).`
  } catch {
    note.textContent = 'Cannot reach the gateway.'
  } finally {
    $('pay').disabled = state.paid
    $('pay-half').disabled = state.paid
  }
}

// --- rendering ---------------------------------------------------------------------

function setStatus (status, text) {
  const node = $('status')
  node.dataset.status = status ?? ''
  node.textContent = text ?? (status === null ? 'Connecting…' : STATUS_LABELS[status] ?? status)
}

function renderBanner () {
  const banner = $('banner')
  const text = state.connectionIssue ?? state.trackingIssue
  banner.textContent = text ?? ''
  show(banner, text !== null)
}

/** Deposit address, QR and guarantee letter: known only from the create answer. */
function renderCreated () {
  const deposit = state.created?.deposit ?? null
  const address = typeof deposit?.address === 'string' ? deposit.address : null
  $('deposit-address').textContent = address ?? ''
  show($('deposit-address-row'), address !== null)
  // On the simulator the address is invalid on purpose: say so next to it.
  show($('deposit-simulated'), address !== null && state.demo)
  const qr = $('qr')
  const qrCode = typeof deposit?.qr_code === 'string' && deposit.qr_code.startsWith('data:image/') ? deposit.qr_code : null
  if (qrCode !== null) qr.src = qrCode
  else qr.removeAttribute('src')
  show(qr, qrCode !== null)
  const expires = typeof deposit?.expires_at === 'number' ? deposit.expires_at : null
  $('deposit-expiry').textContent = expires === null ? '' : formatTime(expires)
  show($('deposit-expiry-row'), expires !== null)
  const letter = typeof state.created?.signature_text === 'string' ? state.created.signature_text : null
  $('letter-text').value = letter ?? ''
  show($('letter'), letter !== null)
}

function renderOrder () {
  const order = state.order
  renderTimeline(order?.status ?? null)
  renderFunding(order)
  renderOutputs(order)
  renderMeta()
  if (order === null) return
  setStatus(order.status)
  $('order-kind').textContent = `${order.type === 'exchange' ? 'Exchange' : order.type === 'mixer' ? 'Mixer' : 'Tracked'} order · ${order.deposit.coin.toUpperCase()} on ${order.deposit.network}`
}

function renderTimeline (status) {
  const current = STEPS.indexOf(status)
  const gone = status === 'Gone'
  $('timeline').classList.toggle('is-gone', gone)
  show($('gone'), gone)
  for (const item of $('timeline').children) {
    const index = STEPS.indexOf(item.dataset.step)
    const done = status === 'Done' || (current >= 0 && index < current)
    item.classList.toggle('done', done)
    item.classList.toggle('current', !gone && index === current && status !== 'Done')
    if (index === current) item.setAttribute('aria-current', 'step')
    else item.removeAttribute('aria-current')
  }
}

function renderFunding (order) {
  const deposit = state.created?.deposit ?? null
  if (order === null) {
    $('deposit-amount').textContent = typeof deposit?.deposit_amount === 'string' ? deposit.deposit_amount : '–'
    $('funding-bar').value = 0
    $('funding-percent').textContent = ''
    $('funding-text').textContent = 'Waiting for the first update…'
    show($('funding-reason'), false)
    show($('demo-actions'), false)
    return
  }
  const coin = order.deposit.coin.toUpperCase()
  const funding = order.deposit.funding
  $('deposit-amount').textContent = `${deposit?.deposit_amount ?? funding.waiting_balance} ${coin}`
  const waiting = toUnits(funding.waiting_balance)
  const received = toUnits(funding.received_balance)
  const ratio = waiting !== null && received !== null && waiting > 0n
    ? Math.min(100, Number((received * 10_000n) / waiting) / 100)
    : (funding.is_fully_funded ? 100 : 0)
  $('funding-bar').value = ratio
  $('funding-percent').textContent = `${ratio.toFixed(ratio % 1 === 0 ? 0 : 2)} %`
  let text = `${funding.received_balance} of ${funding.waiting_balance} ${coin}`
  if (order.deposit.confirm_status === 1) text += ' · payment seen, waiting for confirmations'
  else if (order.deposit.confirm_status === 2 && funding.is_fully_funded) text += ' · confirmed'
  $('funding-text').textContent = text
  const reason = order.status_reason ?? null
  const missing = toUnits(funding.remaining_need)
  const reasonText = reason === null
    ? null
    : `${REASONS[reason] ?? reason}${missing !== null && missing > 0n ? ` Still missing: ${funding.remaining_need} ${coin}.` : ''}`
  $('funding-reason').textContent = reasonText ?? ''
  show($('funding-reason'), reasonText !== null)

  const canPay = state.demo && !funding.is_fully_funded && (order.status === 'WaitingForPayment' || order.status === 'Confirming')
  show($('demo-actions'), canPay)
  $('pay-half').disabled = state.paid || missing === null || missing < 2n
}

/** Human state of one output. */
function outputState (output) {
  if (output.state === 2) return output.confirm === 1 ? ['Sent · confirmed', 'sent'] : ['Sent · confirming', 'broadcast']
  if (output.state === 1) return ['Scheduled', 'scheduled']
  return ['Waiting for deposit', 'waiting']
}

function renderOutputs (order) {
  const list = $('outputs')
  const outputs = order?.outputs ?? []
  show($('outputs-empty'), outputs.length === 0)
  list.replaceChildren(...outputs.map((output) => {
    const [label, kind] = outputState(output)
    const coin = typeof output.coin === 'string' ? output.coin.toUpperCase() : order.deposit.coin.toUpperCase()
    const details = [`to ${output.address}`]
    if (typeof output.share_percent === 'number') details.push(`${output.share_percent} %`)
    if (typeof output.delay_label === 'string') details.push(`delay ${output.delay_label}`)
    const when = el('p', { className: 'output-when', 'data-send-at': output.send_at ?? '', 'data-state': output.state })
    return el('li', { className: `output output-${kind}` },
      el('div', { className: 'output-top' },
        el('span', { className: 'output-index' }, `#${output.index}`),
        el('span', { className: 'output-amount mono' }, `${output.amount} ${coin}`),
        el('span', { className: `badge badge-${kind}` }, label)
      ),
      el('p', { className: 'output-to muted' }, details.join(' · ')),
      when,
      output.tx !== ''
        ? el('p', { className: 'output-tx' }, el('span', { className: 'muted' }, 'tx '), el('span', { className: 'mono break', title: output.tx }, output.tx))
        : null
    )
  }))
  tick()
}

function renderMeta () {
  const order = state.order
  const meta = $('order-meta')
  if (order === null) {
    meta.textContent = ''
    return
  }
  const parts = [`Version ${order.version}`, `updated ${formatTime(order.updated_at)}`]
  if (typeof order.deposit.delete_at === 'number' && order.status !== 'Gone') {
    parts.push(`kept for another ${formatDuration(order.deposit.delete_at * 1000 - Date.now())}`)
  }
  if (state.unsubscribe === null) parts.push('tracking ended')
  meta.textContent = parts.join(' · ')
}

/** Local countdowns, once a second. */
function tick () {
  const now = Date.now()
  for (const node of document.querySelectorAll('.output-when')) {
    const phase = Number(node.dataset.state)
    const sendAt = node.dataset.sendAt === '' ? null : Number(node.dataset.sendAt)
    let text
    if (phase === 2) text = sendAt === null ? 'Sent' : `Sent ${formatTime(sendAt)}`
    else if (phase === 1 && sendAt !== null) {
      const left = sendAt * 1000 - now
      text = left > 0 ? `Sends in ${formatDuration(left)}` : 'Sending now…'
    } else if (phase === 1) text = 'Scheduled'
    else text = 'Starts once the deposit is confirmed'
    node.textContent = text
  }
  if (state.order !== null) renderMeta()
}

// --- start -------------------------------------------------------------------------

async function init () {
  $('create-form').addEventListener('submit', createOrder)
  $('track-form').addEventListener('submit', submitTrackcode)
  $('coin').addEventListener('change', applyChoice)
  $('split').addEventListener('change', applySplit)
  $('pay').addEventListener('click', () => pay(false))
  $('pay-half').addEventListener('click', () => pay(true))
  $('back').addEventListener('click', backToStart)
  window.addEventListener('hashchange', () => {
    const code = location.hash.slice(1).toUpperCase()
    if (TRACKCODE.test(code) && code !== state.trackcode) startTracking(code)
  })

  try {
    const config = await request('/demo/config')
    if (config.status === 200 && config.body?.demo === true) {
      state.demo = true
      if (typeof config.body.poll_waiting_payment_ms === 'number') state.pollWaitingPaymentMs = config.body.poll_waiting_payment_ms
    }
  } catch {}
  show($('demo-note'), state.demo)
  show($('create-form'), state.demo)
  $('start').classList.toggle('single', !state.demo)
  applySplit()
  if (state.demo) loadCoins()

  const code = location.hash.slice(1).toUpperCase()
  if (TRACKCODE.test(code)) startTracking(code)
  document.body.dataset.ready = 'true'
}

init()
