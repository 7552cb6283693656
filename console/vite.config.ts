import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by `mandate serve` under /console with a CSP that allows no inline script
// or style: nothing may be inlined into index.html, and assets carry their content hash.
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
