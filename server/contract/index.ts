// The shared contract: everything that crosses a process boundary. Import from here.
export * from "./actions.ts";
export * from "./statuses.ts";
export * from "./metrics.ts";
export * from "./fleet.ts";
export * from "./text.ts";
export * from "./enduser.ts";
export * from "./identity.ts";
export * from "./settings.ts";
export * from "./storage.ts";
