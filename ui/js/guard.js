// Unsaved changes. A page or an open form registers what it would lose; the
// router asks "leave and discard / stay" before in-app navigation (sidebar,
// links, back and forward) and before an account switch, and the browser asks
// before a reload or closing the tab.

import { t } from "./i18n/index.js";
import { confirmDialog } from "./dom.js";

const guards = new Set();

/**
 * Registers `dirty()` (true while there is something to lose) and
 * `discard()`, run when the user leaves anyway. Returns the unregister function.
 */
export function guardUnsaved(dirty, discard = () => {}) {
  const entry = { dirty, discard };
  guards.add(entry);
  return () => guards.delete(entry);
}

/** The one question: resolves true for "leave and discard", false for "stay". */
export function askDiscard() {
  return confirmDialog({
    title: t("guard.title"),
    message: t("guard.message"),
    confirmText: t("guard.leave"),
    cancelText: t("guard.stay"),
  });
}

export function hasUnsaved() {
  return [...guards].some((g) => g.dirty());
}

let asking = null;

/** Resolves true when nothing is unsaved or the user chose to leave and discard. */
export async function confirmLeave() {
  if (!hasUnsaved()) return true;
  // One question at a time, however many clicks or history steps led here.
  asking ||= askDiscard().finally(() => { asking = null; });
  const leave = await asking;
  if (leave) {
    const pending = [...guards].filter((g) => g.dirty());
    for (const g of pending) {
      guards.delete(g);
      g.discard();
    }
  }
  return leave;
}

window.addEventListener("beforeunload", (event) => {
  if (hasUnsaved()) {
    event.preventDefault();
    event.returnValue = "";
  }
});
