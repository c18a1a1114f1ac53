import { HttpError } from "./responses";

/** The largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads the body as a JSON object, whatever the content type says (`curl -d`
 * sends a form content type), stopping as soon as it passes the size limit.
 * With `optional`, an empty body reads as `{}`.
 */
export async function readJsonObject(
  request: Request,
  { optional = false, limit = MAX_BODY_BYTES }: { optional?: boolean; limit?: number } = {},
): Promise<Record<string, unknown>> {
  const text = await readText(request, limit);
  if (optional && text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "Request body must be a JSON object");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "Request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

async function readText(request: Request, limit: number): Promise<string> {
  const tooLarge = () => new HttpError(413, `Request body must not exceed ${limit} bytes`, { limit_bytes: limit });
  const lengthHeader = request.headers.get("content-length");
  const declared = Number(lengthHeader);
  if (lengthHeader !== null && declared > limit) throw tooLarge();
  // The runtime holds a body to its declared length, so a small declared body can be read whole,
  // without `request.body`: asking for the stream builds one, which costs a booking measurably.
  if (lengthHeader !== null && Number.isInteger(declared)) {
    return declared === 0 ? "" : decodeUtf8(new Uint8Array(await request.arrayBuffer()));
  }
  if (request.body === null) return "";

  // Content-Length may be absent (chunked) or wrong, so count what actually arrives.
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decodeUtf8(bytes);
}

/** One decoder for every request: building one costs more than decoding a small body. */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new HttpError(400, "Request body must be UTF-8 encoded JSON");
  }
}
