// The Vitest workspace: one project per package, each with the shared settings.
import { defineWorkspace, mergeConfig } from "vitest/config"
import { shared } from "./vitest.shared.js"

export default defineWorkspace(
  ["core", "test-kit", "node", "demo", "browser"].map((name) =>
    mergeConfig(shared, {
      test: { name, root: `./packages/${name}` }
    })
  )
)
