/**
 * A logger that keeps what it is told, for tests of what gets logged (and how often).
 */
import type { FastifyBaseLogger } from 'fastify'

export interface LogLine {
  level: string
  msg: string
  obj: Record<string, unknown>
}

export interface CapturedLog {
  logger: FastifyBaseLogger
  lines: LogLine[]
  /** Lines of `level` whose message contains `text`. */
  count: (level: string, text: string) => number
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

export function captureLog (): CapturedLog {
  const lines: LogLine[] = []
  const make = (): FastifyBaseLogger => {
    const logger: Record<string, unknown> = { level: 'trace', silent: () => {} }
    for (const level of LEVELS) {
      logger[level] = (a?: unknown, b?: unknown) => {
        const obj = typeof a === 'object' && a !== null ? a as Record<string, unknown> : {}
        const msg = typeof a === 'string' ? a : typeof b === 'string' ? b : ''
        lines.push({ level, msg, obj })
      }
    }
    logger.child = () => make()
    return logger as unknown as FastifyBaseLogger
  }
  return {
    logger: make(),
    lines,
    count: (level, text) => lines.filter((l) => l.level === level && l.msg.includes(text)).length
  }
}
