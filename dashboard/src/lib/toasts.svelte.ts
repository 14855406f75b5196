// Toast notifications: short messages in the corner that dismiss themselves.
export type ToastKind = "success" | "error" | "info";
export type Toast = { id: number; kind: ToastKind; text: string };

class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  /** Shows a toast; errors stay longer than confirmations. */
  push(kind: ToastKind, text: string): void {
    const id = this.#next++;
    this.items.push({ id, kind, text });
    setTimeout(() => this.dismiss(id), kind === "error" ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

/** The app's one toast list. */
export const toasts = new Toasts();
