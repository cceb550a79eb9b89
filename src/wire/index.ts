// The peer wire codec: messages, handshake, decoder and the BEP 10/9/11 extensions.
// Pure and synchronous; the peer module owns the sockets.

export * from './wire-error.ts'
export * from './messages.ts'
export * from './handshake.ts'
export * from './decoder.ts'
export * from './extension.ts'
export * from './ut-metadata.ts'
export * from './ut-pex.ts'
