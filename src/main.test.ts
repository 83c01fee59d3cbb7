import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Io } from './cli/command.ts';
import { runCli } from './main.ts';

function buffer(): Io & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return { out_, err_, out: (text) => void out_.push(text), err: (text) => void err_.push(text) };
}

/** The command words listed by `financehub --help`. */
async function listedCommands(): Promise<string[]> {
  const io = buffer();
  assert.equal(await runCli(['--help'], io), 0);
  const text = io.out_.join('\n');
  const section = text.slice(text.indexOf('Commands:') + 'Commands:'.length, text.indexOf('Run `financehub'));
  return section
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split(/\s{2,}/)[0] ?? '');
}

describe('financehub CLI', () => {
  it('lists serve and migrate', async () => {
    const commands = await listedCommands();
    assert.ok(commands.includes('serve'));
    assert.ok(commands.includes('migrate'));
  });

  it('every subcommand has --help (and -h) with its usage, exit 0', async () => {
    for (const command of await listedCommands()) {
      for (const flag of ['--help', '-h']) {
        const io = buffer();
        assert.equal(await runCli([...command.split(' '), flag], io), 0, `${command} ${flag}`);
        assert.match(io.out_.join('\n'), new RegExp(`^financehub ${command}`), `${command} usage starts with its name`);
        assert.deepEqual(io.err_, []);
      }
    }
  });

  it('no arguments prints the overview and exits 1; an unknown command exits 2', async () => {
    const none = buffer();
    assert.equal(await runCli([], none), 1);
    assert.match(none.out_.join('\n'), /^Usage: financehub <command>/);
    const unknown = buffer();
    assert.equal(await runCli(['frobnicate'], unknown), 2);
    assert.match(unknown.err_.join('\n'), /unknown command "frobnicate"/);
  });

  it('an unknown option is refused with the usage, exit 2', async () => {
    const io = buffer();
    assert.equal(await runCli(['migrate', '--force'], io), 2);
    assert.match(io.err_.join('\n'), /financehub migrate: .*--force/);
  });
});
