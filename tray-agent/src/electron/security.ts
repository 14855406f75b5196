// Window security settings, in one place so a test can hold them: context isolation, the sandbox, no
// Node in renderers, no navigation or new windows, and the minimal preload.

/** webPreferences of every agent window. */
export function secureWebPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    spellcheck: false,
    devTools: false,
  } as const;
}

/** Windows only ever show the bundled page: any navigation away is refused. */
export function isAllowedNavigation(url: string, htmlFileUrl: string): boolean {
  return url.split(/[?#]/)[0] === htmlFileUrl.split(/[?#]/)[0];
}
