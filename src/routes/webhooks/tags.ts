/**
 * What every `/webhooks` route shares: its tag. Who may call them (token clients only)
 * is the access policy's (`src/access/policy.ts`).
 */
export const TAGS = ['Webhooks']
