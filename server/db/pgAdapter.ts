// The PostgreSQL driver adapter with the services' raw SQL translated on the way through, so each raw
// statement is written once for both databases: `?` placeholders become `$1, $2, …`, and LIKE becomes
// ILIKE (SQLite's LIKE ignores ASCII case; PostgreSQL's does not, so ILIKE keeps the same results),
// and a camelCase alias is quoted (PostgreSQL folds unquoted names to lower case).
// Prisma's own queries already use `$n` and pass unchanged. What a plain rewrite cannot do (casts in
// `VALUES` rows, PRAGMAs) is handled by the callers through server/db/dialect.ts.
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory, SqlQuery } from "@prisma/driver-adapter-utils";
import type pg from "pg";

/** Rewrites one statement written for SQLite; a statement that already has `$n` placeholders is left alone. */
export function translateSql(sql: string): string {
  if (/\$\d/.test(sql)) return sql;
  let i = 0;
  // Outside quoted strings and identifiers only: split on quotes and touch the even (unquoted) parts.
  return sql
    .split(/('(?:[^']|'')*'|"(?:[^"]|"")*")/)
    .map((part, n) =>
      n % 2 === 1
        ? part
        : part
            .replace(/\?/g, () => `$${++i}`)
            .replace(/(?<![A-Za-z_])LIKE(?![A-Za-z_])/g, "ILIKE")
            // An unquoted alias folds to lower case on PostgreSQL (sortKey would come back as sortkey).
            .replace(/\bAS\s+([a-z][a-z0-9_]*[A-Z][A-Za-z0-9_]*)\b/g, 'AS "$1"'),
    )
    .join("");
}

const translated = (q: SqlQuery): SqlQuery => ({ ...q, sql: translateSql(q.sql) });

/** Wraps an adapter or a transaction: queryRaw/executeRaw translate, everything else passes through. */
function wrap<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "queryRaw" || prop === "executeRaw")
        return (q: SqlQuery) => (value as (q: SqlQuery) => unknown).call(obj, translated(q));
      if (prop === "startTransaction")
        return async (...args: unknown[]) =>
          wrap(await (value as (...a: unknown[]) => Promise<object>).apply(obj, args));
      return (value as (...a: unknown[]) => unknown).bind(obj);
    },
  });
}

/** A PrismaPg factory whose connections translate raw SQL written for SQLite. */
export function translatingPg(config: pg.PoolConfig): SqlMigrationAwareDriverAdapterFactory {
  const factory = new PrismaPg(config);
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wrap(await factory.connect()),
    connectToShadowDb: async () => wrap(await factory.connectToShadowDb()),
  };
}
