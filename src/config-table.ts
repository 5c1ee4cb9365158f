/**
 * The configuration table of `docs/configuration.md`, generated from {@link SETTINGS}
 * so the two cannot drift apart: `npm run config-table` prints it, and a test
 * (`test/readme.test.ts`) checks that the page holds exactly this text between its
 * `<!-- config-table -->` markers.
 */
import { SETTINGS } from './config.js'

function show (value: unknown): string {
  if (value === undefined) return '*(unset)*'
  if (Array.isArray(value)) return value.length === 0 ? '*(empty)*' : `\`${value.join(',')}\``
  return `\`${String(value)}\``
}

/** A Markdown table: variable, default, meaning. */
export function configTable (): string {
  const rows = SETTINGS.map((s) => `| \`${s.env}\` | ${show(s.fallback)} | ${s.doc.replace(/\|/g, '\\|')} |`)
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}
