/**
 * Keccak-256 (the pre-standard SHA-3 Ethereum uses; node:crypto has only SHA3-256,
 * whose padding differs), for the simulator's EIP-55 address checksums.
 */
const MASK = (1n << 64n) - 1n
const RC = [
  0x0000000000000001n, 0x0000000000008082n, 0x800000000000808An, 0x8000000080008000n, 0x000000000000808Bn, 0x0000000080000001n,
  0x8000000080008081n, 0x8000000000008009n, 0x000000000000008An, 0x0000000000000088n, 0x0000000080008009n, 0x000000008000000An,
  0x000000008000808Bn, 0x800000000000008Bn, 0x8000000000008089n, 0x8000000000008003n, 0x8000000000008002n, 0x8000000000000080n,
  0x000000000000800An, 0x800000008000000An, 0x8000000080008081n, 0x8000000000008080n, 0x0000000080000001n, 0x8000000080008008n
]
/** Rotation offsets, `ROT[x][y]`. */
const ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
const RATE = 136

const rot = (v: bigint, n: number): bigint => n === 0 ? v : ((v << BigInt(n)) | (v >> BigInt(64 - n))) & MASK
const lane = (a: bigint[], x: number, y: number): bigint => a[(x % 5) + 5 * (y % 5)] as bigint

function permute (a: bigint[]): void {
  for (const rc of RC) {
    const c = [0, 1, 2, 3, 4].map((x) => lane(a, x, 0) ^ lane(a, x, 1) ^ lane(a, x, 2) ^ lane(a, x, 3) ^ lane(a, x, 4))
    for (let x = 0; x < 5; x++) {
      const d = (c[(x + 4) % 5] as bigint) ^ rot(c[(x + 1) % 5] as bigint, 1)
      for (let y = 0; y < 5; y++) a[x + 5 * y] = lane(a, x, y) ^ d
    }
    const b = new Array<bigint>(25).fill(0n)
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rot(lane(a, x, y), (ROT[x] as number[])[y] as number)
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) a[x + 5 * y] = lane(b, x, y) ^ (~lane(b, x + 1, y) & MASK & lane(b, x + 2, y))
    a[0] = (a[0] as bigint) ^ rc
  }
}

/** Keccak-256 of `data`, as 32 bytes. */
export function keccak256 (data: Uint8Array): Buffer {
  const padded = Buffer.alloc((Math.floor(data.length / RATE) + 1) * RATE)
  padded.set(data)
  padded[data.length] = (padded[data.length] as number) ^ 0x01
  padded[padded.length - 1] = (padded[padded.length - 1] as number) ^ 0x80
  const a = new Array<bigint>(25).fill(0n)
  for (let off = 0; off < padded.length; off += RATE) {
    for (let i = 0; i < RATE / 8; i++) a[i] = (a[i] as bigint) ^ padded.readBigUInt64LE(off + 8 * i)
    permute(a)
  }
  const out = Buffer.alloc(32)
  for (let i = 0; i < 4; i++) out.writeBigUInt64LE(a[i] as bigint, 8 * i)
  return out
}
