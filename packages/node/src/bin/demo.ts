#!/usr/bin/env node
/**
 * The `npm run demo` entry point: runs the demo CLI on the process's arguments.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Demo from "../Demo.js"

Demo.main(process.argv, Demo.terminalOutput()).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
