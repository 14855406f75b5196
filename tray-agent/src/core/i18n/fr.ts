// Textes français pour l'utilisateur (ICU MessageFormat), mêmes clés que en.ts (vérifié par le typage).
import type { MessageKey } from "./en.ts";

export const fr: Record<MessageKey, string> = {
  "reboot.title": "Votre ordinateur va redémarrer",
  "reboot.message":
    "{org} doit redémarrer cet ordinateur. Enregistrez votre travail, puis redémarrez maintenant ou reportez.",
  "reboot.messageUrgent":
    "{org} doit bientôt redémarrer cet ordinateur. Enregistrez votre travail et redémarrez maintenant si possible.",
  "reboot.countdown": "Redémarrage dans {time}",
  "reboot.deadline": "Le redémarrage aura lieu au plus tard le {deadline, date, medium} à {deadline, time, short}.",
  "reboot.snoozesLeft":
    "{n, plural, =0 {Vous ne pouvez plus reporter.} one {Vous pouvez encore reporter # fois.} other {Vous pouvez encore reporter # fois.}}",
  "reboot.snoozeFor": "Reporter de",
  "reboot.snooze": "Reporter",
  "reboot.restartNow": "Redémarrer maintenant",
  "final.title": "Votre ordinateur redémarre",
  "final.message":
    "{org} a demandé ce redémarrage et il ne peut plus être reporté. Enregistrez votre travail maintenant.",
  "duration.minutes": "{n, plural, one {# minute} other {# minutes}}",
  "duration.hours": "{n, plural, one {# heure} other {# heures}}",
  "duration.days": "{n, plural, one {# jour} other {# jours}}",
  "org.default": "Votre service informatique",
  "message.ok": "OK",
  "message.acknowledge": "J'ai lu ce message",
  "message.acknowledgeHint": "Votre service informatique vous demande de confirmer que vous avez lu ce message.",
  "urgency.info": "Information",
  "urgency.warning": "Avertissement",
  "urgency.critical": "Critique",
  "restart.title": "Redémarrer l'agent DashFleet",
  "restart.message":
    "Votre administrateur demande de redémarrer l'agent DashFleet. Rien d'autre n'est touché sur votre ordinateur.",
  "restart.yes": "Redémarrer l'agent",
  "restart.no": "Plus tard",
  "setup.title": "Connecter l'agent DashFleet",
  "setup.message": "Saisissez l'adresse du serveur et la clé d'inscription fournies par votre service informatique.",
  "setup.server": "Adresse du serveur",
  "setup.token": "Clé d'inscription",
  "setup.connect": "Connecter",
  "tray.connected": "Connecté",
  "tray.offline": "Hors ligne",
  "tray.connecting": "Connexion…",
  "tray.waiting": "Action en attente",
  "tray.neverSynced": "{state} · jamais synchronisé",
  "tray.lastSync": "{state} · dernière synchronisation {ago}",
  "tray.machine": "Machine : {id}",
  "tray.recent": "Messages récents",
  "tray.noMessages": "Aucun message",
  "tray.pause": "Suspendre les rapports",
  "tray.checkNow": "Vérifier maintenant",
  "tray.openLog": "Ouvrir le journal",
  "tray.quit": "Quitter l'agent DashFleet",
  "tray.tooltip": "Agent DashFleet — {status}",
};
