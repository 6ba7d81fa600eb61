import { builtinModules } from 'node:module';
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** The layers of ../shared/ARCHITECTURE.md, enforced rather than remembered. */
const layerRules = {
  core: {
    'no-restricted-imports': [
      'error',
      {
        paths: [{ name: 'electron', message: 'core/ runs without Electron: bind it in electron/ instead.' }],
        patterns: [
          { group: ['electron/*', '**/electron/*', '**/renderer/**'], message: 'core/ must not depend on a face (electron/, renderer/).' },
        ],
      },
    ],
    'no-restricted-globals': [
      'error',
      ...['window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'location', 'HTMLElement'].map((name) => ({
        name,
        message: 'core/ is Node-only: no DOM APIs.',
      })),
    ],
  },
  renderer: {
    'no-restricted-imports': [
      'error',
      {
        paths: nodeBuiltins.map((name) => ({ name, message: 'renderer/ runs in a sandboxed page: no Node built-ins; ask the core through the API.' })),
        patterns: [
          { group: ['electron', 'electron/*'], message: 'renderer/ talks to the core only through the API client.' },
          {
            group: ['**/core/**', '!**/core/api', '!**/core/api/**'],
            message: 'renderer/ may import only the API contract (core/api) from the core.',
          },
        ],
      },
    ],
  },
  electron: {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: ['**/renderer/**'], message: 'electron/ loads the built renderer; it does not import its code.' }] },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'build/**', 'resources/**', 'tests/fixtures/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  { files: ['core/**'], rules: layerRules.core },
  { files: ['renderer/src/**'], languageOptions: { globals: { ...globals.browser } }, rules: layerRules.renderer },
  { files: ['electron/**'], rules: layerRules.electron },
);
