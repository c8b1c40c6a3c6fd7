/**
 * hyparquet-writer's byte writer, drained: the bytes of each finished row
 * group (and of the footer) are copied out and the buffer is reused, so one
 * buffer of about a row group lives per part, whatever the part's size.
 */
import { ByteWriter } from "hyparquet-writer"

export class DrainWriter extends ByteWriter {
  private drained: Array<Uint8Array> = []

  /** Called by `ParquetWriter` after each row group. */
  flush(): void {
    if (this.index > 0) {
      this.drained.push(new Uint8Array(this.buffer.slice(0, this.index)))
      this.index = 0
    }
  }

  override finish(): void {
    this.flush()
  }

  /** The bytes written since the last call. */
  take(): ReadonlyArray<Uint8Array> {
    this.flush()
    const out = this.drained
    this.drained = []
    return out
  }
}
