// English console texts (ICU MessageFormat) for the end-user experience: the live line of an action
// while its user decides and a bulk reboot's decisions. The reference catalogue: fr.ts has the same
// keys (checked by the type system). End-user words the agent already has (urgency, durations,
// "Restart now") come from the agent's catalogues (tray-agent/src/core/i18n), never copied here.
export const en = {
  "language.label": "Language",
  "live.waitingUser": "waiting for the user",
  "live.snoozed": "snoozed {n} of {max}",
  "live.nextPrompt": "next prompt {time}",
  "live.deadline": "deadline {time}",
  "live.promptShown": "prompt on screen",
  "live.snoozesLeft": "{n, plural, one {# snooze left} other {# snoozes left}}",
  "live.waitingWindow": "waiting for the maintenance window",
  "live.opens": "opens {time}",
  "live.waitingSignIn": "waiting for a user to sign in",
  "live.finalCountdown": "final countdown",
  "live.restartsAt": "restarts at {time}",
  "live.cannotSnooze": "cannot be snoozed",
  "bulk.decisions": "What the users decided",
  "bulk.rebooted": "rebooted",
  "bulk.snoozed": "snoozed by the user",
  "bulk.waiting": "waiting for the user",
  "bulk.declined": "declined",
} as const;

export type ConsoleKey = keyof typeof en;
