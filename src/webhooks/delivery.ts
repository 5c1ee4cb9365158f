/**
 * One webhook attempt: check the URL again (`ssrf.ts`), POST the signed body to the
 * checked address, and classify the answer. 2xx is delivered; anything else — another
 * status (redirects included: never followed), a refused connection, a timeout, a URL
 * refused — is a failed attempt. The whole attempt is bounded by `timeoutMs`, and at
 * most {@link MAX_RESPONSE_BYTES} of the answer are read (then the socket is closed).
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import { checkWebhookUrl, pinnedLookup, WebhookUrlError, type AllowList, type Resolver } from './ssrf.js'

/** Most bytes of an answer read; the rest is not waited for. */
export const MAX_RESPONSE_BYTES = 64 * 1024

export interface AttemptOptions {
  allow: AllowList
  timeoutMs: number
  resolve?: Resolver
}

export type AttemptResult = { ok: true, status: number } | { ok: false, status: number | null, error: string }

/** POSTs `body` with `headers` to `url`; never throws. */
export async function attempt (url: string, headers: Record<string, string>, body: string, opts: AttemptOptions): Promise<AttemptResult> {
  let target
  try {
    target = await checkWebhookUrl(url, opts.allow, opts.resolve)
  } catch (err) {
    if (err instanceof WebhookUrlError) return { ok: false, status: null, error: `URL refused: ${err.message}` }
    throw err
  }
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise<AttemptResult>((resolve) => {
    let done = false
    const finish = (result: AttemptResult): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.destroy()
      resolve(result)
    }
    const req = send(target.url, {
      method: 'POST',
      lookup: pinnedLookup(target),
      ...(isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
      agent: false,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'trackgate-webhooks'
      }
    }, (res) => {
      const status = res.statusCode ?? 0
      let read = 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read >= MAX_RESPONSE_BYTES) settle()
      })
      const settle = (): void => {
        finish(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` })
      }
      res.on('end', settle)
      res.on('error', settle)
    })
    const timer = setTimeout(() => { finish({ ok: false, status: null, error: `no answer within ${opts.timeoutMs} ms` }) }, opts.timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => { finish({ ok: false, status: null, error: err.code ?? err.message }) })
    req.end(body)
  })
}
