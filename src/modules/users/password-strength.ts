// What the password strength thread and its caller share: the bounds of the check and
// the messages they exchange. Kept apart from password.ts so that the thread loads only
// zxcvbn, not the hashing library.

/**
 * How many leading characters the strength check scores. zxcvbn's matching is superlinear
 * in the length (and multiplied by every l33t reading it tries): unbounded, 256 × "1" held
 * the event loop for seconds (FAIL-023). A prefix bounds the cost and errs on the safe
 * side: characters past it only add guesses, so a password whose prefix is strong is
 * strong, and one whose prefix is weak is refused whatever follows.
 */
export const PASSWORD_SCORED_LENGTH = 32;
/** l33t readings (e.g. "1" as "i" or "l") tried per password; zxcvbn-ts's default is 100, each a full dictionary pass. */
export const L33T_MAX_SUBSTITUTIONS = 2;

/** A strength check for the thread: the scored prefix and the words of the account. */
export interface StrengthTask {
  password: string;
  userInputs: string[];
}

/** zxcvbn's verdict, and the thread CPU time it took (ms). */
export interface StrengthAnswer {
  score: number;
  warning: string | null;
  suggestions: string[];
  cpuMs: number;
}

