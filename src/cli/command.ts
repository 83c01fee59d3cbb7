// A CLI subcommand: its words (`keys rotate`), a one-line summary, a usage text for
// --help, its options for node:util parseArgs, and what it does.
import type { ParseArgsConfig } from 'node:util';

/** Where a command prints: the terminal in production, a buffer in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Where progress bars draw (the terminal's stderr); absent in tests and pipes that want none. */
  progress?: NodeJS.WritableStream;
}

export interface Command {
  words: string[];
  summary: string;
  usage: string;
  options?: ParseArgsConfig['options'];
  allowPositionals?: boolean;
  run(args: { values: Record<string, string | boolean | undefined>; positionals: string[]; io: Io }): Promise<number>;
}
