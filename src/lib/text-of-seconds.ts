/**
 * A header text per whole number of seconds (`Age`, `X-Poll-After`, a `max-age`), made
 * once per number: hot answers carry such texts, and only a few numbers ever occur.
 * Numbers up to {@link SECONDS_KEPT} are kept; larger ones are made each time.
 */
const SECONDS_KEPT = 3600

/** `format`, remembered per whole number of seconds (see the module comment). */
export function textOfSeconds (format: (seconds: number) => string): (seconds: number) => string {
  const texts: string[] = []
  return (seconds) => {
    let text = texts[seconds]
    if (text === undefined) {
      text = format(seconds)
      if (seconds <= SECONDS_KEPT) texts[seconds] = text
    }
    return text
  }
}
