// Public surface of src/protocol used by the CLI, the browser SDK and the agent. Pure.
export * from "./base58";
export * from "./canonical-json";
export * from "./did-key";
export * from "./ed25519";
export * from "./hex";
export * from "./manifest";
export * from "./manifest-error";
export { isManifestUrl, isRelativePath } from "./manifest-schema";
export * from "./manifest-types";
export * from "./merkle";
export * from "./utf8";
