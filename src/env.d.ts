// Secrets are not in wrangler.toml, so `wrangler types` cannot see them; declare them here.
interface Secrets {
  /** Bearer token for the admin routes. Unset: admin routes refuse every request. */
  ADMIN_TOKEN?: string;
  /** Key of the HMAC that signs admission passes (32 characters or more). Unset: no waiting room can be turned on. */
  QUEUE_SECRET?: string;
}
interface Env extends Secrets {}
declare namespace Cloudflare {
  interface Env extends Secrets {}
}
