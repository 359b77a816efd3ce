import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import * as Url from "../../src/internal/url.js"

const right = (result: Either.Either<string, string>): string => {
  if (Either.isLeft(result)) throw new Error(result.left)
  return result.right
}

const countParam = (url: string, key: string): number => new URL(url).searchParams.getAll(key).length

const paramKey = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((key) => key !== "model")
const paramValue = fc.string({ maxLength: 12 })

const baseUrl = fc.record({
  scheme: fc.constantFrom("http", "https", "ws", "wss"),
  host: fc.constantFrom("api.x.ai", "example.com", "127.0.0.1:8080", "gw.internal"),
  path: fc.oneof(
    fc.constantFrom("", "/", "/v1", "/v1/", "/openai", "/openai/v1", "/openai/v1/", "/v1/realtime", "/custom/path/"),
    fc.array(fc.stringMatching(/^[a-z0-9._~-]{1,8}$/), { maxLength: 3 }).map((parts) => parts.map((p) => `/${p}`).join(""))
  ),
  query: fc.array(fc.tuple(paramKey, paramValue), { maxLength: 3 }),
  hash: fc.option(fc.stringMatching(/^[a-z]{0,5}$/), { nil: undefined })
}).map(({ hash, host, path, query, scheme }) => {
  const search = query.length > 0
    ? `?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`
    : ""
  return { url: `${scheme}://${host}${path}${search}${hash !== undefined ? `#${hash}` : ""}`, query }
})

describe("internal/url", () => {
  it("builds the default provider URLs", () => {
    assert.strictEqual(
      right(Url.build("wss://api.x.ai/v1/realtime", { model: "grok-voice-latest" })),
      "wss://api.x.ai/v1/realtime?model=grok-voice-latest"
    )
    assert.strictEqual(
      right(Url.build("https://api.openai.com/v1", { model: "gpt-realtime" })),
      "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    )
    assert.strictEqual(
      right(Url.build("https://my-res.openai.azure.com/openai/v1", { model: "my-deploy" })),
      "wss://my-res.openai.azure.com/openai/v1/realtime?model=my-deploy"
    )
    assert.strictEqual(
      right(Url.build("https://my-res.openai.azure.com/openai", {
        set: [["api-version", "2024-10-01-preview"], ["deployment", "my-deploy"]]
      })),
      "wss://my-res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=my-deploy"
    )
  })

  it("keeps other paths, drops trailing slashes and fragments, keeps an existing model", () => {
    assert.strictEqual(right(Url.build("http://127.0.0.1:9000/gw/voice/")), "ws://127.0.0.1:9000/gw/voice")
    assert.strictEqual(right(Url.build("https://api.x.ai")), "wss://api.x.ai/realtime")
    assert.strictEqual(
      right(Url.build("wss://gw.example/rt?model=a&x=1#frag", { model: "b" })),
      "wss://gw.example/rt?model=a&x=1"
    )
    assert.strictEqual(
      right(Url.build("wss://api.x.ai/v1/realtime?conversation_id=old", {
        model: "m",
        set: [["conversation_id", "new id"]]
      })),
      "wss://api.x.ai/v1/realtime?model=m&conversation_id=new%20id"
    )
  })

  it("rejects unparsable URLs and other schemes", () => {
    assert.isTrue(Either.isLeft(Url.build("not a url")))
    assert.isTrue(Either.isLeft(Url.build("ftp://api.x.ai/v1")))
  })

  it("property: ws(s) scheme, model exactly once, idempotent, existing params kept", () => {
    fc.assert(
      fc.property(baseUrl, fc.stringMatching(/^[a-zA-Z0-9.:_-]{1,20}$/), ({ query, url }, model) => {
        const once = right(Url.build(url, { model }))
        const parsed = new URL(once)
        assert.include(["ws:", "wss:"], parsed.protocol)
        assert.strictEqual(countParam(once, "model"), 1)
        assert.strictEqual(parsed.searchParams.get("model"), model)
        assert.strictEqual(parsed.hash, "")
        assert.isTrue(parsed.pathname.length > 1 && !parsed.pathname.endsWith("/"))
        for (const [key, value] of query) {
          assert.include(parsed.searchParams.getAll(key), value)
        }
        assert.strictEqual(right(Url.build(once, { model })), once)
        assert.strictEqual(right(Url.build(once, { model: `${model}-other` })), once)
      }),
      { numRuns: 300 }
    )
  })

  it("dot segments at the end of a path: building a built URL gives it back (found by the property)", () => {
    for (const base of ["wss://api.x.ai/~/.a/.", "wss://api.x.ai/~/.a/%2E", "wss://h/a/./", "wss://h/a/%2E%2E"]) {
      const once = right(Url.build(base, { model: "m" }))
      assert.strictEqual(right(Url.build(once, { model: "m" })), once)
      assert.isFalse(new URL(once).pathname.endsWith("/"))
    }
  })

  it("a URL override is used as given, http(s) mapped to ws(s), other schemes refused", () => {
    assert.strictEqual(right(Url.override("wss://gw.example/x?key=1")), "wss://gw.example/x?key=1")
    assert.strictEqual(right(Url.override("https://gw.example/realtime")), "wss://gw.example/realtime")
    assert.strictEqual(right(Url.override("http://127.0.0.1:8080/r?model=a")), "ws://127.0.0.1:8080/r?model=a")
    assert.isTrue(Either.isLeft(Url.override("ftp://gw.example/x")))
    assert.isTrue(Either.isLeft(Url.override("not a url")))
  })

  it("refuses credentials in build and override without quoting them", () => {
    for (const url of ["wss://bob:s3cret-pw@h/v1", "https://bob@h", "ws://:s3cret-pw@127.0.0.1/"]) {
      for (const result of [Url.build(url, { model: "m" }), Url.override(url), Url.checkHttpUrl(url)]) {
        assert.isTrue(Either.isLeft(result), url)
        if (Either.isLeft(result)) {
          assert.include(result.left, "credentials")
          assert.notInclude(result.left, "bob")
          assert.notInclude(result.left, "s3cret-pw")
        }
      }
    }
    // an "@" in the path or query is not a credential
    assert.strictEqual(right(Url.override("wss://h/a@b?x=y@z")), "wss://h/a@b?x=y@z")
  })

  it("caps a hostile scheme in its error message", () => {
    const result = Url.build(`${"a".repeat(70_000)}://h`)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.isBelow(result.left.length, 200)
  })

  it("checkHttpUrl accepts http(s) only", () => {
    assert.strictEqual(right(Url.checkHttpUrl(" https://api.x.ai/v1 ")), "https://api.x.ai/v1")
    assert.isTrue(Either.isLeft(Url.checkHttpUrl("wss://api.x.ai/v1")))
  })

  it("loopback hosts and cleartext-to-remote URLs", () => {
    for (const host of ["localhost", "LOCALHOST.", "127.0.0.1", "127.255.0.9", "[::1]", "[::ffff:7f00:1]"]) {
      assert.isTrue(Url.isLoopbackHost(host), host)
    }
    for (const host of ["a.localhost", "localhost.example.com", "128.0.0.1", "10.0.0.1", "[::2]", "[::ffff:a00:1]", "127.0.0.1.nip.io", ""]) {
      assert.isFalse(Url.isLoopbackHost(host), host)
    }
    for (const url of ["ws://example.com/", "http://10.1.2.3/", "ws://0.0.0.0:80/", "not a url"]) {
      assert.isTrue(Url.isCleartextRemote(url), url)
    }
    // the URL parser normalizes other spellings of 127.0.0.1 and ::1 before the check
    for (const url of ["wss://example.com/", "https://example.com/", "ws://127.1:9/", "ws://0x7f000001/", "ws://[0:0:0:0:0:0:0:1]/"]) {
      assert.isFalse(Url.isCleartextRemote(url), url)
    }
  })
})
