// Type-aware lint with zero warnings allowed (`npm run lint` passes --max-warnings 0).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { moneyGuardConfigs } from './scripts/money-guard.ts';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'bench/results/', 'web/vendor/', 'web/dist/', 'web/vite.config.ts', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'stdout', message: 'Write through the logger (FAIL-003).' },
      ],
    },
  },
  {
    // The process entry, scripts, benchmarks and tests talk to a terminal.
    files: ['src/main.ts', 'bin/**', 'scripts/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off', 'no-restricted-properties': 'off' },
  },
  // FAIL-002: no float conversions, formatting or maths in financial modules (scripts/money-guard.ts).
  ...moneyGuardConfigs(),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
