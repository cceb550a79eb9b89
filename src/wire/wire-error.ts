// The one error the wire codec throws for bytes a peer should not have sent.
// Callers close the connection on it; it never means a bug on our side.

export class WireError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'WireError'
  }
}
