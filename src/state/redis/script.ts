/**
 * Lua scripts, run atomically by Redis: each is sent once per connection (`EVAL`),
 * then by its SHA1 (`EVALSHA`) — ioredis' `defineCommand` does the bookkeeping and
 * applies the client's `keyPrefix` to the script's keys.
 */
import type { Redis } from 'ioredis'

/** An argument of a script (`ARGV[i]`). */
export type ScriptArg = string | number | Buffer

/** Runs a script on `redis` with `keys` (`KEYS`) and `args` (`ARGV`). */
export type RunScript<R> = (redis: Redis, keys: readonly string[], args: readonly ScriptArg[]) => Promise<R>

type Command<R> = (numberOfKeys: number, ...rest: ScriptArg[]) => Promise<R>

const definedOn = new WeakMap<Redis, Set<string>>()

/**
 * A script named `name` (unique among trackgate's scripts). With `buffers`, bulk
 * replies come back as `Buffer`s instead of strings (for binary payloads).
 */
export function defineScript<R> (name: string, lua: string, opts: { buffers?: boolean } = {}): RunScript<R> {
  return async (redis, keys, args) => {
    let names = definedOn.get(redis)
    if (names === undefined) {
      names = new Set()
      definedOn.set(redis, names)
    }
    if (!names.has(name)) {
      redis.defineCommand(name, { lua })
      names.add(name)
    }
    // defineCommand adds `name` and `nameBuffer` methods that the typings cannot know.
    const command = (redis as unknown as Record<string, Command<R>>)[opts.buffers === true ? `${name}Buffer` : name] as Command<R>
    return await command.call(redis, keys.length, ...keys, ...args)
  }
}
