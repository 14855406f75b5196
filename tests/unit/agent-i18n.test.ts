// End-user texts: English and French catalogues with the same keys, every message valid ICU that
// formats in both languages, the OS locale picked with an English fallback, and plurals per language.
import { IntlMessageFormat } from "intl-messageformat";
import { describe, expect, it } from "vitest";
import { en } from "../../tray-agent/src/core/i18n/en.ts";
import { fr } from "../../tray-agent/src/core/i18n/fr.ts";
import { createTranslator, osLocales, pickLanguage, type MessageKey } from "../../tray-agent/src/core/i18n/index.ts";

const values = {
  org: "Acme",
  time: "4:59",
  deadline: new Date("2026-11-25T18:00:00Z"),
  n: 2,
  state: "S",
  ago: "A",
  id: "pc",
  status: "x",
};

describe("agent i18n", () => {
  it("French has exactly the English keys, and every message formats in both languages", () => {
    expect(Object.keys(fr).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as MessageKey[]) {
      for (const [lang, text] of [
        ["en", en[key]],
        ["fr", fr[key]],
      ] as const) {
        const out = new IntlMessageFormat(text, lang, undefined, { ignoreTag: true }).format(values);
        expect(typeof out, `${lang} ${key}`).toBe("string");
        expect(String(out)).not.toMatch(/\{[a-z]+\}/); // no placeholder left unfilled
      }
    }
  });

  it("no English sentence is left in the French catalogue (only words both languages share)", () => {
    const same = (Object.keys(en) as MessageKey[]).filter((k) => en[k] === fr[k]);
    expect(same).toEqual(["duration.minutes", "message.ok", "urgency.info"]);
  });

  it("picks the OS language with an English fallback", () => {
    expect(pickLanguage(["fr_FR.UTF-8"])).toBe("fr");
    expect(pickLanguage([null, "fr-CA"])).toBe("fr");
    expect(pickLanguage(["de-DE", "fr"])).toBe("fr");
    expect(pickLanguage(["de-DE"])).toBe("en");
    expect(pickLanguage([])).toBe("en");
    expect(osLocales({ LANG: "fr_FR.UTF-8", LC_ALL: "C" })[0]).toBe("fr_FR.UTF-8");
    expect(createTranslator("pt-BR").lang).toBe("en");
  });

  it("plurals follow each language's rules (French: 0 and 1 are singular)", () => {
    const t = createTranslator("en");
    const f = createTranslator("fr");
    expect([t.duration(60), t.duration(120), t.duration(3600), t.duration(7200), t.duration(86_400)]).toEqual([
      "1 minute",
      "2 minutes",
      "1 hour",
      "2 hours",
      "1 day",
    ]);
    expect([f.duration(60), f.duration(3600), f.duration(14_400), f.duration(172_800)]).toEqual([
      "1 minute",
      "1 heure",
      "4 heures",
      "2 jours",
    ]);
    expect(t("reboot.snoozesLeft", { n: 1 })).toBe("You can snooze 1 more time.");
    expect(t("reboot.snoozesLeft", { n: 0 })).toBe("You cannot snooze any more.");
    expect(f("reboot.snoozesLeft", { n: 0 })).toBe("Vous ne pouvez plus reporter.");
    expect(f.ago(180)).toBe("il y a 3 minutes");
  });

  it("a message value is text, never markup or a nested format", () => {
    const t = createTranslator("en");
    expect(t("reboot.message", { org: "<b>{evil}</b>" })).toBe(
      "<b>{evil}</b> needs to restart this computer. Save your work, then restart now or snooze.",
    );
  });
});
