// Saved fleet views: a signed-in user's named fleet queries (filters, sort, columns), so a view like
// "EU web servers, worst first" is one click. Per user; API keys have no views.
import type { Clock } from "../clock.ts";
import { SavedViewQuery, type SavedView } from "../contract/index.ts";
import type { Db } from "../db.ts";
import { conflict, notFound } from "../domain/errors.ts";

/** Most views a user may keep. */
export const MAX_VIEWS = 50;

/** The user's views, by name. A stored query that no longer parses is shown as the plain table. */
export async function listViews(db: Db, userId: string): Promise<SavedView[]> {
  const rows = await db.savedView.findMany({
    where: { userId },
    orderBy: { name: "asc" },
    select: { name: true, query: true, createdAt: true },
  });
  return rows.map((r) => {
    let query: unknown = {};
    try {
      query = JSON.parse(r.query);
    } catch {
      // kept as {}
    }
    const parsed = SavedViewQuery.safeParse(query);
    return {
      name: r.name,
      query: parsed.success ? parsed.data : SavedViewQuery.parse({}),
      createdAt: r.createdAt.toISOString(),
    };
  });
}

/** Saves (or replaces) a view by name. */
export async function saveView(
  deps: { db: Db; clock: Clock },
  userId: string,
  args: { name: string; query: SavedViewQuery },
): Promise<SavedView> {
  const { db, clock } = deps;
  const now = clock.now();
  const query = JSON.stringify(args.query);
  const existing = await db.savedView.findUnique({
    where: { userId_name: { userId, name: args.name } },
    select: { id: true },
  });
  if (!existing && (await db.savedView.count({ where: { userId } })) >= MAX_VIEWS)
    throw conflict(`At most ${MAX_VIEWS} saved views: delete one first`);
  const row = await db.savedView.upsert({
    where: { userId_name: { userId, name: args.name } },
    create: { userId, name: args.name, query, createdAt: now },
    update: { query },
    select: { name: true, createdAt: true },
  });
  return { name: row.name, query: args.query, createdAt: row.createdAt.toISOString() };
}

/** Deletes a view by name; NOT_FOUND when the user has none by that name. */
export async function deleteView(db: Db, userId: string, name: string): Promise<{ name: string }> {
  const { count } = await db.savedView.deleteMany({ where: { userId, name } });
  if (count === 0) throw notFound(`No saved view "${name}"`);
  return { name };
}
