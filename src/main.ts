// Process entry: the `financehub` command line, `financehub <subcommand> [options]`
// with `--help` on each. This is the one file that writes to the terminal directly;
// commands get an `io` to print through, and the server logs through pino.
import { parseArgs } from 'node:util';
import type { Command, Io } from './cli/command.ts';
import { importPricesCommand } from './cli/commands/import-prices.ts';
import { importTransactionsCommand } from './cli/commands/import-transactions.ts';
import { indicatorsCommand } from './cli/commands/indicators.ts';
import { keysGenerateCommand, keysRotateCommand } from './cli/commands/keys.ts';
import { migrateCommand } from './cli/commands/migrate.ts';
import { serveCommand } from './cli/commands/serve.ts';
import { jobsDlqListCommand, jobsDlqPurgeCommand, jobsDlqRetryCommand, jobsDlqShowCommand } from './cli/commands/jobs.ts';
import { workerCommand } from './cli/commands/worker.ts';
import { usersCreateCommand, usersResetMfaCommand, usersResetPasswordCommand } from './cli/commands/users.ts';
import { ConfigError } from './config.ts';

const terminal: Io = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  progress: process.stderr,
};

const commands: Command[] = [
  serveCommand,
  migrateCommand,
  importTransactionsCommand,
  importPricesCommand,
  indicatorsCommand,
  usersCreateCommand,
  usersResetMfaCommand,
  usersResetPasswordCommand,
  keysRotateCommand,
  keysGenerateCommand,
  workerCommand,
  jobsDlqListCommand,
  jobsDlqShowCommand,
  jobsDlqRetryCommand,
  jobsDlqPurgeCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.words.join(' ').length));
  return [
    'Usage: financehub <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Run `financehub <command> --help` for a command\'s options.',
  ].join('\n');
}

/** The command whose words the arguments start with (longest match wins). */
function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  const matches = commands
    .filter((c) => c.words.every((word, i) => argv[i] === word))
    .sort((a, b) => b.words.length - a.words.length);
  const command = matches[0];
  return command === undefined ? undefined : { command, rest: argv.slice(command.words.length) };
}

export async function runCli(argv: string[], io: Io = terminal): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(overview());
    return argv.length === 0 ? 1 : 0;
  }
  const found = find(argv);
  if (found === undefined) {
    io.err(`financehub: unknown command "${argv.join(' ')}"\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: command.allowPositionals ?? false, strict: true });
  } catch (err) {
    io.err(`financehub ${command.words.join(' ')}: ${(err as Error).message}\n\n${command.usage}`);
    return 2;
  }
  try {
    return await command.run({ values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals, io });
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`financehub: invalid configuration: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
