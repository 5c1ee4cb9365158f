/**
 * Fan-out: each version is serialized once and the same frame string is written to
 * every subscriber of its topic; a slow one only holds back its own latest frame (see
 * `SseStream`).
 *
 * `Done`/`Gone`: subscribers get the final snapshot and `stop`, their streams end, the
 * poller stops, the topic goes; later subscribers are served from the store.
 */
import type { BusMessage, SnapshotMessage } from '../../state/bus/index.js'
import { retryFrame } from '../frames.js'
import type { SseStream } from '../sse-stream.js'
import type { LatestVersion, Topic } from './topics.js'

/** What a write to subscribers did. */
export interface Written {
  /** Events written (snapshots, stops, tracking states). */
  events: number
  /** True when the order is finished: the streams ended (a greeted one never joins the topic). */
  ended: boolean
}

/**
 * Writes a new subscriber's first frames: the `retry:` hint (`retryMs`), the latest
 * snapshot (unless `lastEventId` says the client has it) and, for a finished order,
 * `stop` and the end; else the degraded `tracking` state if the topic is in one.
 */
export function greet (stream: SseStream, topic: Topic, latest: LatestVersion, lastEventId: string | undefined, retryMs: number): Written {
  let events = 0
  const sendSnapshot = lastEventId !== String(latest.version)
  stream.open(retryFrame(retryMs) + (sendSnapshot ? latest.frame : ''))
  if (sendSnapshot) events++
  if (latest.stopFrame !== undefined) {
    stream.finish(latest.stopFrame)
    return { events: events + 1, ended: true }
  }
  if (topic.tracking?.state.state === 'degraded') {
    stream.send(topic.tracking.frame, 'tracking')
    events++
  }
  return { events, ended: false }
}

/**
 * Writes a bus message to `topic`'s subscribers. A final version ends every stream,
 * each first taken out of the topic by `leave`, and stops the poller; a version not
 * newer than the topic's latest is ignored.
 */
export function fanOut (topic: Topic, message: BusMessage, leave: (stream: SseStream) => void): Written {
  if (message.kind === 'tracking') {
    topic.tracking = message
    for (const stream of topic.subscribers.keys()) stream.send(message.frame, 'tracking')
    return { events: topic.subscribers.size, ended: false }
  }
  return fanOutSnapshot(topic, message, leave)
}

function fanOutSnapshot (topic: Topic, message: SnapshotMessage, leave: (stream: SseStream) => void): Written {
  if (topic.latest !== null && message.version <= topic.latest.version) return { events: 0, ended: false }
  topic.latest = { version: message.version, json: message.json, frame: message.frame, ...(message.stopFrame === undefined ? {} : { stopFrame: message.stopFrame }) }
  if (message.stopFrame === undefined) {
    for (const stream of topic.subscribers.keys()) stream.send(message.frame, 'snapshot')
    return { events: topic.subscribers.size, ended: false }
  }
  const streams = [...topic.subscribers.keys()]
  for (const stream of streams) {
    leave(stream)
    stream.finish(message.frame, message.stopFrame)
  }
  topic.poller?.stop()
  return { events: 2 * streams.length, ended: true }
}
