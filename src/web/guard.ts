/**
 * Who may use the live page: a pure verdict on one request's method, URL and
 * headers, before any route runs. Jupyter-style: a random token in the URL on
 * first load, then an HttpOnly SameSite=Strict cookie; control requests
 * (POST) also carry it in a header. A Host that is not the bound address (DNS
 * rebinding) or an Origin from elsewhere is refused, whatever the token.
 */
import { timingSafeEqual } from 'node:crypto';

/** The header a control request carries the token in (a cross-site form cannot set it). */
export const TOKEN_HEADER = 'x-autoscale-token';

export interface GuardRequest {
  method: string;
  /** Path and query, as the request line has it. */
  url: string;
  host: string | undefined;
  origin: string | undefined;
  /** Sec-Fetch-Site, sent by every current browser. */
  fetchSite: string | undefined;
  cookie: string | undefined;
  tokenHeader: string | undefined;
}

export interface GuardConfig {
  token: string;
  /** Host header values that name this server, e.g. "127.0.0.1:9465", "localhost:9465". */
  hosts: ReadonlySet<string>;
  /** The cookie's name: per port, as a browser keeps one cookie jar per host whatever the port. */
  cookieName: string;
}

export type Verdict =
  /** fromQuery: the token came in the URL (the first load): answer with the cookie set (no redirect: after a link from another site a Strict cookie would not follow one). */
  | { ok: true; fromQuery: boolean }
  | { ok: false; status: 401 | 403 | 405; message: string };

/** Constant-time comparison: a wrong token takes as long whatever its prefix. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function checkRequest(req: GuardRequest, cfg: GuardConfig): Verdict {
  const host = req.host?.toLowerCase();
  if (host === undefined || !cfg.hosts.has(host)) {
    return { ok: false, status: 403, message: `Host ${JSON.stringify(req.host ?? '')} is not this server's address (expected one of ${[...cfg.hosts].join(', ')})` };
  }
  // A page from another site (or a rebound name) may not drive the lab, even with the cookie attached.
  if (req.origin !== undefined && req.origin.toLowerCase() !== `http://${host}`) {
    return { ok: false, status: 403, message: `cross-origin request from ${req.origin} refused` };
  }
  if (req.method !== 'GET' && req.method !== 'POST') return { ok: false, status: 405, message: `method ${req.method} not allowed (GET or POST)` };
  const cookie = cookieValue(req.cookie, cfg.cookieName);
  if (req.method === 'POST') {
    // Opening the printed URL from a link elsewhere is fine (a GET); acting on the lab is for this page only.
    if (req.fetchSite !== undefined && req.fetchSite !== 'same-origin') {
      return { ok: false, status: 403, message: `control request from another site (Sec-Fetch-Site: ${req.fetchSite}) refused` };
    }
    // Both: the cookie (this browser loaded the page) and the header (this page's script sent it, not a form).
    if (!sameToken(req.tokenHeader, cfg.token) || !sameToken(cookie, cfg.token)) {
      return { ok: false, status: 401, message: `a control request needs the token in its cookie and in the ${TOKEN_HEADER} header` };
    }
    return { ok: true, fromQuery: false };
  }
  if (sameToken(cookie, cfg.token)) return { ok: true, fromQuery: false };
  const query = new URL(req.url, 'http://x').searchParams.get('token') ?? undefined;
  if (sameToken(query, cfg.token)) return { ok: true, fromQuery: true };
  return { ok: false, status: 401, message: 'this page needs the token: open the URL `autoscale start` printed (it ends in ?token=…)' };
}
