import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The report page's chart script runs in the browser, inlined into report.html.
    files: ['src/report/assets/*.js', 'src/experiment/assets/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', uPlot: 'readonly', devicePixelRatio: 'readonly' } },
  },
  {
    // The live page's script runs in the browser, served by src/web.
    files: ['src/web/assets/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', history: 'readonly', EventSource: 'readonly', Blob: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly' },
    },
  },
  {
    // Only bin/ decides the exit code; library code returns or throws.
    files: ['src/**/*.ts'],
    ignores: ['src/app/main.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Only bin/ (and the worker entry point) may call process.exit; return an exit code instead.' }],
    },
  },
);
