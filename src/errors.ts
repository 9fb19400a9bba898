/**
 * The few typed errors acctctl raises. Each maps to a sysexits(3) exit code and carries a
 * message in the form "what is wrong → how to fix it". Only the entry point turns them into an
 * exit status.
 */
export const ExitCode = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class AcctctlError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  /** Extra lines shown under the message (e.g. every problem of a bad input file). */
  readonly details: readonly string[];
  constructor(message: string, options?: { cause?: unknown; details?: readonly string[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details ?? [];
  }
}

/** Bad command-line usage (EX_USAGE, 64). */
export class UsageError extends AcctctlError {
  readonly exitCode = ExitCode.USAGE;
}
/** Bad input data: an import file, a link, a session (EX_DATAERR, 65). */
export class DataError extends AcctctlError {
  readonly exitCode = ExitCode.DATAERR;
}
/** An input that must exist does not: an input file, the store a read-only command reads (EX_NOINPUT, 66). */
export class NoInputError extends AcctctlError {
  readonly exitCode = ExitCode.NOINPUT;
}
/** A needed service (database, browser, network) is unavailable (EX_UNAVAILABLE, 69). */
export class UnavailableError extends AcctctlError {
  readonly exitCode = ExitCode.UNAVAILABLE;
}
/** An output file cannot be created: its directory is missing or not writable (EX_CANTCREAT, 73). */
export class CantCreateError extends AcctctlError {
  readonly exitCode = ExitCode.CANTCREAT;
}
/** A temporary condition: a lock held by another run (EX_TEMPFAIL, 75). */
export class TempFailError extends AcctctlError {
  readonly exitCode = ExitCode.TEMPFAIL;
}
/** Configuration is missing or wrong: key, environment, schema version (EX_CONFIG, 78). */
export class ConfigError extends AcctctlError {
  readonly exitCode = ExitCode.CONFIG;
}
/** A bug (EX_SOFTWARE, 70). */
export class InternalError extends AcctctlError {
  readonly exitCode = ExitCode.SOFTWARE;
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof AcctctlError ? err.exitCode : ExitCode.SOFTWARE;
}

/** A call on a store or fleet after its close(): open a new one (EX_USAGE, 64). */
export class ClosedError extends UsageError {}

/** The holder's lease expired or was taken over: nothing was changed; take a new lease (75). */
export class LeaseLostError extends TempFailError {}
