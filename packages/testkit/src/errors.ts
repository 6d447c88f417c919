/** Bad arguments or a missing prerequisite: printed without a stack, exit status 2. */
export class UsageError extends Error {}
