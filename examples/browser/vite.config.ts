// Vite builds the voice page into dist/ (served by server/serve.ts); plain TypeScript, no plugins.
import { defineConfig } from "vite"

export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2500 }
})
