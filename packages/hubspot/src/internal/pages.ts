/**
 * Buffers with pages of their own, not malloc's: given back to the system when they are collected.
 *
 * Why: Node takes an `ArrayBuffer`'s memory from malloc (glibc's), and malloc keeps what it frees. After the
 * first large buffer it frees, it raises its threshold for giving a buffer pages of its own (mmap) to that size
 * (up to 32 MiB), so the buffers of the answers that follow, some MB to tens of MB each and each of another size,
 * are carved from the one heap of the main thread; freed, each leaves a hole that the next, larger one does not
 * fit, and the heap only shrinks from its top. An export of heavy answers measured so (100,000 ids, 81 M rows,
 * bodies of ~25 MB): the heap grew from 68 to 218 MiB over the run while the buffers alive stayed at 80-130
 * MiB, and the peak RSS from ~325 MiB at 10,000 ids to ~385 MiB at 100,000. With the buffers of a MiB or more
 * here, the heap stayed under 95 MiB.
 *
 * A `WebAssembly.Memory`'s buffer is such a buffer: V8 maps its pages itself and unmaps them when it is
 * collected, and typed arrays over it are read as fast as over any other (those over a resizable `ArrayBuffer`,
 * also mapped by V8, are read at half the speed on Node 20). It reserves address space beyond its size (~10 GB
 * on 64-bit, for V8's bounds checks), which costs no memory; where that space is refused (a `ulimit -v`), or
 * there is no WebAssembly (`--jitless`), buffers are malloc's, as before.
 *
 * Fresh pages cost a page fault each on first touch (~0.1 s for 25 MB on the benchmark machine), which memory
 * written again does not: a buffer needed again and again is better lent and kept (`answerBody.ts`) than made
 * anew.
 */

/** Buffers of this many bytes or more get pages of their own; smaller ones are malloc's. */
export const ownPagesFrom = 1024 * 1024

const wasmPage = 64 * 1024
/** The most wasm pages of one memory. */
const maxWasmPages = 65536

declare const WebAssembly:
  | { readonly Memory: new(descriptor: { readonly initial: number }) => { readonly buffer: ArrayBuffer } }
  | undefined

/** Whether memories may be asked for: not after one was refused (a refusal may cost V8 a full collection). */
let wasmUsable = typeof WebAssembly !== "undefined"

/**
 * A buffer of at least `bytes` bytes (zeroed): with pages of its own when it is large and the runtime gives
 * them (its `byteLength` is then `bytes` rounded up to 64 KiB), else malloc's, of `bytes` exactly.
 */
export const buffer = (bytes: number): ArrayBuffer => {
  const pages = Math.ceil(bytes / wasmPage)
  if (wasmUsable && bytes >= ownPagesFrom && pages <= maxWasmPages) {
    try {
      return new WebAssembly!.Memory({ initial: pages }).buffer
    } catch {
      wasmUsable = false
    }
  }
  return new ArrayBuffer(bytes)
}
