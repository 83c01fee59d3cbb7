// Per-user alert webhooks: HTTPS only (plain HTTP only when ALERTS_WEBHOOK_ALLOW_HTTP is
// set, for tests), never to a private, loopback, link-local or otherwise internal
// address (an SSRF guard, checked when the URL is set and again on every delivery,
// after DNS resolution; ALERTS_WEBHOOK_ALLOW_PRIVATE lifts it for tests), signed with
// HMAC-SHA256 over `<timestamp>.<body>`, sent through the platform HTTP client (timeout,
// retries with backoff, breaker per host; redirects are not followed).
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { badRequest } from '../../platform/errors.ts';
import { createHttpClient, type HttpClient } from '../../platform/http-client.ts';
import type { Logger } from '../../platform/logger.ts';

export interface WebhookPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
  timeoutMs: number;
  retries: number;
}

const internal = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  internal.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  internal.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is private, loopback, link-local, multicast or otherwise not public. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return internal.check(mapped[1], 'ipv4');
    return internal.check(address, 'ipv6');
  }
  return true;
}

const refused = (detail: string) => badRequest('webhook_url_refused', detail, [{ field: 'body.url', message: detail }]);

/** Parses and checks a webhook URL: scheme, no credentials, and every address it resolves to. */
export async function checkWebhookUrl(text: string, policy: Pick<WebhookPolicy, 'allowHttp' | 'allowPrivate'>, resolve = lookup): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused('is not a valid URL');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) throw refused('must use https');
  if (url.username !== '' || url.password !== '') throw refused('must not carry credentials');
  if (policy.allowPrivate) return url;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: string[];
  try {
    addresses = isIP(host) !== 0 ? [host] : (await resolve(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    throw refused('does not resolve');
  }
  if (addresses.length === 0 || addresses.some(isInternalAddress)) throw refused('resolves to a private, loopback or internal address');
  return url;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createWebhookSender(deps: { logger: Logger; policy: WebhookPolicy }) {
  const clients = new Map<string, HttpClient>();
  const clientFor = (origin: string): HttpClient => {
    let client = clients.get(origin);
    if (client === undefined) {
      client = createHttpClient({
        name: 'alert-webhook',
        baseUrl: origin,
        logger: deps.logger,
        timeoutMs: deps.policy.timeoutMs,
        retries: deps.policy.retries,
        breakerThreshold: 5,
        breakerHalfOpenMs: 30_000,
      });
      clients.set(origin, client);
    }
    return client;
  };
  return {
    async send(target: { url: string; secret: string }, eventId: string, body: string, now: Date): Promise<void> {
      const url = await checkWebhookUrl(target.url, deps.policy);
      const timestamp = now.toISOString();
      await clientFor(url.origin).post(`${url.pathname}${url.search}`, body, {
        'content-type': 'application/json',
        'x-financehub-event-id': eventId,
        'x-financehub-timestamp': timestamp,
        'x-financehub-signature': signWebhook(target.secret, timestamp, body),
      });
    },
  };
}
