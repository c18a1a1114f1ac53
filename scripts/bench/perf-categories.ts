/**
 * Where a workerd process's CPU went, from a `perf record -g` profile (see `--perf` in bench/sale.ts):
 * each sample's call stack is put in the first category whose pattern one of its frames matches,
 * in the order below, so that the categories do not overlap (garbage collection inside the
 * object's call counts as garbage collection). V8's compiled JavaScript has no symbols here, so
 * JavaScript shows through the runtime frames around it: the object's RPC call, the Worker's
 * code after the call, promise continuations.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export const CATEGORIES: readonly (readonly [name: string, frame: RegExp])[] = [
  [
    "garbage collection",
    /Heap::CollectGarbage|Scavenger|MinorGC|MarkCompact|cppgc::internal::(Marker|Sweeper|HeapVisitor)/,
  ],
  ["gzip of answers (Miniflare's entry Worker)", /Gzip|Cr_z_/],
  ["the commit after a change", /sqlite3PagerCommitPhaseOne|sqlite3WalFrames|sqlite3BtreeCommitPhase/],
  ["SQL statements (sql.exec)", /SqlStorage::exec|SqlStorage::Cursor/],
  ["the object's RPC call, the rest", /JsRpcTargetBase::callImpl|JsRpcTargetBase::invokeFn/],
  ["the Worker after the object answers", /resumeAfterIo<capnp::Response<workerd::rpc::JsRpcTarget::CallResults>/],
  ["after a Worker's HTTP response", /resumeAfterIo<kj::HttpClient::Response/],
  ["a request into a Worker", /WorkerEntrypoint::requestImpl/],
  ["promise continuations", /jsg::Lock::runMicrotasks/],
  ["V8's background threads", /v8::base::ThreadEntry/],
  ["the kernel's network calls", /tcp_|sock_|sys_sendto|sys_recvfrom|sys_writev|sys_readv|epoll/],
];
export const OTHER = "everything else";

/** The share of a profile's samples in each category (and OTHER), from `perf script`. */
export async function categorize(file: string): Promise<Map<string, number>> {
  const perf = spawn("perf", ["script", "-i", file, "-F", "ip,sym"], { stdio: ["ignore", "pipe", "ignore"] });
  const exited = once(perf, "exit");
  const counts = new Map<string, number>();
  let total = 0;
  let frames: string[] = [];
  const count = () => {
    if (frames.length === 0) return;
    const name = CATEGORIES.find(([, frame]) => frames.some((line) => frame.test(line)))?.[0] ?? OTHER;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    total++;
    frames = [];
  };
  // A sample is its stack, one frame a line, then a blank line.
  for await (const line of createInterface({ input: perf.stdout })) {
    if (line.trim() === "") count();
    else frames.push(line);
  }
  count();
  const [code] = await exited;
  if (code !== 0 || total === 0) throw new Error(`perf script -i ${file} gave no samples (exit ${code})`);
  return new Map([...counts].map(([name, n]) => [name, n / total]));
}
