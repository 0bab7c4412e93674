import type { Emitter } from '../protocol/emitter.js';
import type { StreamName } from '../streams/schemas/index.js';

/**
 * A checkpoint writes a stream's state only once the stream's records written since its
 * last STATE outweigh that state this many times (in characters). So the checkpoints of a
 * sync add up to at most a quarter of its records, whatever the size of the organization
 * (a state grows with the projects, and is then written less often), and a resumed sync
 * repeats at most about four states' worth of records per stream. The final STATEs and a
 * cancel's are not checkpoints: they are always written.
 */
export const RECORD_CHARS_PER_STATE_CHAR = 4;

/** The characters a STATE line adds around the state itself (type, descriptor, sourceStats). */
const STATE_ENVELOPE_CHARS = 120;

/**
 * Decides when a checkpoint is worth its STATE. Readers offer a stream's state wherever
 * saving it would spare a resumed sync work (a history walk's finished prefix, a
 * partition read to its end); the state is serialised only when the records since the
 * last STATE could outweigh it by its last known size.
 */
export class Checkpoints {
  private readonly sizes = new Map<StreamName, number>();

  constructor(
    private readonly emitter: Emitter,
    private readonly ratio = RECORD_CHARS_PER_STATE_CHAR,
  ) {}

  /** Writes `stream`'s state if its records since the last STATE outweigh it; returns whether it did. */
  offer(stream: StreamName, state: () => object): boolean {
    const since = this.emitter.recordCharsSince(stream);
    if (since === 0 || since < this.ratio * (this.sizes.get(stream) ?? 0)) return false;
    const value = state();
    const size = JSON.stringify(value).length + STATE_ENVELOPE_CHARS;
    this.sizes.set(stream, size);
    if (since < this.ratio * size) return false;
    return this.emitter.state(stream, value);
  }
}
