/** A command line that cannot be right (unknown option, bad value): the usage follows, exit code 2. */
export class UsageError extends Error {}

/**
 * Something outside the command failed in a way a person can fix (Herald unreachable, the key
 * refused, a tenant not found): one line that says what and what to do, exit code 1, no stack.
 */
export class CliError extends Error {}
