/**
 * Who polls a trackcode. Within one gateway the hub already runs one poller per
 * trackcode; the lease extends that guarantee to several gateways sharing a key: a
 * poller checks upstream only while it holds the trackcode's lease, and the others
 * relay what the holder publishes on the bus. Every store is exclusive between
 * owners; a gateway's hub is one owner, so the in-process store grants it every
 * lease (there is no one else); the Redis store implements the same interface with
 * `SET key owner NX PX ttl`.
 */

/** Poller leases, by trackcode. */
export interface LeaseStore {
  /** Takes or renews the lease of `trackcode` for `owner` for `ttlMs`; false when someone else holds it. */
  acquire (trackcode: string, owner: string, ttlMs: number): Promise<boolean>
  /** Gives the lease up if `owner` holds it. */
  release (trackcode: string, owner: string): Promise<void>
}
