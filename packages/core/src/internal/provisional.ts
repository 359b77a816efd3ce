/**
 * Provisional session-config types, used until `protocol/Session.ts` lands.
 *
 * @internal
 */
export interface FunctionToolDefinition {
  readonly type: "function"
  readonly name: string
  readonly description?: string | undefined
  readonly parameters?: unknown
}
/** @internal */
export type ToolDefinition =
  | FunctionToolDefinition
  | { readonly type: "web_search" }
  | {
    readonly type: "x_search"
    readonly allowed_x_handles?: ReadonlyArray<string> | undefined
    readonly excluded_x_handles?: ReadonlyArray<string> | undefined
    readonly from_date?: string | undefined
    readonly to_date?: string | undefined
  }
  | { readonly type: "file_search"; readonly vector_store_ids: ReadonlyArray<string>; readonly max_num_results?: number | undefined }
  | {
    readonly type: "mcp"
    readonly server_url: string
    readonly server_label: string
    readonly allowed_tools?: ReadonlyArray<string> | undefined
    readonly authorization?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
