/** The errors both `/v1/orders/*` routes can answer. */
import { BODY_ERRORS, UPSTREAM_ERRORS } from '../../../upstream/schemas/common.js'

export const ORDER_ERRORS = [...BODY_ERRORS, ...UPSTREAM_ERRORS, 404] as const
