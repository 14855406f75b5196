// Session state: who is signed in (restored from the httpOnly cookie on reload), login and logout.
import type { Role } from "../../../server/contract/index.ts";
import { setUnauthorizedHandler } from "./errors.ts";
import { trpc } from "./trpc.ts";

export type SessionUser = { id: string; email: string; role: Role; orgId: string; orgName: string };

class Session {
  user = $state<SessionUser | null>(null);
  /** True until the first auth.me answer: the console shows a loader, not the login page. */
  loading = $state(true);

  /** Owners and admins may send actions; viewers only look. */
  get canAct(): boolean {
    return this.user !== null && this.user.role !== "viewer";
  }
  /** Owners and admins read the audit log. */
  get canAudit(): boolean {
    return this.user?.role === "owner" || this.user?.role === "admin";
  }
  get isOwner(): boolean {
    return this.user?.role === "owner";
  }

  constructor() {
    setUnauthorizedHandler(() => {
      const wasSignedIn = this.user !== null;
      this.user = null;
      return wasSignedIn;
    });
  }

  /** Restores the session from the cookie (the cookie itself is httpOnly). */
  async restore(): Promise<void> {
    try {
      this.user = await trpc.auth.me.query();
    } catch {
      this.user = null;
    } finally {
      this.loading = false;
    }
  }

  /** Signs in; throws the tRPC error for the login form to show. */
  async login(email: string, password: string): Promise<void> {
    const r = await trpc.auth.login.mutate({ email, password });
    this.user = r.user;
  }

  async logout(): Promise<void> {
    try {
      await trpc.auth.logout.mutate();
    } finally {
      this.user = null;
    }
  }
}

/** The one session of the console. */
export const session = new Session();
