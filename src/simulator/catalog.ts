/**
 * The simulator's coin catalog: what `/v1/meta/mixer`, `/v1/meta/exchange` and
 * `/v1/prices` report, and what the order endpoints accept.
 *
 * Prices are fixed (8-decimal strings) so that test arithmetic is reproducible.
 * Exchange limits and the site default fee belong to the *destination* network
 * (`/v1/meta/exchange` lists them under `outputs`), so a pair's USD range is the range
 * of its `to_network`.
 */

/** Mixer settings of one network. */
export interface MixerNetwork {
  /** Minimum order amount in coin units. */
  min: number
  /** Maximum order amount in coin units. */
  max: number
}

/** Exchange settings of one destination network (strings, as upstream sends them). */
export interface ExchangeNetwork {
  minUsd: string
  maxUsd: string
  /** Site default fee, percent. */
  serviceFee: string
}

/** One network of a coin. */
export interface NetworkSpec {
  label: string
  mixer: MixerNetwork
  exchange: ExchangeNetwork
}

/** One coin. */
export interface CoinSpec {
  /** Upper-case ticker, the key of every meta map. */
  ticker: string
  name: string
  symbol: string
  /** USD price, 8-decimal string. */
  price: string
  /** Default mixer fee, percent. */
  mixerFee: number
  /** Mixer fee per output, coin units, 8-decimal string. */
  perAddressFee: string
  decimals: number
  confirmations: number
  networks: Readonly<Record<string, NetworkSpec>>
}

function net (label: string, min: number, max: number, minUsd: string, maxUsd: string, serviceFee: string): NetworkSpec {
  return { label, mixer: { min, max }, exchange: { minUsd, maxUsd, serviceFee } }
}

/** Every supported coin, in meta order. */
export const COINS: readonly CoinSpec[] = Object.freeze<CoinSpec[]>([
  {
    ticker: 'BTC',
    name: 'Bitcoin',
    symbol: '₿',
    price: '117799.51713382',
    mixerFee: 0.1,
    perAddressFee: '0.00005000',
    decimals: 8,
    confirmations: 1,
    networks: { btc: net('Bitcoin (BTC)', 0.001, 20, '100', '182520', '0.5') }
  },
  {
    ticker: 'ETH',
    name: 'Ethereum',
    symbol: 'Ξ',
    price: '4409.46254479',
    mixerFee: 0.5,
    perAddressFee: '0.00050000',
    decimals: 8,
    confirmations: 12,
    networks: { eth: net('Ethereum (ERC20)', 0.01, 500, '100', '150000', '0.5') }
  },
  {
    ticker: 'USDT',
    name: 'Tether',
    symbol: '₮',
    price: '1.00055940',
    mixerFee: 1,
    perAddressFee: '1.00000000',
    decimals: 8,
    confirmations: 12,
    networks: {
      erc20: net('Tether (ERC20)', 50, 250000, '50', '100000', '1'),
      trc20: net('Tether (TRC20)', 20, 250000, '20', '100000', '0.8')
    }
  },
  {
    ticker: 'LTC',
    name: 'Litecoin',
    symbol: 'Ł',
    price: '112.48391022',
    mixerFee: 0.5,
    perAddressFee: '0.00010000',
    decimals: 8,
    confirmations: 3,
    networks: { ltc: net('Litecoin (LTC)', 0.05, 2000, '50', '60000', '0.5') }
  },
  {
    ticker: 'DOGE',
    name: 'Dogecoin',
    symbol: 'Ð',
    price: '0.22014648',
    mixerFee: 1,
    perAddressFee: '1.00000000',
    decimals: 8,
    confirmations: 6,
    networks: { doge: net('Dogecoin (DOGE)', 100, 5000000, '100', '88565', '0.5') }
  },
  {
    ticker: 'SOL',
    name: 'Solana',
    symbol: '◎',
    price: '186.92817364',
    mixerFee: 0.5,
    perAddressFee: '0.00100000',
    decimals: 8,
    confirmations: 32,
    networks: { sol: net('Solana (SOL)', 0.1, 5000, '50', '80000', '0.5') }
  },
  {
    ticker: 'XRP',
    name: 'Ripple',
    symbol: '✕',
    price: '3.02841955',
    mixerFee: 0.5,
    perAddressFee: '0.10000000',
    decimals: 8,
    confirmations: 1,
    networks: { xrp: net('Ripple (XRP)', 20, 500000, '30', '70000', '0.5') }
  },
  {
    ticker: 'TON',
    name: 'Toncoin',
    symbol: '💎',
    price: '3.41729551',
    mixerFee: 0.5,
    perAddressFee: '0.05000000',
    decimals: 8,
    confirmations: 1,
    networks: { ton: net('Toncoin (TON)', 5, 200000, '30', '50000', '0.6') }
  },
  {
    ticker: 'TRX',
    name: 'Tron',
    symbol: '♦',
    price: '0.35128440',
    mixerFee: 0.5,
    perAddressFee: '1.00000000',
    decimals: 8,
    confirmations: 20,
    networks: { trx: net('Tron (TRX)', 50, 2000000, '30', '40000', '0.4') }
  }
])

const BY_TICKER = new Map(COINS.map((c) => [c.ticker, c]))

/** Finds a coin by ticker, case-insensitively. */
export function findCoin (ticker: string): CoinSpec | undefined {
  return BY_TICKER.get(ticker.toUpperCase())
}

/** Finds a network of a coin, case-insensitively. */
export function findNetwork (coin: CoinSpec, network: string): NetworkSpec | undefined {
  const key = network.toLowerCase()
  return Object.hasOwn(coin.networks, key) ? coin.networks[key] : undefined
}
