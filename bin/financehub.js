#!/usr/bin/env node
// Entry point of the `financehub` command. The sources are TypeScript run directly by
// Node 24's type stripping; see README "How it runs".
/* global process */
import { runCli } from '../src/main.ts';

process.exitCode = await runCli(process.argv.slice(2));
