// Type declarations for `import "agent-vault"`: the same module as for
// require(), declared once in index.d.cts.
export * from "./index.cjs";
