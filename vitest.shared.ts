// Shared Vitest settings: workspace packages resolve to their TypeScript sources, so tests need no build.
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src`, import.meta.url))

export const shared: ViteUserConfig = {
  resolve: {
    alias: [
      { find: /^@realtime-fx\/core$/, replacement: `${src("core")}/index.ts` },
      { find: /^@realtime-fx\/core\/(.*)$/, replacement: `${src("core")}/$1.ts` },
      { find: /^@realtime-fx\/test-kit$/, replacement: `${src("test-kit")}/index.ts` },
      { find: /^@realtime-fx\/test-kit\/(.*)$/, replacement: `${src("test-kit")}/$1.ts` },
      { find: /^@realtime-fx\/node$/, replacement: `${src("node")}/index.ts` },
      { find: /^@realtime-fx\/node\/(.*)$/, replacement: `${src("node")}/$1.ts` },
      { find: /^@realtime-fx\/demo$/, replacement: `${src("demo")}/Demo.ts` }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
}
