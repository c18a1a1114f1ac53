/**
 * Lets Node import the Worker's own TypeScript sources (src/), which are written for a bundler:
 * their relative imports name no extension (`"../config"`), so this resolve hook tries `.ts` where
 * Node finds nothing. Node strips the types itself.
 */
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!/^\.\.?\//.test(specifier) || /\.[cm]?[jt]s$/.test(specifier)) throw error;
      return nextResolve(`${specifier}.ts`, context);
    }
  },
});
