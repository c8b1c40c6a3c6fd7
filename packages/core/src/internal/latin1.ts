/**
 * The text of `bytes[start, end)`, one character a byte: for ids and cursors already checked to be ASCII.
 * Meant for short runs (it passes each byte as an argument).
 */
export const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as Array<number>)
