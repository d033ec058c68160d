// Comlink endpoint over a worker_threads port (Worker in the parent, parentPort in the worker):
// Node ports emit the message data itself, Comlink expects DOM-style { data } events.

import type { MessagePort, TransferListItem, Worker } from 'node:worker_threads';
import type { Endpoint } from 'comlink';

export function nodeEndpoint(port: MessagePort | Worker): Endpoint {
  const wrapped = new Map<EventListenerOrEventListenerObject, (data: unknown) => void>();
  return {
    postMessage(message: unknown, transfer?: Transferable[]) {
      port.postMessage(message, transfer as unknown as TransferListItem[]);
    },
    addEventListener(_type: string, listener: EventListenerOrEventListenerObject) {
      const onMessage = (data: unknown) => {
        const event = { data } as MessageEvent;
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      wrapped.set(listener, onMessage);
      port.on('message', onMessage);
    },
    removeEventListener(_type: string, listener: EventListenerOrEventListenerObject) {
      const onMessage = wrapped.get(listener);
      if (onMessage) {
        port.off('message', onMessage);
        wrapped.delete(listener);
      }
    },
  };
}
