import pino from 'pino';

/**
 * ferry's log lines are structured entries, one shape everywhere: a level, a message and
 * fields. The core takes a {@link Log} function and never a logging library, so each host
 * picks its own: pino (JSON lines) for `ferry controller` and the node agent, Powertools for
 * AWS Lambda's Logger in the functions.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: Level;
  msg?: string;
  [field: string]: unknown;
}

export type Log = (entry: LogEntry) => void;

export const silent: Log = () => undefined;

/**
 * A pino logger for a long-running process: JSON lines on stdout with an ISO time and the
 * component, level from `FERRY_LOG_LEVEL` (default info). Writes are synchronous so that
 * nothing is lost when a command exits right after logging.
 */
export function createLogger(component: string, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      base: { component },
      level: process.env.FERRY_LOG_LEVEL ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A {@link Log} that writes through a pino logger. */
export function pinoLog(logger: pino.Logger): Log {
  return ({ level, msg, ...fields }) => logger[level](fields, msg);
}
