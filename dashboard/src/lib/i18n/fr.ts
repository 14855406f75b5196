// Textes de la console en français (ICU MessageFormat) : mêmes clés que en.ts.
import type { ConsoleKey } from "./en.ts";

export const fr: Record<ConsoleKey, string> = {
  "language.label": "Langue",
  "live.waitingUser": "en attente de l'utilisateur",
  "live.snoozed": "reporté {n} sur {max}",
  "live.nextPrompt": "prochain rappel {time}",
  "live.deadline": "échéance {time}",
  "live.promptShown": "demande affichée",
  "live.snoozesLeft": "{n, plural, one {# report restant} other {# reports restants}}",
  "live.waitingWindow": "en attente de la fenêtre de maintenance",
  "live.opens": "ouverture {time}",
  "live.waitingSignIn": "en attente d'une session utilisateur",
  "live.finalCountdown": "compte à rebours final",
  "live.restartsAt": "redémarrage à {time}",
  "live.cannotSnooze": "impossible à reporter",
  "bulk.decisions": "Ce que les utilisateurs ont décidé",
  "bulk.rebooted": "redémarrés",
  "bulk.snoozed": "reportés par l'utilisateur",
  "bulk.waiting": "en attente de l'utilisateur",
  "bulk.declined": "refusés",
};
