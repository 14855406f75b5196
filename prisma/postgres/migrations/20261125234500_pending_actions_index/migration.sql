-- Hand-written, PostgreSQL only (a partial index is not expressible in the Prisma schema; the schema
-- copy is unchanged, so the drift check still holds).
-- The machines with pending actions, read by every server process's periodic reconciliation of its
-- dispatch index (server/services/dispatch.ts): without it that read scans every action ever kept.
CREATE INDEX "Action_pending_machineRef_idx" ON "Action" ("machineRef") WHERE "status" = 'pending';
