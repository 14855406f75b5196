// The preload: exposes exactly two calls to the window (what to show, the user's answer). No Node,
// no ipcRenderer, no generic send: the page can do nothing else.
import { contextBridge, ipcRenderer } from "electron";
import { IPC, type PreloadApi, type WindowAnswer } from "./ipc.ts";

const api: PreloadApi = {
  init: () => ipcRenderer.invoke(IPC.init),
  answer: (a: WindowAnswer) => ipcRenderer.send(IPC.answer, a),
};
contextBridge.exposeInMainWorld("dashfleet", api);
