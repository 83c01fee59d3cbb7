// The password strength thread (started by createPasswordPolicy in password.ts): zxcvbn-ts
// with the common and English dictionaries, about 25 MB of heap that the main thread's
// collector would otherwise mark on every full collection for the life of the process,
// and a check of tens of milliseconds that would otherwise hold the event loop.
import { zxcvbn, zxcvbnOptions } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary as common } from '@zxcvbn-ts/language-common';
import { dictionary as en, translations } from '@zxcvbn-ts/language-en';
import { serveTasks } from '../../platform/worker-thread.ts';
import { L33T_MAX_SUBSTITUTIONS, PASSWORD_SCORED_LENGTH, type StrengthAnswer, type StrengthTask } from './password-strength.ts';

zxcvbnOptions.setOptions({
  dictionary: { ...common, ...en },
  graphs: adjacencyGraphs,
  translations,
  maxLength: PASSWORD_SCORED_LENGTH,
  l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
});

serveTasks<StrengthTask, StrengthAnswer>(({ password, userInputs }) => {
  const before = process.threadCpuUsage();
  const result = zxcvbn(password, userInputs);
  const cpu = process.threadCpuUsage(before);
  return { score: result.score, warning: result.feedback.warning, suggestions: result.feedback.suggestions, cpuMs: (cpu.user + cpu.system) / 1000 };
});
