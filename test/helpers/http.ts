/**
 * One request over real HTTP, answered as status, headers, text and parsed JSON.
 */

export interface HttpReply {
  status: number
  headers: Headers
  text: string

  json: any
}

export interface HttpInit {
  /** Default: GET, or POST when there is a body. */
  method?: string
  headers?: Record<string, string>
  /** Sent as is when a string, else as JSON (with `content-type: application/json` unless given). */
  body?: unknown
}

/** Sends one request to `url`; `json` is `undefined` when the body is not JSON. */
export async function request (url: string, init: HttpInit = {}): Promise<HttpReply> {
  const headers: Record<string, string> = { ...init.headers }
  let body: string | undefined
  if (init.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  const text = await res.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}
