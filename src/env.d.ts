// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declare them here.
interface Secrets {
  /** Bearer token for the admin routes. Unset: admin routes refuse every request. */
  ADMIN_TOKEN?: string;
}
interface Env extends Secrets {}
declare namespace Cloudflare {
  interface Env extends Secrets {}
}
