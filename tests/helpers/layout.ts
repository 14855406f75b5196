// Layout checks for browser tests: what a person would see as broken at a given window size — the page
// scrolling sideways, something past the window's right edge, a scroll area that scrolls sideways, a
// button, label, badge or heading whose words are cut or spill out of its box, a select whose chosen
// text is cut, a placeholder cut short. A cell cut on purpose (ellipsis, full text in its `title`) is
// fine: that is user data (a long machine name), shown whole on hover.
import type { Page } from "playwright-core";

/** Elements whose own words must fit their box (never cut, never spilling out). */
const WORDS = "button, label, summary, legend, a, th, h1, h2, h3, dt, .badge, .chip, .segmented, [role=tab]";

/**
 * The layout problems on the page as it is now, one sentence each (empty when none). Runs in the page:
 * the function below is serialised, so it uses nothing from this module but its argument.
 */
export function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate((wordsSelector) => {
    const out: string[] = [];
    const vw = document.documentElement.clientWidth;
    const name = (el: Element) => {
      const h = el as HTMLElement;
      const cls =
        typeof h.className === "string" ? h.className.split(/\s+/).filter((c) => c && !c.startsWith("svelte-")) : [];
      const text = (h.innerText || (h as HTMLInputElement).placeholder || "").trim().replace(/\s+/g, " ").slice(0, 50);
      return `<${el.tagName.toLowerCase()}${h.id ? `#${h.id}` : ""}${cls.map((c) => `.${c}`).join("")}> "${text}"`;
    };
    const shown = (el: Element) => {
      if (el.closest("[hidden], .sr-only, details:not([open]) > :not(summary)")) return false;
      const s = getComputedStyle(el);
      if (s.display === "none" || s.visibility === "hidden") return false;
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    };
    /** Cut on purpose: one line with an ellipsis, the full text in a title (its own or its cell's). */
    const cutOnPurpose = (el: Element) => getComputedStyle(el).textOverflow === "ellipsis" && !!el.closest("[title]");
    const ctx = document.createElement("canvas").getContext("2d")!;
    const textWidth = (text: string, s: CSSStyleDeclaration) => {
      ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
      return ctx.measureText(text).width;
    };

    const root = document.documentElement;
    if (root.scrollWidth > vw + 1) out.push(`the page scrolls sideways (${root.scrollWidth} px wide in ${vw})`);
    const all = [...document.body.querySelectorAll("*")].filter(shown);
    for (const el of all) {
      const s = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      // Inside a scroll area, only the area itself counts (checked below).
      const scrollArea = el.parentElement?.closest(".scroller, .table-wrap, dialog, nav, [data-scroll]");
      if (!scrollArea && r.right > vw + 1)
        out.push(`past the window's right edge (${Math.round(r.right)} > ${vw}): ${name(el)}`);
      if ((s.overflowX === "auto" || s.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1)
        out.push(`scrolls sideways (${el.scrollWidth} > ${el.clientWidth}): ${name(el)}`);
      if (el instanceof HTMLSelectElement) {
        const chosen = el.selectedOptions[0]?.text ?? "";
        const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        if (textWidth(chosen, s) > room + 1) out.push(`select cuts its choice "${chosen}": ${name(el)}`);
      } else if (el instanceof HTMLInputElement && el.placeholder && !el.value) {
        // Chromium keeps room for a search field's clear button (about 1em) even while it is empty.
        const button = el.type === "search" ? parseFloat(s.fontSize) + 1 : 0;
        const room = el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) - button;
        if (textWidth(el.placeholder, s) > room + 1) out.push(`placeholder cut: ${name(el)}`);
      } else if (el.matches(wordsSelector) && el.scrollWidth > el.clientWidth + 1 && !cutOnPurpose(el)) {
        out.push(`words spill out of their box (${el.scrollWidth} > ${el.clientWidth}): ${name(el)}`);
      } else if (el.matches(wordsSelector)) {
        // A flex or grid item squeezed below its words' width (its text overflows its parent's box).
        const parent = el.parentElement!.getBoundingClientRect();
        const ps = getComputedStyle(el.parentElement!);
        if (ps.overflowX === "visible" && r.right > parent.right + 1 && !cutOnPurpose(el))
          out.push(`spills out of ${name(el.parentElement!)}: ${name(el)}`);
      }
    }
    return out;
  }, WORDS);
}
