/**
 * A mistake the user can fix (bad flag, missing file, corrupt download, invalid config). The CLI
 * prints its message as one line and exits non-zero, without a stack trace. Bugs in our code throw
 * ordinary errors, which keep their stack.
 */
export class UserError extends Error {
  override name = "UserError";
}
