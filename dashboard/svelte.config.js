// Svelte compiler options for the console (read by the Vite plugin and svelte-check).
export default {
  compilerOptions: { runes: true },
};
