/**
 * The one way tests wait: poll a condition until it holds, or fail with what was
 * awaited once the deadline passes.
 */

/** Waits until `condition` holds, polling every 10 ms; throws "timed out waiting for <what>" after `timeoutMs`. */
export async function waitFor (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
