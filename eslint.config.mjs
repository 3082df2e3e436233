// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Forgetting to await an activity, a Temporal call or an HTTP write silently drops work.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'object-shorthand': 'error',
    },
  },
  {
    // Workflow code (and the pure domain code it runs) is replayed deterministically: no Node built-ins, no I/O.
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: do I/O in activities.',
          })),
          patterns: [
            {
              group: ['**/activities/*', '!**/activities/index'],
              message: 'Import activity types only, via `import type`.',
            },
          ],
        },
      ],
    },
  },
  {
    // The domain is pure and depends on nothing of the application: layers point one way,
    // api → client → workflows → activities → adapters and domain.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Domain code is pure: no Node built-ins.',
          })),
          patterns: [
            {
              group: [
                '**/adapters/*',
                '**/activities/*',
                '**/workflows/*',
                '**/client/*',
                '**/api/*',
                '**/lib/*',
                '**/sandbox/*',
              ],
              message: 'domain/ depends on nothing of the application: move the shared piece into domain/ instead.',
            },
          ],
        },
      ],
    },
  },
  {
    // lib/ is infrastructure (config, crypto, logging, the Temporal connection): every layer uses it,
    // so it uses none of them. An application service belongs in client/ or activities/.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/*', '**/activities/*', '**/workflows/*', '**/client/*', '**/api/*', '**/sandbox/*'],
              message:
                'lib/ depends on no application layer: pass what it needs in, or move the piece to client/ or activities/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['eslint.config.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
