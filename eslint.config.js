/** ESLint configuration: neostandard (the Fastify family's style) with TypeScript. */
import globals from 'globals'
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: [...resolveIgnoresFromGitignore(), 'bench/results/**'],
  }),
  {
    // The web page and the browser client run in the browser.
    files: ['web/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    rules: {
      // `export const X = Type.Object(…)` beside `export type X = Static<typeof X>` is the
      // TypeBox idiom; tsc itself reports real redeclarations (ts(2451)).
      '@typescript-eslint/no-redeclare': 'off',
      // `void promise` marks a promise deliberately left floating (as ts-standard allows).
      'no-void': ['error', { allowAsStatement: true }],
    },
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
]
