/**
 * What the plugins' `onRoute` hooks read and add to a route's options: its methods, and
 * a hook list made from whatever form the options give (none, one, or several).
 */
import type { RouteOptions } from 'fastify'

/** The route's methods, as a list. */
export function methodsOf (route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method : [route.method]
}

/** The hooks of one kind a route already has (`route.onRequest`, …), as a new list. */
export function hooksOf<H> (hooks: H | readonly H[] | undefined): H[] {
  if (hooks === undefined) return []
  return Array.isArray(hooks) ? [...(hooks as readonly H[])] : [hooks as H]
}
