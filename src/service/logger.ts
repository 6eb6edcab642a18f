/**
 * The logger of `zkinfer serve` and `zkinfer prover`. JSON lines by default (what log collectors
 * read); on a terminal, or with ZKINFER_LOG_FORMAT=pretty, pino-pretty's human-readable lines.
 * Credentials never reach a line: the request headers that carry them are redacted here, for every
 * logger derived from this one (pino-http's request logs included). Request bodies (inputs, salts)
 * are never logged at all.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { build as pretty } from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Headers that carry an API key or a session: `Authorization: Bearer <key>`, cookies. */
export const REDACTED = ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'res.headers["set-cookie"]'];

/** pino-pretty's message: `GET /v1/models 200 3 ms (request <id>)` for pino-http's records, else the message. */
function requestLine(log: Record<string, unknown>, messageKey: string): string {
  const req = log.req as { id?: unknown; method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  if (!req || !res) return String(log[messageKey] ?? '');
  return `${req.method} ${req.url} ${res.statusCode} ${log.responseTime} ms (request ${req.id})`;
}

/**
 * A logger at `level` writing to `destination` (default stdout). `auto` is pretty when stdout is
 * a terminal and JSON otherwise.
 */
export function createLogger(options: { level: string; format: LogFormat }, destination?: DestinationStream): Logger {
  const human = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  const stream = human
    ? pretty({
        destination: destination ?? 1,
        colorize: destination === undefined && process.stdout.isTTY === true,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        // A request's record (pino-http) is one line; its headers stay in the JSON logs.
        ignore: 'pid,hostname,req,res,responseTime',
        messageFormat: requestLine,
      })
    : destination;
  return pino({ level: options.level, redact: { paths: REDACTED, censor: '[redacted]' } }, stream ?? pino.destination(1));
}
