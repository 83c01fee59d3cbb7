// The one logger (FAIL-003, FAIL-019): JSON lines with ISO UTC time, level as a word,
// msg, requestId and userId where known, and an `event` name for notable events.
// Secrets are redacted by path; URLs lose their query strings before they are logged.
import { isatty } from 'node:tty';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import PinoPretty from 'pino-pretty';
import type { LogFormat, LogLevel, LogRequests } from '../config.ts';
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
    // Code outside a request handler (jobs, outbound calls) still gets the request id, and
    // every line after authentication the user. Whether the logger already binds them is
    // read from its serialized bindings (a substring test, not pino's JSON parse of them).
    mixin: (_context, _level, logger) => {
      const ctx = currentContext();
      if (ctx === undefined) return {};
      const bound = (logger as unknown as Record<symbol, string | undefined>)[pino.symbols.chindingsSym] ?? '';
      const extra: Record<string, string> = {};
      if (!bound.includes('"requestId":')) extra.requestId = ctx.requestId;
      if (ctx.userId !== undefined && !bound.includes('"userId":')) extra.userId = ctx.userId;
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

/** Whether `format` means readable lines on this output: `auto` follows whether it is a terminal. */
export function isPretty(format: LogFormat, output: { isTTY?: boolean } = { isTTY: isatty(1) }): boolean {
  return format === 'pretty' || (format === 'auto' && output.isTTY === true);
}

/** Lines are written once this many characters wait, … */
export const LOG_BATCH_CHARS = 4096;
/** … or this long after the last write, whichever comes first (ms). */
export const LOG_FLUSH_MS = 250;
/** What a long-running command's JSON lines may hold in memory while its output is not taking them (characters; about bytes). */
export const LOG_BUFFER_MAX = 16 * 1024 * 1024;

let droppedLines = 0;
/** Lines a process logger dropped since start because its output was not taking them (financehub_log_lines_dropped_total). */
export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * JSON lines written to `fd` in batches, without blocking the event loop: once
 * LOG_BATCH_CHARS wait (about 16 request lines) or every LOG_FLUSH_MS, one asynchronous
 * write takes them all. A write call per line cost a busy server more than formatting the
 * line (docs/performance.md, seventh pass). What is waiting is written synchronously when
 * the process exits, an uncaught exception included (pino flushes its destinations on
 * exit); a process killed outright (SIGKILL, out of memory) loses at most the last batch
 * and the write in progress. An output that stops taking lines (a stuck pipe) no longer
 * stalls every request: at most `bufferMax` characters wait, and lines past that are
 * dropped and counted (droppedLogLines).
 */
export function processLogDestination(fd: number, bufferMax: number = LOG_BUFFER_MAX): DestinationStream {
  const stream = pino.destination({ dest: fd, sync: false, minLength: LOG_BATCH_CHARS, periodicFlush: LOG_FLUSH_MS, maxLength: bufferMax });
  stream.on('drop', () => {
    droppedLines++;
  });
  return stream;
}

/**
 * The logger of a long-running command (serve, worker): JSON lines (processLogDestination),
 * or for a person at a terminal readable lines (time, level, message, then the fields). The
 * same redaction and fields apply either way. pino-pretty runs as a synchronous stream in
 * this thread, not as a worker-thread transport, so nothing is left to flush or stop at
 * shutdown.
 */
export function createProcessLogger(level: LogLevel, format: LogFormat, output: { isTTY?: boolean; fd?: number } = { isTTY: isatty(1), fd: 1 }): { logger: Logger; pretty: boolean } {
  if (!isPretty(format, output)) return { logger: createLogger(level, processLogDestination(output.fd ?? 1)), pretty: false };
  const stream = PinoPretty({ colorize: output.isTTY === true, sync: true, destination: output.fd ?? 1, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', singleLine: true });
  return { logger: createLogger(level, stream), pretty: true };
}

/** The fields of a `request completed` line, in the order they are written. */
export interface RequestLine {
  requestId: string;
  method: string;
  /** Without its query string (stripQuery). */
  url: string;
  remoteAddress: string | undefined;
  statusCode: number;
  /** Milliseconds. */
  responseTime: number;
  userId: string | undefined;
}

/** Printable ASCII but `"` and `\`: a string of only these is its own JSON body. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(value: string): string {
  return PLAIN_JSON.test(value) ? `"${value}"` : JSON.stringify(value);
}

/** `,"name":"value"`, or nothing for a value that is not there (as pino leaves out undefined fields). */
function jsonField(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${jsonString(value)}`;
}

/**
 * Writes `request completed` lines to `logger`'s output, in its JSON format: the line
 * `logger.info(fields, 'request completed')` writes (level, time, the fields, msg), but
 * formatted here by one template instead of by pino (tested against pino's own line). The
 * line's fields are flat values the server chose, none of them a secret path, and it
 * carries its requestId and userId itself, so redaction and the context mixin have nothing
 * to do on it; and its shape never changes. In isolation this costs 1.4 µs a line, against
 * 2.5 through a pino logger without redaction and 8.2 with it (docs/performance.md). The
 * time is formatted once per millisecond. Every other line goes through pino.
 */
export function requestLineWriter(logger: Logger): (line: RequestLine) => void {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym] as DestinationStream;
  let lastMs = -1;
  let time = '';
  return (line) => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      time = new Date(ms).toISOString();
    }
    stream.write(
      `{"level":"info","time":"${time}"${jsonField('requestId', line.requestId)}${jsonField('method', line.method)}${jsonField('url', line.url)}` +
        `${jsonField('remoteAddress', line.remoteAddress)},"statusCode":${line.statusCode},"responseTime":${line.responseTime}` +
        `${jsonField('userId', line.userId)},"msg":"request completed"}\n`,
    );
  };
}

/** The levels a request logger may write at, lowest first. */
type LineLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * A request's logger (Fastify's child logger factory). pino makes the real child, with the
 * request id bound, only when the request first writes a line through it: making a child
 * serializes and redacts its bindings (1.3–1.8 µs a request, docs/performance.md), and most
 * requests write nothing through it, since their one line goes through requestLineWriter.
 * Level checks answer without the child, from the level the request was given (a route's
 * logLevel) or else the app logger's. Every line it writes is the child's, so it carries the
 * requestId and passes the same redaction and mixin as before.
 */
export class RequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #level: string;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
    this.#level = options.level ?? parent.level;
  }

  get level(): string {
    return this.#level;
  }

  set level(level: string) {
    this.#level = level;
    if (this.#child !== undefined) this.#child.level = level;
  }

  isLevelEnabled(level: string): boolean {
    const { values } = this.#parent.levels;
    const wanted = values[level];
    return wanted !== undefined && wanted >= (values[this.#level] ?? Number.POSITIVE_INFINITY);
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#logger().child(bindings, options);
  }

  bindings(): Bindings {
    return this.#logger().bindings();
  }

  #write(level: LineLevel, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    const logger = this.#logger();
    Reflect.apply(logger[level], logger, args);
  }

  #logger(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }
}

/** Which requests get a `request completed` line: every one, or all but most successful reads (LOG_REQUESTS). */
export interface RequestLinePolicy {
  mode: LogRequests;
  /** In `sampled` mode, one successful read in this many gets its line. */
  sampleEvery: number;
}

/** Methods that change nothing: in `sampled` mode, only these are sampled when they succeed. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * One line per request at `info`: `request completed` with its requestId, method, URL
 * without its query, client address, status, response time and, once authenticated, the
 * user, written through `line` (requestLineWriter). The fields are flat primitives the
 * server chose (nothing from headers or bodies). With the `sampled` policy, every write and
 * every refused or failed request still gets its line, and successful reads one in
 * `sampleEvery`. `incoming request`, with the (redacted) headers, only at `debug`. Failed
 * responses keep Fastify's `request errored` line at `error`, through the request's own
 * logger, whatever the policy. Every other line of a request carries its requestId (the
 * request's child logger) and, after the guard, its userId (the mixin above, from the
 * request's async context).
 */
// The app's logger is pino (createLogger), so its level checks are there to use.
export class RequestLogController extends LogController {
  readonly #line: (line: RequestLine) => void;
  readonly #policy: RequestLinePolicy;
  /** Successful reads since the last one that got its line (sampled policy). */
  #reads = 0;

  constructor(options: ConstructorParameters<typeof LogController>[0], line: (line: RequestLine) => void, policy: RequestLinePolicy) {
    super(options);
    this.#line = line;
    this.#policy = policy;
  }

  override incomingRequest(request: FastifyRequest): void {
    if ((request.log as Logger).isLevelEnabled('debug')) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const userId = request.principal?.userId;
    if (error !== null && error !== undefined) {
      reply.log.error(
        { req: { method: request.method, url: request.url, ip: request.ip }, res: reply, err: error, responseTime: reply.elapsedTime, ...(userId === undefined ? {} : { userId }) },
        'request errored',
      );
    } else if ((reply.log as Logger).isLevelEnabled('info') && this.#wanted(request, reply)) {
      // The request's own logger decides first, so a route's logLevel still applies.
      this.#line({
        requestId: request.id,
        method: request.method,
        url: stripQuery(request.url),
        remoteAddress: request.ip,
        statusCode: reply.statusCode,
        responseTime: reply.elapsedTime,
        userId,
      });
    }
  }

  #wanted(request: FastifyRequest, reply: FastifyReply): boolean {
    if (this.#policy.mode === 'all' || reply.statusCode >= 400 || !READ_METHODS.has(request.method)) return true;
    this.#reads = (this.#reads + 1) % this.#policy.sampleEvery;
    return this.#reads === 0;
  }
}
