// What the README claims matches what runs: the usage example is the program the README-example
// test runs (and the README states how the test differs), the demo section lists every option the
// CLI has, the Install command's ranges are the packages' peer ranges, and the versions printed
// (User-Agent, demo --version) are the package.json versions.
import { assert, describe, it } from "@effect/vitest"
import { userAgent } from "@realtime-fx/core/RealtimeModel"
import * as Fs from "node:fs"
import * as DemoOptions from "../src/internal/demoOptions.js"
import { version } from "../src/version.js"

const read = (path: string) => Fs.readFileSync(new URL(path, import.meta.url), "utf8")
const readme = read("../../../README.md")
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`)
  assert.isAtLeast(start, 0, `README has a "${title}" section`)
  const end = readme.indexOf("\n## ", start + 1)
  return readme.slice(start, end < 0 ? undefined : end)
}
const packageJson = (dir: string) =>
  JSON.parse(read(`../../${dir}/package.json`)) as {
    readonly version: string
    readonly peerDependencies?: Record<string, string>
  }

describe("README", () => {
  it("the usage example is, verbatim, the program ReadmeExample.test.ts runs, and the stated difference is the test's", () => {
    const test = read("../../node/test/ReadmeExample.test.ts")
    const begin = test.indexOf("\n", test.indexOf("// --- the README example, verbatim from here")) + 1
    const end = test.indexOf("// --- end of the README example")
    assert.isAbove(begin, 0)
    assert.isAbove(end, begin)
    const program = test.slice(begin, end).trim()
    assert.include(program, "const conversation = (input: string, output: string) =>")
    const usage = section("Usage")
    const code = usage.slice(usage.indexOf("```ts\n") + 6, usage.indexOf("\n```", usage.indexOf("```ts\n")))
    assert.include(code, program, "the README's code holds the test's program character for character")
    // The README says which layer the test provides: the same end-of-turn silence as the test's.
    const silence = /silence_duration_ms: (\d+)/.exec(test)
    assert.isNotNull(silence)
    assert.include(usage, `silence_duration_ms: ${silence![1]} }`)
    assert.include(test, "baseUrl: fake.url")
    assert.include(usage, "baseUrl: fake.url")
    assert.include(code, "Xai.layerConfig()")
  })

  it("the demo section lists every option of the demo command", () => {
    const demo = section("The demo")
    // A new option fails this count: add it to the list below and to the README.
    assert.strictEqual(Object.values(DemoOptions.options).length, 11)
    for (const flag of ["--fast", "--realtime", "--input", "--out", "--voice", "--instructions", "--live", "--fake", "--model", "--base-url", "--timeout", "--version"]) {
      assert.include(demo, `\`${flag}`, `${flag} is documented`)
    }
    assert.include(demo, "at least 1 s and 10 output tokens")
  })

  it("the Install command gives the packages' peer ranges and says which Effect line is supported", () => {
    const install = section("Install")
    const peers = { ...packageJson("core").peerDependencies, ...packageJson("node").peerDependencies }
    for (const name of ["effect", "@effect/platform", "@effect/platform-node"]) {
      assert.isDefined(peers[name], `${name} is a peer dependency`)
      assert.include(install, ` ${name}@${peers[name]}`, `${name} is installed with its peer range`)
    }
    assert.include(install, "npm install @realtime-fx/core @realtime-fx/node effect@")
    assert.include(install, "**Effect 3.x**")
    assert.include(install, "Effect 4 is a separate major")
  })

  it("the User-Agent and the demo's --version come from the package.json versions", () => {
    assert.strictEqual(userAgent, `realtime-fx/${packageJson("core").version}`)
    assert.strictEqual(version, packageJson("demo").version)
  })
})
