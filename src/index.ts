export { loadSettings } from "./settings.js";
export type { Settings, ProfileName } from "./settings.js";
