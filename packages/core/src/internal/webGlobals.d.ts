/**
 * The web-standard globals core uses, which Node and browsers both provide: declared here so that
 * core compiles against ES2022 alone, with neither the DOM's nor Node's types.
 */

declare class URL {
  constructor(url: string, base?: string | URL)
  hash: string
  readonly host: string
  readonly hostname: string
  href: string
  readonly password: string
  pathname: string
  protocol: string
  search: string
  readonly username: string
  toString(): string
}

declare class TextDecoder {
  constructor(label?: string)
  decode(input?: ArrayBufferView | ArrayBuffer): string
}

declare const crypto: { readonly randomUUID: () => string }
