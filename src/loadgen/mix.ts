/**
 * `autoscale load --mix visits=20`: a share of the requests become writes to
 * the lab's shared store (POST /visits with a small JSON body) on the same
 * origin, so an ordinary load run also exercises the shared state. Pure:
 * parsing, and which request numbers are the mixed-in ones.
 */
import { UsageError } from '../errors.js';

/** The request kinds --mix knows, by the name a user types. */
export const MIX_KINDS = {
  visits: { method: 'POST', path: '/visits', body: '{"page":"load"}', contentType: 'application/json' },
} as const;

export type MixKind = keyof typeof MIX_KINDS;

/** A validated --mix: `percent` % of the requests are `kind`. */
export interface LoadMix {
  kind: MixKind;
  /** 0 < percent <= 100, at most two decimals. */
  percent: number;
  method: string;
  path: string;
  body: string;
  contentType: string;
}

const EXAMPLE = 'visits=20 (20 % of the requests are POST /visits)';

/** "visits=20", "visits=20%", "visits=2.5" -> a LoadMix; anything else a UsageError (one line). */
export function parseMix(value: string): LoadMix {
  const m = /^\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?|\.\d+)\s*%?\s*$/i.exec(value);
  if (m === null) throw new UsageError(`--mix must look like ${EXAMPLE} (received "${value}")`);
  const name = m[1].toLowerCase();
  if (!Object.hasOwn(MIX_KINDS, name)) {
    const known = Object.entries(MIX_KINDS).map(([k, v]) => `${k} (${v.method} ${v.path})`).join(', ');
    throw new UsageError(`--mix: unknown request kind "${m[1]}" (known: ${known}; e.g. --mix ${EXAMPLE})`);
  }
  const percent = Number(m[2]);
  if (!(percent > 0 && percent <= 100) || Math.round(percent * 100) !== percent * 100) {
    throw new UsageError(`--mix ${name}=<percent> must be more than 0 and at most 100, with at most two decimals (received "${m[2]}")`);
  }
  const kind = name as MixKind;
  return { kind, percent, ...MIX_KINDS[kind] };
}

/**
 * Whether request number `n` (0, 1, 2 … in the order one engine sends them) is a mixed-in one.
 * Spread evenly and exactly: of any first N requests, floor(N × percent / 100) are mixed in.
 */
export function isMixedIn(n: number, percent: number): boolean {
  const perTenThousand = Math.round(percent * 100);
  return Math.floor(((n + 1) * perTenThousand) / 10_000) > Math.floor((n * perTenThousand) / 10_000);
}
