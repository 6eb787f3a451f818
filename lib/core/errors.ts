/**
 * The errors every layer throws for the user to read, and the exit statuses they
 * end a script with: 0 success, 1 failure, 2 usage error. Any module may import
 * this one; it imports nothing.
 *
 * @module
 */
/** Exit status of a script that did what it was asked. */
export const EXIT_OK = 0;
/** Exit status of a script that tried and failed. */
export const EXIT_FAILURE = 1;
/** Exit status of a script that was called wrongly. */
export const EXIT_USAGE = 2;

/** A failure the user can fix: printed as one line, exit status 1 unless given. */
export class SkillError extends Error {
  /** The exit status this error ends the script with. */
  readonly exitCode: number;
  /** An error shown as `message`, ending the script with `exitCode` (1 unless given). */
  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.name = "SkillError";
    this.exitCode = exitCode;
  }
}

/** A wrong invocation (bad flag, argument or environment value): exit status 2. */
export class UsageError extends SkillError {
  /** A usage error shown as `message`, ending the script with exit status 2. */
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}
