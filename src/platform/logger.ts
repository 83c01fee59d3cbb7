// The one logger (FAIL-003, FAIL-019): JSON lines with ISO UTC time, level as a word,
// msg, requestId and userId where known, and an `event` name for notable events.
// Secrets are redacted by path; URLs lose their query strings before they are logged.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config.ts';
import { currentContext } from './context.ts';

export type { Logger } from 'pino';

/** Paths censored in every log line, wherever the object came from. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-finnhub-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'token',
  'access_token',
  'refresh_token',
  'accessToken',
  'refreshToken',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
];

/** Drops the query string: it may carry tokens or personal data. */
export function stripQuery(url: string): string {
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    // Code outside a request handler (jobs, outbound calls) still gets the request id.
    mixin: (_context, _level, logger) => {
      const ctx = currentContext();
      if (ctx === undefined) return {};
      const bindings = logger.bindings();
      const extra: Record<string, string> = {};
      if (bindings.requestId === undefined) extra.requestId = ctx.requestId;
      if (ctx.userId !== undefined && bindings.userId === undefined) extra.userId = ctx.userId;
      return extra;
    },
    serializers: {
      req: (req: { method?: string; url?: string; headers?: Record<string, unknown>; ip?: string }) => ({
        method: req.method,
        url: req.url === undefined ? undefined : stripQuery(req.url),
        headers: req.headers === undefined ? undefined : { ...req.headers },
        remoteAddress: req.ip,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: pino.stdSerializers.err,
    },
  };
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination);
}
