/** A failure the CLI reports on one line (plus field details) and exits non-zero for. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly details: string[];
  constructor(message: string, exitCode = 1, details: string[] = []) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = details;
  }
}
