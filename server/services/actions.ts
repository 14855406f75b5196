// Actions: the state machine (actionLifecycle.ts) and the admins' read views (actionViews.ts), split
// because they change for different reasons. Re-exported here so existing imports keep working.
export * from "./actionLifecycle.ts";
export * from "./actionViews.ts";
